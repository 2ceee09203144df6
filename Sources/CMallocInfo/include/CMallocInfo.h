#ifndef CMALLOCINFO_H
#define CMALLOCINFO_H

#include <stddef.h>

#if defined(__APPLE__)
#include <malloc/malloc.h>

/// Bytes the C allocator has handed out and not had back, over every zone.
static inline size_t llmcache_heap_bytes_in_use(void) {
    malloc_statistics_t stats;
    malloc_zone_statistics(NULL, &stats);
    return stats.size_in_use;
}

/// The size of the heap block starting at `pointer`, which must be the start of
/// a block from malloc: what a buffer really holds, whatever the object owning
/// it says its count is.
static inline size_t llmcache_allocation_bytes(void *pointer) {
    return malloc_size(pointer);
}
#else
#include <malloc.h>

/// Bytes the C allocator has handed out and not had back, over every arena
/// (glibc's mallinfo2: in-use chunks plus mmapped blocks). Swift's Glibc module
/// does not import malloc.h, hence this shim.
static inline size_t llmcache_heap_bytes_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

/// The usable size of the heap block starting at `pointer`, which must be the
/// start of a block from malloc (glibc's malloc_usable_size): what a buffer
/// really holds, whatever the object owning it says its count is.
static inline size_t llmcache_allocation_bytes(void *pointer) {
    return malloc_usable_size(pointer);
}
#endif

#endif
