/*
 * Fixture, not a plugin: preloaded into a daemon (LD_PRELOAD) to make allocations fail on
 * demand, for out-of-memory paths. malloc, calloc and realloc fail with ENOMEM for any
 * request of at least malloc_shim_fail_from() bytes (none at first); the shape_adapter
 * fixture's squeeze function sets it from inside the daemon. Not for sanitizer builds, whose
 * allocator must come first.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static size_t fail_from = SIZE_MAX;

SHIM_EXPORT void malloc_shim_fail_from(size_t bytes);
SHIM_EXPORT void malloc_shim_fail_from(size_t bytes) { __atomic_store_n(&fail_from, bytes, __ATOMIC_SEQ_CST); }

static int refused(size_t n) {
  if (n < __atomic_load_n(&fail_from, __ATOMIC_RELAXED))
    return 0;
  errno = ENOMEM;
  return 1;
}

SHIM_EXPORT void *malloc(size_t n) { return refused(n) ? NULL : __libc_malloc(n); }

SHIM_EXPORT void *calloc(size_t n, size_t size) {
  return size != 0 && n > SIZE_MAX / size ? __libc_calloc(n, size) : refused(n * size) ? NULL : __libc_calloc(n, size);
}

SHIM_EXPORT void *realloc(void *p, size_t n) { return refused(n) ? NULL : __libc_realloc(p, n); }
