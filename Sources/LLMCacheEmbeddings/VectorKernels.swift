#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The element-wise parts of the forward pass (bias, residual, LayerNorm, GELU,
// softmax) written on SIMD16<Float>. Scalar loops with float reductions do not
// vectorise (the compiler may not reorder float additions), and per-element
// libm erff/expf calls cost more than the matrix products they sit between
// for short sentences.
//
// Debug builds call the standard library's SIMD operators unspecialised, a
// hundred times slower than scalar code, which would make the test suite crawl;
// there the scalar versions below run instead. Tests compare the two.

typealias Vector16 = SIMD16<Float>

/// Copies `values` (`width` floats) into each of `rows` rows.
func fillRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int, with values: UnsafePointer<Float>) {
    for row in 0..<rows {
        (matrix + row * width).update(from: values, count: width)
    }
}

#if DEBUG
let usesSIMDKernels = false
#else
let usesSIMDKernels = true
#endif

/// The exact GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))`, as BERT's "gelu" (not
/// the tanh approximation), in place.
func gelu(_ values: UnsafeMutablePointer<Float>, count: Int) {
    if usesSIMDKernels { return geluSIMD(values, count: count) }
    for i in 0..<count {
        let x = values[i]
        values[i] = 0.5 * x * (1 + erff(x * 0.70710678118654752))
    }
}

/// `output[r] = input[r] + bias` for every row.
func addRows(_ input: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, width: Int, into output: UnsafeMutablePointer<Float>) {
    if usesSIMDKernels, width % 16 == 0 { return addRowsSIMD(input, bias: bias, rows: rows, width: width, into: output) }
    for row in 0..<rows {
        for i in 0..<width { output[row * width + i] = input[row * width + i] + bias[i] }
    }
}

/// `output = a + b + c`, elementwise over `count` floats.
func addThree(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>) {
    if usesSIMDKernels, count % 16 == 0 { return addThreeSIMD(a, b, c, count: count, into: output) }
    for i in 0..<count { output[i] = a[i] + b[i] + c[i] }
}

/// Normalises each row to zero mean and unit variance (biased variance, as
/// PyTorch's LayerNorm), then applies `weight` and `bias`.
func layerNorm(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, epsilon: Float) {
    if usesSIMDKernels, width % 16 == 0 {
        return layerNormSIMD(matrix, rows: rows, width: width, weight: weight, bias: bias, epsilon: epsilon)
    }
    for row in 0..<rows {
        let values = matrix + row * width
        var sum: Float = 0
        for i in 0..<width { sum += values[i] }
        let mean = sum / Float(width)
        var squares: Float = 0
        for i in 0..<width { squares += (values[i] - mean) * (values[i] - mean) }
        let inverse = 1 / (squares / Float(width) + epsilon).squareRoot()
        for i in 0..<width { values[i] = (values[i] - mean) * inverse * weight[i] + bias[i] }
    }
}

/// Softmax of each row in place, shifted by the row maximum so `exp` cannot overflow.
func softmaxRows(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    if usesSIMDKernels { return softmaxRowsSIMD(matrix, rows: rows, width: width) }
    for row in 0..<rows {
        let values = matrix + row * width
        var maximum = -Float.infinity
        for i in 0..<width { maximum = max(maximum, values[i]) }
        var sum: Float = 0
        for i in 0..<width {
            values[i] = expf(values[i] - maximum)
            sum += values[i]
        }
        for i in 0..<width { values[i] /= sum }
    }
}

@inline(__always)
private func load(_ pointer: UnsafePointer<Float>) -> Vector16 {
    UnsafeRawPointer(pointer).loadUnaligned(as: Vector16.self)
}

@inline(__always)
private func store(_ value: Vector16, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Vector16.self)
}

