/* A growable NUL-terminated string, for text built in pieces (signatures, merged docs). */
#ifndef BACKENDD_PROTO_STRBUF_H
#define BACKENDD_PROTO_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialise ({0}). After a failed allocation every append is a no-op and strbuf_take reports it. */
struct strbuf {
  char *p;
  size_t len, cap;
  bool oom;
};

void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
/* The string ("" when nothing was added; NULL when out of memory), leaving b empty. */
char *strbuf_take(struct strbuf *b);

#endif
