#include "chnsw.h"

#include <hnswlib/hnswlib.h>

#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

struct chnsw_index {
    size_t dimension;
    std::unique_ptr<hnswlib::InnerProductSpace> space;
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
        index->space = std::make_unique<hnswlib::InnerProductSpace>(dimension);
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
        index->space = std::make_unique<hnswlib::InnerProductSpace>(dimension);
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
        if (graph.cur_element_count >= graph.max_elements_) {
            graph.resizeIndex(graph.max_elements_ * 2);
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
