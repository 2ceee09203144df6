/// Lowercase hexadecimal digits as ASCII bytes: for cache keys, tenant
/// namespaces and JSON escapes, which all write hex straight into byte buffers.
package enum HexDigits {
    /// The ASCII byte of the lowercase hexadecimal digit for `nibble` (0–15).
    @inline(__always)
    package static func ascii(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x57 + nibble
    }
}
