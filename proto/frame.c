#include "frame.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* What an element's header announces. */
struct elem {
  size_t hdr;        /* header bytes, type byte included */
  uint64_t body;     /* bytes following the header: payload or fixed-size value */
  uint64_t children; /* elements of an array; keys plus values of a map */
  int container;
  int is_str;
};

/* Body sizes of the fixed-size types 0xca..0xd8 (float, uint, int, fixext incl. its type byte). */
static const unsigned char fixed_body[] = {
  4, 8,             /* float 32, 64 */
  1, 2, 4, 8,       /* uint 8..64 */
  1, 2, 4, 8,       /* int 8..64 */
  2, 3, 5, 9, 17,   /* fixext 1..16 */
};

static uint64_t read_be(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* Header length from the type byte alone, so limits can be checked before the rest arrives. */
static size_t header_len(unsigned char b) {
  switch (b) {
  case 0xc4: case 0xc7: case 0xd9: return 2;                       /* 8-bit length */
  case 0xc5: case 0xc8: case 0xda: case 0xdc: case 0xde: return 3; /* 16-bit length or count */
  case 0xc6: case 0xc9: case 0xdb: case 0xdd: case 0xdf: return 5; /* 32-bit length or count */
  default: return 1;
  }
}

/* Decodes a complete header (e->hdr bytes at p). The type byte is not 0xc1. */
static void parse_header(const unsigned char *p, struct elem *e) {
  unsigned char b = p[0];

  memset(e, 0, sizeof *e);
  e->hdr = header_len(b);
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xc0 && b <= 0xc3))
    return; /* fixint, nil, bool: the type byte is the whole element */
  if (b <= 0x8f) {
    e->container = 1;
    e->children = 2u * (b & 0x0fu);
  } else if (b <= 0x9f) {
    e->container = 1;
    e->children = b & 0x0fu;
  } else if (b <= 0xbf) {
    e->is_str = 1;
    e->body = b & 0x1fu;
  } else if (b <= 0xc9) {
    e->body = read_be(p + 1, e->hdr - 1) + (b >= 0xc7); /* ext: the type byte counts as body */
  } else if (b <= 0xd8) {
    e->body = fixed_body[b - 0xca];
  } else if (b <= 0xdb) {
    e->is_str = 1;
    e->body = read_be(p + 1, e->hdr - 1);
  } else {
    e->container = 1;
    e->children = read_be(p + 1, e->hdr - 1);
    if (b >= 0xde)
      e->children *= 2; /* at most 2 * UINT32_MAX: no overflow in 64 bits */
  }
}

/*
 * Scans the element at f->pos (f->pos < f->len). Returns 1 once it is consumed, 0 when
 * more bytes are needed (nothing is consumed; the header, at most 5 bytes, is re-read
 * next time), or a proto_err. Limits are checked before waiting for any body bytes.
 */
static int scan_element(struct proto_frame *f) {
  const unsigned char *p = (const unsigned char *)f->buf + f->pos;
  size_t avail = f->len - f->pos;
  size_t room = f->limits.max_message_size - (f->pos - f->start); /* scanned <= limit */
  struct elem e;

  if (p[0] == 0xc1)
    return PROTO_EPARSE;
  if (header_len(p[0]) > room)
    return PROTO_ETOOBIG;
  if (avail < header_len(p[0]))
    return 0;
  parse_header(p, &e);
  if (e.is_str && e.body > f->limits.max_string_length)
    return PROTO_ESTRLEN;
  if (e.body > room - e.hdr)
    return PROTO_ETOOBIG;
  if (e.container && f->depth + 1 > f->limits.max_depth)
    return PROTO_EDEPTH;
  if (e.children > f->limits.max_elements - f->elements)
    return PROTO_ETOOMANY; /* decoding would cost memory in proportion to the count, not the bytes */
  if (avail - e.hdr < e.body)
    return 0;

  f->pos += e.hdr + (size_t)e.body;
  f->elements += e.children;
  f->remaining[f->depth]--;
  if (e.children > 0)
    f->remaining[++f->depth] = e.children;
  while (f->depth > 0 && f->remaining[f->depth] == 0)
    f->depth--;
  return 1;
}

void proto_frame_init(struct proto_frame *f, const struct proto_limits *limits) {
  memset(f, 0, sizeof *f);
  f->limits = *limits;
  if (f->limits.max_depth > PROTO_MAX_DEPTH_CEILING)
    f->limits.max_depth = PROTO_MAX_DEPTH_CEILING; /* remaining[] and msgpack-c stop there */
  f->remaining[0] = 1; /* one top-level object per message */
}

void proto_frame_free(struct proto_frame *f) {
  free(f->buf);
  f->buf = NULL;
  f->cap = f->len = f->start = f->pos = 0;
}

/* Moves the current partial message to the front of the buffer. */
static void compact(struct proto_frame *f) {
  if (f->start == 0)
    return;
  memmove(f->buf, f->buf + f->start, f->len - f->start);
  f->len -= f->start;
  f->pos -= f->start;
  f->start = 0;
}

