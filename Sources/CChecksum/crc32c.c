// CRC-32C for the checksums stores keep beside each value.
//
// In C rather than Swift for one reason: the SSE4.2 `crc32` instruction, which
// checksums a 20 KB value in a few microseconds where the best table-driven
// code takes several times longer; a hit pays this on every read. Chosen at
// run time with a target attribute, so the target needs no compiler flags.
#include "cchecksum.h"

#include <string.h>

static uint32_t table[8][256];
static int table_ready;

static void build_table(void) {
    for (uint32_t byte = 0; byte < 256; byte++) {
        uint32_t crc = byte;
        for (int bit = 0; bit < 8; bit++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        table[0][byte] = crc;
    }
    for (int k = 1; k < 8; k++)
        for (uint32_t byte = 0; byte < 256; byte++)
            table[k][byte] = (table[k - 1][byte] >> 8) ^ table[0][table[k - 1][byte] & 0xFF];
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t crc32c_table(uint32_t crc, const unsigned char *p, size_t n) {
    // Building twice from two threads writes the same values: harmless.
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    while (n >= 8) {
        uint32_t one, two;
        memcpy(&one, p, 4);
        memcpy(&two, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        one = __builtin_bswap32(one);
        two = __builtin_bswap32(two);
#endif
        one ^= crc;
        crc = table[7][one & 0xFF] ^ table[6][(one >> 8) & 0xFF] ^ table[5][(one >> 16) & 0xFF] ^ table[4][one >> 24]
            ^ table[3][two & 0xFF] ^ table[2][(two >> 8) & 0xFF] ^ table[1][(two >> 16) & 0xFF] ^ table[0][two >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

uint32_t llmcache_crc32c_update(uint32_t crc, const void *data, size_t length) {
    if (__builtin_cpu_supports("sse4.2")) return crc32c_sse42(crc, data, length);
    return crc32c_table(crc, data, length);
}
#else
uint32_t llmcache_crc32c_update(uint32_t crc, const void *data, size_t length) {
    return crc32c_table(crc, data, length);
}
#endif

uint32_t llmcache_crc32c_update_portable(uint32_t crc, const void *data, size_t length) {
    return crc32c_table(crc, data, length);
}
