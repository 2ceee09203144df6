#include "chnsw.h"

#include <hnswlib/hnswlib.h>

#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CHNSW_X86 1
#include <immintrin.h>
#endif

// hnswlib picks its SIMD distance at compile time from the compiler's target
// flags, and a library target is built for the baseline x86-64 CPU, so its own
// inner product runs on 4-wide SSE. This space does the same arithmetic
// (distance = 1 - dot) with AVX-512 or AVX2 chosen at run time, per function.
namespace {

#if CHNSW_X86

__attribute__((target("avx512f"))) float inner_product_distance_avx512(const void *a, const void *b, const void *dimension) {
    const float *x = static_cast<const float *>(a), *y = static_cast<const float *>(b);
    size_t n = *static_cast<const size_t *>(dimension), i = 0;
    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    for (; i + 32 <= n; i += 32) {
        sum0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), sum0);
        sum1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), sum1);
    }
    if (i < n) {
        // The tail, masked, so any dimension works.
        __mmask16 low = n - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - i)) - 1);
        sum0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(low, x + i), _mm512_maskz_loadu_ps(low, y + i), sum0);
        if (n - i > 16) {
            __mmask16 high = static_cast<__mmask16>((1u << (n - i - 16)) - 1);
            sum1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(high, x + i + 16), _mm512_maskz_loadu_ps(high, y + i + 16), sum1);
        }
    }
    return 1.0f - _mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1));
}

__attribute__((target("avx2,fma"))) float inner_product_distance_avx2(const void *a, const void *b, const void *dimension) {
    const float *x = static_cast<const float *>(a), *y = static_cast<const float *>(b);
    size_t n = *static_cast<const size_t *>(dimension), i = 0;
    __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), sum0);
        sum1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), sum1);
    }
    __m256 sum = _mm256_add_ps(sum0, sum1);
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    float total = _mm_cvtss_f32(half);
    for (; i < n; i++) total += x[i] * y[i];
    return 1.0f - total;
}

hnswlib::DISTFUNC<float> fastest_inner_product() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return inner_product_distance_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return inner_product_distance_avx2;
    return hnswlib::InnerProductDistance;
}
#else
hnswlib::DISTFUNC<float> fastest_inner_product() { return hnswlib::InnerProductDistance; }
#endif

class InnerProductSpace final : public hnswlib::SpaceInterface<float> {
    hnswlib::DISTFUNC<float> distance_;
    size_t dimension_;

public:
    explicit InnerProductSpace(size_t dimension) : distance_(fastest_inner_product()), dimension_(dimension) {}
    size_t get_data_size() override { return dimension_ * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
    void *get_dist_func_param() override { return &dimension_; }
};

} // namespace

struct chnsw_index {
    size_t dimension;
    std::unique_ptr<InnerProductSpace> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
    // hnswlib supports concurrent inserts, but not deletes or resizes alongside
    // searches: one reader-writer lock keeps every combination safe.
    std::shared_mutex lock;
};

static void write_error(char *error, size_t error_size, const char *message) {
    if (error == nullptr || error_size == 0) return;
    std::strncpy(error, message, error_size - 1);
    error[error_size - 1] = '\0';
}

extern "C" chnsw_index *chnsw_create(size_t dimension, size_t capacity, size_t m, size_t ef_construction,
                                     size_t ef_search, uint64_t seed, char *error, size_t error_size) {
    try {
        auto index = std::make_unique<chnsw_index>();
        index->dimension = dimension;
        index->space = std::make_unique<InnerProductSpace>(dimension);
        index->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->space.get(), capacity < 1 ? 1 : capacity, m,
                                                                         ef_construction, seed);
        index->graph->setEf(ef_search);
        return index.release();
    } catch (const std::exception &e) {
        write_error(error, error_size, e.what());
    } catch (...) {
        write_error(error, error_size, "unknown error creating an HNSW index");
    }
    return nullptr;
}

