/* Fingerprints of results (docs/reliability.md, "Provenance"): a 64-bit hash of a stream of
 * bytes, four independent lanes over 32-byte stripes so that it runs at memory speed over the
 * gigabytes of a co-moment matrix (a byte-at-a-time FNV-1a would take about a second per GB).
 * Each 8-byte little-endian word w enters its lane as lane = rotl(lane + w * P2, 31) * P1;
 * the stripes' lanes are folded, the tail (< 32 bytes) enters word by word then byte by byte,
 * the total length is added, and a final avalanche (the splitmix64 finalizer) mixes all bits.
 * Not cryptographic: it tells a result from another one, not from a forgery. Byte order: the
 * words are read little-endian on every machine, so a fingerprint does not depend on it. */
#include <string.h>

#include "core/internal.h"

static const uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full, P3 = 0x165667B19E3779F9ull;


static uint64_t load64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t round64(uint64_t lane, uint64_t w) { return cvg__rotl64(lane + w * P2, 31) * P1; }

void cvg__fp_init(cvg__fingerprint *f)
{
    memset(f, 0, sizeof *f);
    f->lane[0] = P1 + P2;
    f->lane[1] = P2;
    f->lane[2] = 0;
    f->lane[3] = 0 - P1;
}

static void stripe(cvg__fingerprint *f, const unsigned char *p)
{
    for (int i = 0; i < 4; i++) f->lane[i] = round64(f->lane[i], load64(p + 8 * i));
}

void cvg__fp_add(cvg__fingerprint *f, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    if (bytes == 0) return; /* data may be NULL (an empty reservoir) */
    f->total += bytes;
    if (f->held) { /* fill the held partial stripe first */
        size_t take = 32 - f->held < bytes ? 32 - f->held : bytes;
        memcpy(f->tail + f->held, p, take);
        f->held += take, p += take, bytes -= take;
        if (f->held < 32) return;
        stripe(f, f->tail);
        f->held = 0;
    }
    for (; bytes >= 32; p += 32, bytes -= 32) stripe(f, p);
    memcpy(f->tail, p, bytes);
    f->held = bytes;
}

void cvg__fp_add_u64(cvg__fingerprint *f, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    cvg__fp_add(f, b, 8);
}

void cvg__fp_add_str(cvg__fingerprint *f, const char *s)
{
    const size_t n = s ? strlen(s) : 0;
    cvg__fp_add_u64(f, n); /* the length first: ("ab","c") and ("a","bc") differ */
    if (n) cvg__fp_add(f, s, n);
}

uint64_t cvg__fp_value(const cvg__fingerprint *f)
{
    uint64_t h = cvg__rotl64(f->lane[0], 1) + cvg__rotl64(f->lane[1], 7) + cvg__rotl64(f->lane[2], 12) +
                 cvg__rotl64(f->lane[3], 18);
    for (int i = 0; i < 4; i++) h = (h ^ round64(0, f->lane[i])) * P1 + P3;
    h += f->total;
    size_t i = 0;
    for (; i + 8 <= f->held; i += 8) h = cvg__rotl64(h ^ round64(0, load64(f->tail + i)), 27) * P1 + P3;
    for (; i < f->held; i++) h = cvg__rotl64(h ^ (f->tail[i] * P3), 11) * P1;
    return cvg__mix64(h);
}

void cvg__fp_hex(const cvg__fingerprint *f, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    const uint64_t v = cvg__fp_value(f);
    for (int i = 0; i < 16; i++) out[i] = digits[(v >> (60 - 4 * i)) & 15];
    out[16] = '\0';
}
