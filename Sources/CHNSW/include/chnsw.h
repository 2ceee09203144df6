// A C interface over hnswlib (Debian's libhnswlib-dev headers), so Swift can use
// an HNSW graph without C++ interop in its own modules.
//
// Distances are inner-product distances (1 - dot); vectors are expected to be
// L2-normalised, which makes 1 - distance the cosine similarity.
// Thread-safety: searches run concurrently; add, delete, resize and save take an
// exclusive lock.
#ifndef CHNSW_H
#define CHNSW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chnsw_index chnsw_index;

/// Creates an empty index. Returns NULL and writes a message to `error` on failure.
chnsw_index *chnsw_create(size_t dimension, size_t capacity, size_t m, size_t ef_construction,
                          size_t ef_search, uint64_t seed, char *error, size_t error_size);

/// Loads an index saved by chnsw_save. Returns NULL and writes a message on failure.
chnsw_index *chnsw_load(const char *path, size_t dimension, size_t ef_search, char *error, size_t error_size);

/// Saves the index to `path`. Returns 0 on success.
int chnsw_save(chnsw_index *index, const char *path, char *error, size_t error_size);

void chnsw_free(chnsw_index *index);

/// Adds a vector under a label never used before in this index, growing the
/// capacity by half when full; or under a label already used (a deleted one
/// included, which it brings back), replacing its vector in the label's own
/// slot and repairing the links around it. Returns 0 on success.
int chnsw_add(chnsw_index *index, const float *vector, uint64_t label, char *error, size_t error_size);

/// Excludes a label from searches. Returns 0 when it was live, 1 otherwise.
int chnsw_mark_deleted(chnsw_index *index, uint64_t label);

/// Copies a label's vector into `out` (dimension floats). Returns 0 on success.
int chnsw_get_vector(chnsw_index *index, uint64_t label, float *out);

/// Up to k nearest live labels, nearest first, with their inner-product distances.
/// Returns how many were written.
size_t chnsw_search(chnsw_index *index, const float *query, size_t k, uint64_t *labels, float *distances);

/// Elements added, including deleted ones.
size_t chnsw_count(chnsw_index *index);
/// Elements marked deleted.
size_t chnsw_deleted_count(chnsw_index *index);
size_t chnsw_capacity(chnsw_index *index);

/// Sets the search breadth (higher: better recall, slower). Takes the write lock.
void chnsw_set_ef(chnsw_index *index, size_t ef_search);

#ifdef __cplusplus
}
#endif

#endif