extern "C" chnsw_index *chnsw_load(const char *path, size_t dimension, size_t ef_search, char *error, size_t error_size) {
    try {
        auto index = std::make_unique<chnsw_index>();
        index->dimension = dimension;
        index->space = std::make_unique<InnerProductSpace>(dimension);
        index->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->space.get(), std::string(path));
        index->graph->setEf(ef_search);
        return index.release();
    } catch (const std::exception &e) {
        write_error(error, error_size, e.what());
    } catch (...) {
        write_error(error, error_size, "unknown error loading an HNSW index");
    }
    return nullptr;
}

extern "C" int chnsw_save(chnsw_index *index, const char *path, char *error, size_t error_size) {
    try {
        std::unique_lock<std::shared_mutex> guard(index->lock);
        index->graph->saveIndex(std::string(path));
        return 0;
    } catch (const std::exception &e) {
        write_error(error, error_size, e.what());
    } catch (...) {
        write_error(error, error_size, "unknown error saving an HNSW index");
    }
    return 1;
}

extern "C" void chnsw_free(chnsw_index *index) { delete index; }

extern "C" int chnsw_add(chnsw_index *index, const float *vector, uint64_t label, char *error, size_t error_size) {
    try {
        std::unique_lock<std::shared_mutex> guard(index->lock);
        auto &graph = *index->graph;
        // Grows by half rather than doubling: a slot is a vector and its
        // links (about 1.7 KB at 384-d), and doubling left up to half of them
        // empty, a quarter on average, in a graph the semantic index's budget
        // does not see. Resizing stays amortised O(1) per add.
        // A label already in the graph (a deleted one being reused) is
        // updated in its own slot, so it needs no room.
        if (graph.cur_element_count >= graph.max_elements_ && graph.label_lookup_.find(label) == graph.label_lookup_.end()) {
            graph.resizeIndex(graph.max_elements_ + graph.max_elements_ / 2 + 1);
        }
        graph.addPoint(vector, static_cast<hnswlib::labeltype>(label));
        return 0;
    } catch (const std::exception &e) {
        write_error(error, error_size, e.what());
    } catch (...) {
        write_error(error, error_size, "unknown error adding to an HNSW index");
    }
    return 1;
}

extern "C" int chnsw_mark_deleted(chnsw_index *index, uint64_t label) {
    try {
        std::unique_lock<std::shared_mutex> guard(index->lock);
        index->graph->markDelete(static_cast<hnswlib::labeltype>(label));
        return 0;
    } catch (...) {
        return 1;
    }
}

extern "C" int chnsw_get_vector(chnsw_index *index, uint64_t label, float *out) {
    try {
        std::shared_lock<std::shared_mutex> guard(index->lock);
        auto data = index->graph->getDataByLabel<float>(static_cast<hnswlib::labeltype>(label));
        if (data.size() != index->dimension) return 1;
        std::memcpy(out, data.data(), data.size() * sizeof(float));
        return 0;
    } catch (...) {
        return 1;
    }
}

extern "C" size_t chnsw_search(chnsw_index *index, const float *query, size_t k, uint64_t *labels, float *distances) {
    try {
        std::shared_lock<std::shared_mutex> guard(index->lock);
        auto result = index->graph->searchKnn(query, k);
        // The queue pops farthest first; fill from the back so output is nearest first.
        size_t count = result.size();
        for (size_t i = count; i > 0; --i) {
            labels[i - 1] = static_cast<uint64_t>(result.top().second);
            distances[i - 1] = result.top().first;
            result.pop();
        }
        return count;
    } catch (...) {
        return 0;
    }
}

extern "C" size_t chnsw_count(chnsw_index *index) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    return index->graph->cur_element_count;
}

extern "C" size_t chnsw_deleted_count(chnsw_index *index) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    return index->graph->num_deleted_;
}

extern "C" size_t chnsw_capacity(chnsw_index *index) {
    std::shared_lock<std::shared_mutex> guard(index->lock);
    return index->graph->max_elements_;
}

extern "C" void chnsw_set_ef(chnsw_index *index, size_t ef_search) {
    std::unique_lock<std::shared_mutex> guard(index->lock);
    index->graph->setEf(ef_search);
}
