/*
 * The typed n-dimensional array value of backendd's wire protocol (doc/ndarray.md): a
 * MessagePack ext value of type BACKEND_NDARRAY_EXT_TYPE carrying a dtype, a shape and
 * little-endian, C-contiguous data. Host libraries (libbackend-client) and plugins
 * (libbackend-plugin) use the same helpers: they are header-only, so neither library
 * exports them and a process may use both.
 *
 * Payload layout (all integers little-endian):
 *   byte 0      format version (1)
 *   byte 1      dtype (enum backend_dtype)
 *   byte 2      ndim, 0 (a scalar) .. BACKEND_NDARRAY_MAX_DIMS
 *   bytes 3..7  zero
 *   8 * ndim    the shape, one uint64 per dimension
 *   the rest    the elements, row-major; exactly product(shape) * itemsize bytes
 * The data starts at a multiple of 8 from the payload's start; the payload itself may sit at
 * any address, so readers must not assume alignment (see backend_ndarray.aligned).
 */
#ifndef BACKEND_NDARRAY_H
#define BACKEND_NDARRAY_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "backend/ndarray.h: the wire format is little-endian; this host is not"
#endif

#define BACKEND_NDARRAY_EXT_TYPE 1
#define BACKEND_NDARRAY_VERSION 1
#define BACKEND_NDARRAY_MAX_DIMS 32
#define BACKEND_NDARRAY_HEADER 8

/* Element types, with their numpy equivalents. */
enum backend_dtype {
  BACKEND_DTYPE_BOOL = 1,    /* '?', one byte, 0 or 1 */
  BACKEND_DTYPE_INT8 = 2,    /* '<i1' */
  BACKEND_DTYPE_UINT8 = 3,   /* '<u1' */
  BACKEND_DTYPE_INT16 = 4,   /* '<i2' */
  BACKEND_DTYPE_UINT16 = 5,  /* '<u2' */
  BACKEND_DTYPE_INT32 = 6,   /* '<i4' */
  BACKEND_DTYPE_UINT32 = 7,  /* '<u4' */
  BACKEND_DTYPE_INT64 = 8,   /* '<i8' */
  BACKEND_DTYPE_UINT64 = 9,  /* '<u8' */
  BACKEND_DTYPE_FLOAT32 = 10, /* '<f4' */
  BACKEND_DTYPE_FLOAT64 = 11, /* '<f8' */
};

/* Bytes per element, or 0 for an unknown dtype. */
static inline size_t backend_dtype_size(int dtype) {
  static const unsigned char sizes[] = {0, 1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8};
  return dtype > 0 && dtype < (int)sizeof sizes ? sizes[dtype] : 0;
}

/* "float32", ...; "unknown" for an unknown dtype. */
static inline const char *backend_dtype_name(int dtype) {
  static const char *const names[] = {"unknown", "bool",   "int8",   "uint8", "int16",   "uint16",
                                      "int32",   "uint32", "int64",  "uint64", "float32", "float64"};
  return backend_dtype_size(dtype) != 0 ? names[dtype] : names[0];
}

/* An array read from a message: points into the message, valid as long as it is. */
struct backend_ndarray {
  int dtype;                                 /* enum backend_dtype */
  uint32_t ndim;
  uint64_t shape[BACKEND_NDARRAY_MAX_DIMS];
  uint64_t count;                            /* elements: the product of shape (1 for a scalar) */
  const void *data;                          /* count * itemsize bytes, little-endian */
  size_t nbytes;
  int aligned;                               /* data is aligned for its dtype: cast it; else memcpy */
};

/*
 * Element count of a shape, and its byte size for dtype, without overflow. Returns 0 and
 * sets *nbytes, or -EINVAL (unknown dtype, too many dimensions) / -EOVERFLOW.
 */
