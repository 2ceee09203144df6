#ifndef CCHECKSUM_H
#define CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// Continues a CRC-32C (Castagnoli) over `length` bytes at `data`. Pass
/// 0xFFFFFFFF to start and invert the result at the end, as usual for
/// CRC-32C. Uses the SSE4.2 `crc32` instruction when the processor has it
/// (chosen at run time), a slicing-by-8 table otherwise. Thread-safe.
uint32_t llmcache_crc32c_update(uint32_t crc, const void *data, size_t length);

/// The same without the `crc32` instruction, for testing that path on
/// processors that have it.
uint32_t llmcache_crc32c_update_portable(uint32_t crc, const void *data, size_t length);

#endif
