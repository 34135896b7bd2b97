/* Protobuf, just enough for ttrpc Request/Response and the shim's DeleteResponse. */
#ifndef KRILL_PB_H
#define KRILL_PB_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer; start from {0}, free(b.p) when done. */
struct buf {
    uint8_t *p;
    size_t len, cap;
};

struct pb_reader {
    const uint8_t *p, *end;
};

void buf_put(struct buf *b, const void *data, size_t n);
void pb_varint(struct buf *b, uint64_t v);
/* Field encoders; pb_uint and pb_string leave out 0 and "", as proto3 does. */
void pb_uint(struct buf *b, unsigned field, uint64_t v);
void pb_bytes(struct buf *b, unsigned field, const void *data, size_t n);
void pb_string(struct buf *b, unsigned field, const char *s);
int pb_read_varint(struct pb_reader *r, uint64_t *out);
/* One field of r (see pb.c): 1 on a field, 0 at the end, -1 on bad input. */
int pb_next(struct pb_reader *r, unsigned *field, unsigned *wire, uint64_t *v, const uint8_t **data,
            size_t *len);

#endif