static inline int backend_ndarray_nbytes(int dtype, uint32_t ndim, const uint64_t *shape, uint64_t *count,
                                         size_t *nbytes) {
  uint64_t n = 1, size = backend_dtype_size(dtype);
  if (size == 0 || ndim > BACKEND_NDARRAY_MAX_DIMS)
    return -EINVAL;
  for (uint32_t i = 0; i < ndim; i++) {
    if (shape[i] != 0 && n > UINT64_MAX / shape[i])
      return -EOVERFLOW;
    n *= shape[i];
  }
  if (n > (SIZE_MAX - BACKEND_NDARRAY_HEADER - 8 * (uint64_t)ndim) / size || n * size > UINT32_MAX)
    return -EOVERFLOW; /* an ext value holds at most 4 GiB */
  *count = n;
  *nbytes = (size_t)(n * size);
  return 0;
}

/*
 * Packs an array: dtype, shape[ndim] and the row-major elements at data (little-endian, as on
 * this host). The elements are written straight from data, not copied first. Returns 0,
 * -EINVAL, -EOVERFLOW, or -ENOMEM when the packer failed.
 */
static inline int backend_ndarray_pack(msgpack_packer *pk, int dtype, uint32_t ndim, const uint64_t *shape,
                                       const void *data) {
  unsigned char header[BACKEND_NDARRAY_HEADER] = {BACKEND_NDARRAY_VERSION, (unsigned char)dtype,
                                                  (unsigned char)ndim, 0, 0, 0, 0, 0};
  uint64_t count;
  size_t nbytes;
  int err = backend_ndarray_nbytes(dtype, ndim, shape, &count, &nbytes);
  if (err < 0)
    return err;
  if (msgpack_pack_ext(pk, BACKEND_NDARRAY_HEADER + 8 * ndim + nbytes, BACKEND_NDARRAY_EXT_TYPE) != 0 ||
      msgpack_pack_ext_body(pk, header, sizeof header) != 0 ||
      (ndim > 0 && msgpack_pack_ext_body(pk, shape, 8 * (size_t)ndim) != 0) ||
      (nbytes > 0 && msgpack_pack_ext_body(pk, data, nbytes) != 0))
    return -ENOMEM;
  return 0;
}

/*
 * Reads an array from a decoded value. Returns 0, or -EINVAL when o is not an array of this
 * format: another value or ext type, an unknown version or dtype, too many dimensions,
 * nonzero reserved bytes, or a payload whose length does not match its shape.
 */
static inline int backend_ndarray_parse(const msgpack_object *o, struct backend_ndarray *out) {
  const unsigned char *p;
  size_t len, header, nbytes;
  uint32_t ndim;
  if (o->type != MSGPACK_OBJECT_EXT || o->via.ext.type != BACKEND_NDARRAY_EXT_TYPE)
    return -EINVAL;
  p = (const unsigned char *)o->via.ext.ptr;
  len = o->via.ext.size;
  if (len < BACKEND_NDARRAY_HEADER || p[0] != BACKEND_NDARRAY_VERSION || (ndim = p[2]) > BACKEND_NDARRAY_MAX_DIMS ||
      p[3] != 0 || p[4] != 0 || p[5] != 0 || p[6] != 0 || p[7] != 0)
    return -EINVAL;
  header = BACKEND_NDARRAY_HEADER + 8 * (size_t)ndim;
  if (len < header)
    return -EINVAL;
  memset(out, 0, sizeof *out);
  out->dtype = p[1];
  out->ndim = ndim;
  memcpy(out->shape, p + BACKEND_NDARRAY_HEADER, 8 * (size_t)ndim);
  if (backend_ndarray_nbytes(out->dtype, ndim, out->shape, &out->count, &nbytes) < 0 || len - header != nbytes)
    return -EINVAL;
  out->data = p + header;
  out->nbytes = nbytes;
  out->aligned = ((uintptr_t)out->data % backend_dtype_size(out->dtype)) == 0;
  return 0;
}

#ifdef __cplusplus
}
#endif

#endif
