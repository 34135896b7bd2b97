/* Protobuf, just enough for ttrpc Request/Response and the shim's DeleteResponse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

void buf_put(struct buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            fputs("krill: out of memory\n", stderr);
            exit(1);
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void pb_varint(struct buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    buf_put(b, tmp, n);
}

void pb_uint(struct buf *b, unsigned field, uint64_t v)
{
    if (v == 0)
        return;
    pb_varint(b, (uint64_t)field << 3 | 0);
    pb_varint(b, v);
}

void pb_bytes(struct buf *b, unsigned field, const void *data, size_t n)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, n);
    buf_put(b, data, n);
}

void pb_string(struct buf *b, unsigned field, const char *s)
{
    if (s && *s)
        pb_bytes(b, field, s, strlen(s));
}

int pb_read_varint(struct pb_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/*
 * Reads one field: a varint lands in v, a length-delimited field in
 * data and len, and fixed32/fixed64 values are skipped since nothing we
 * read uses them.  Returns 1 on a field, 0 at the end, -1 on bad input.
 */
int pb_next(struct pb_reader *r, unsigned *field, unsigned *wire, uint64_t *v, const uint8_t **data,
            size_t *len)
{
    uint64_t key;
    if (r->p == r->end)
        return 0;
    if (pb_read_varint(r, &key) != 0)
        return -1;
    *field = (unsigned)(key >> 3);
    *wire = (unsigned)(key & 7);
    switch (*wire) {
    case 0:
        return pb_read_varint(r, v) == 0 ? 1 : -1;
    case 1:
        if (r->end - r->p < 8)
            return -1;
        r->p += 8;
        return 1;
    case 2: {
        uint64_t n;
        if (pb_read_varint(r, &n) != 0 || n > (uint64_t)(r->end - r->p))
            return -1;
        *data = r->p;
        *len = (size_t)n;
        r->p += n;
        return 1;
    }
    case 5:
        if (r->end - r->p < 4)
            return -1;
        r->p += 4;
        return 1;
    default:
        return -1;
    }
}