/// `e^x` to within 2 ulp on [-87, 88] (Cephes' expf polynomial after
/// reduction by ln 2); inputs outside are clamped, so −∞ gives ~0.
@inline(__always)
func exp16(_ input: Vector16) -> Vector16 {
    // Clamped with compare-and-select: `clamped` and `pointwiseMin` go lane by
    // lane in the standard library, while `replacing(with:where:)` vectorises.
    let low = Vector16(repeating: -87.3)
    let high = Vector16(repeating: 88.7)
    var x = input.replacing(with: low, where: input .< low)
    x.replace(with: high, where: x .> high)
    // Adding 1.5·2^23 rounds to the nearest integer k and leaves k in the low
    // mantissa bits, which avoids a float-to-int conversion the standard library
    // does not vectorise.
    let magic = Vector16(repeating: 12_582_912)
    let shifted = x * 1.44269504088896341 + magic
    let k = shifted - magic
    var r = x - k * 0.693359375
    r = r + k * 2.12194440e-4
    let r2 = r * r
    var p = Vector16(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * r2 + r + 1
    let exponent = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return p * unsafeBitCast(exponent, to: Vector16.self)
}

/// `erf(x)` with absolute error below 2e-7 (Abramowitz and Stegun 7.1.26):
/// ample for embeddings compared at cosine 0.9999, and it keeps GELU exact in
/// form, unlike BERT's tanh approximation, which the model was not trained with.
@inline(__always)
func erf16(_ x: Vector16) -> Vector16 {
    let a = x.replacing(with: -x, where: x .< 0)
    let one = Vector16(repeating: 1)
    let t = one / (one + Float(0.3275911) * a)
    var p = Vector16(repeating: 1.061405429)
    p = p * t - 1.453152027
    p = p * t + 1.421413741
    p = p * t - 0.284496736
    p = p * t + 0.254829592
    let y = one - p * t * exp16(-(a * a))
    return y.replacing(with: -y, where: x .< 0)
}

/// ``gelu(_:count:)`` on SIMD16 with ``erf16(_:)``.
func geluSIMD(_ values: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
        let x = load(values + i)
        store(0.5 * x * (1 + erf16(x * 0.70710678118654752)), values + i)
        i += 16
    }
    while i < count {
        let x = values[i]
        values[i] = 0.5 * x * (1 + erff(x * 0.70710678118654752))
        i += 1
    }
}

/// `output[r] = input[r] + bias` for every row; `width` a multiple of 16.
func addRowsSIMD(_ input: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, width: Int, into output: UnsafeMutablePointer<Float>) {
    precondition(width % 16 == 0)
    for row in 0..<rows {
        let source = input + row * width
        let destination = output + row * width
        for i in stride(from: 0, to: width, by: 16) {
            store(load(source + i) + load(bias + i), destination + i)
        }
    }
}

/// `output = a + b + c`, elementwise over `count` floats, a multiple of 16.
func addThreeSIMD(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>) {
    precondition(count % 16 == 0)
    for i in stride(from: 0, to: count, by: 16) {
        store(load(a + i) + load(b + i) + load(c + i), output + i)
    }
}

/// ``layerNorm(_:rows:width:weight:bias:epsilon:)`` on SIMD16; `width` a multiple of 16.
func layerNormSIMD(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, epsilon: Float) {
    precondition(width % 16 == 0)
    let count = Float(width)
    for row in 0..<rows {
        let values = matrix + row * width
        var sum = Vector16()
        for i in stride(from: 0, to: width, by: 16) { sum += load(values + i) }
        let mean = sum.sum() / count
        var squares = Vector16()
        for i in stride(from: 0, to: width, by: 16) {
            let centred = load(values + i) - mean
            squares += centred * centred
        }
        let inverse = 1 / (squares.sum() / count + epsilon).squareRoot()
        for i in stride(from: 0, to: width, by: 16) {
            store((load(values + i) - mean) * inverse * load(weight + i) + load(bias + i), values + i)
        }
    }
}

/// ``softmaxRows(_:rows:width:)`` on SIMD16 with ``exp16(_:)``.
func softmaxRowsSIMD(_ matrix: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    let whole = width - width % 16
    for row in 0..<rows {
        let values = matrix + row * width
        var maximum = -Float.infinity
        var i = 0
        if whole > 0 {
            var vectorMaximum = Vector16(repeating: -.infinity)
            while i < whole {
                let next = load(values + i)
                vectorMaximum.replace(with: next, where: next .> vectorMaximum)
                i += 16
            }
            maximum = vectorMaximum.max()
        }
        while i < width {
            maximum = max(maximum, values[i])
            i += 1
        }
        var vectorSum = Vector16()
        i = 0
        while i < whole {
            let e = exp16(load(values + i) - maximum)
            store(e, values + i)
            vectorSum += e
            i += 16
        }
        var sum = vectorSum.sum()
        while i < width {
            let e = expf(values[i] - maximum)
            values[i] = e
            sum += e
            i += 1
        }
        let inverse = 1 / sum
        i = 0
        while i < whole {
            store(load(values + i) * inverse, values + i)
            i += 16
        }
        while i < width {
            values[i] *= inverse
            i += 1
        }
    }
}
