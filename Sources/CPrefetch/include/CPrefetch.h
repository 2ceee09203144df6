#ifndef CPREFETCH_H
#define CPREFETCH_H

/// Asks the CPU to start loading the cache line holding `address`, for a read
/// soon after; never faults, even for an address that is not mapped. Swift has
/// no prefetch of its own; inlined at every call site.
static inline void llmcache_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// As `llmcache_prefetch`, for a line about to be written.
static inline void llmcache_prefetch_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