static int resize(struct proto_frame *f, size_t cap) {
  char *p = realloc(f->buf, cap);

  if (!p)
    return PROTO_ENOMEM;
  f->buf = p;
  f->cap = cap;
  return 0;
}

/*
 * New capacity when `need` bytes do not fit: doubling keeps copying linear for a large
 * message, but never beyond what a message within the limit plus one read can use.
 */
static size_t grown_cap(const struct proto_frame *f, size_t need, size_t want) {
  size_t cap = f->cap <= SIZE_MAX / 2 ? f->cap * 2 : SIZE_MAX;
  size_t ceiling = f->limits.max_message_size <= SIZE_MAX - want
                       ? f->limits.max_message_size + want : SIZE_MAX;

  if (cap > ceiling)
    cap = ceiling;
  return cap > need ? cap : need;
}

int proto_frame_reserve(struct proto_frame *f, size_t want, char **buf, size_t *len) {
  size_t need;
  int r = 0;

  if (want == 0)
    want = 1;
  if (f->start == f->len)
    f->start = f->pos = f->len = 0; /* everything consumed: reuse the buffer from its start */
  if (f->cap - f->len < want)
    compact(f);
  if (want > SIZE_MAX - f->len)
    return PROTO_ENOMEM;
  need = f->len + want;
  if (f->cap < need)
    r = resize(f, grown_cap(f, need, want));
  else if (f->cap / 4 > need)
    r = resize(f, need); /* give back what a large message left behind */
  if (r < 0)
    return r;
  *buf = f->buf + f->len;
  *len = want;
  return 0;
}

void proto_frame_commit(struct proto_frame *f, size_t n) {
  assert(n <= f->cap - f->len);
  f->len += n;
}

int proto_frame_next(struct proto_frame *f, const char **msg, size_t *len) {
  while (!f->error && f->pos < f->len) {
    int r = scan_element(f);

    if (r < 0)
      f->error = r; /* start stays on the bad message, for proto_frame_partial_msgid() */
    else if (r == 0)
      return 0;
    else if (f->depth == 0) { /* the top-level object is complete */
      *msg = f->buf + f->start;
      *len = f->pos - f->start;
      f->start = f->pos;
      f->remaining[0] = 1;
      f->elements = 0;
      return 1;
    }
  }
  return f->error;
}

char *proto_frame_steal(struct proto_frame *f, const char *msg, size_t len) {
  char *buf = f->buf, *fit;

  if (msg != buf || f->start != len || f->len != len)
    return NULL;
  f->buf = NULL;
  f->cap = f->len = f->start = f->pos = 0;
  fit = realloc(buf, len > 0 ? len : 1); /* give back the room the buffer had grown for */
  return fit != NULL ? fit : buf;
}

int proto_frame_measure(const struct proto_limits *limits, const void *data, size_t size, size_t *len) {
  struct proto_frame f;
  const char *msg;
  int r;

  proto_frame_init(&f, limits);
  /* Borrowed, read only: scanning never writes to the buffer, only reserve() would. */
  f.buf = (char *)data;
  f.cap = f.len = size;
  r = proto_frame_next(&f, &msg, len);
  f.buf = NULL;
  proto_frame_free(&f);
  return r;
}

size_t proto_frame_pending(const struct proto_frame *f) {
  return f->len - f->start;
}

/* Reads a non-negative integer of any width; returns the bytes it took, 0 if there is none. */
static size_t read_uint(const unsigned char *p, size_t avail, uint64_t *v) {
  size_t n;

  if (avail == 0)
    return 0;
  if (p[0] <= 0x7f) {
    *v = p[0];
    return 1;
  }
  if (p[0] >= 0xcc && p[0] <= 0xd3)
    n = (size_t)1 << ((p[0] - 0xcc) & 3); /* uint8..64, int8..64 */
  else
    return 0;
  if (avail < 1 + n)
    return 0;
  if (p[0] >= 0xd0 && (p[1] & 0x80))
    return 0; /* negative */
  *v = read_be(p + 1, n);
  return 1 + n;
}

int proto_frame_partial_msgid(const struct proto_frame *f, uint32_t *msgid) {
  size_t avail = f->len - f->start, off, n;
  const unsigned char *p;
  uint64_t type, id;

  if (avail < 3)
    return 0; /* not even [0, id] of a fixarray */
  p = (const unsigned char *)f->buf + f->start;
  if (p[0] == 0x94)
    off = 1;
  else if (p[0] == 0xdc && read_be(p + 1, 2) == 4)
    off = 3;
  else if (p[0] == 0xdd && avail >= 5 && read_be(p + 1, 4) == 4)
    off = 5;
  else
    return 0;
  n = read_uint(p + off, avail - off, &type);
  if (n == 0 || type != 0) /* only a request can be answered */
    return 0;
  off += n;
  n = read_uint(p + off, avail - off, &id);
  if (n == 0 || id > UINT32_MAX)
    return 0;
  *msgid = (uint32_t)id;
  return 1;
}
