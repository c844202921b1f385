/*
 * The typed n-dimensional array (include/backend/ndarray.h): round trips of every dtype and
 * shape, every malformed payload refused, and a 64 MiB float32 array through a real daemon.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ndarray.h"
#include "harness.h"

TestSuite(ndarray, .fini = harness_cleanup, .timeout = 60);

/* Packs, decodes and parses; returns the decoded object's array view. */
static void round_trip(int dtype, uint32_t ndim, const uint64_t *shape, const void *data, msgpack_sbuffer *sb,
                       msgpack_unpacked *u, struct backend_ndarray *out) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  cr_assert_eq(backend_ndarray_pack(&pk, dtype, ndim, shape, data), 0);
  msgpack_unpacked_init(u);
  cr_assert_eq(msgpack_unpack_next(u, sb->data, sb->size, NULL), MSGPACK_UNPACK_SUCCESS);
  cr_assert_eq(backend_ndarray_parse(&u->data, out), 0);
}

Test(ndarray, every_dtype_and_shape_round_trips) {
  static const uint64_t shapes[][3] = {{0}, {7}, {2, 3}, {2, 0, 4}, {1, 1, 5}};
  static const uint32_t ndims[] = {0, 1, 2, 3, 3};
  unsigned char data[64];
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (unsigned char)(i * 37 + 1);
  for (int dtype = BACKEND_DTYPE_BOOL; dtype <= BACKEND_DTYPE_FLOAT64; dtype++)
    for (size_t s = 0; s < sizeof ndims / sizeof ndims[0]; s++) {
      msgpack_sbuffer sb;
      msgpack_unpacked u;
      struct backend_ndarray a;
      uint64_t count = 1;
      for (uint32_t d = 0; d < ndims[s]; d++)
        count *= shapes[s][d];
      round_trip(dtype, ndims[s], shapes[s], data, &sb, &u, &a);
      cr_expect_eq(a.dtype, dtype);
      cr_expect_eq(a.ndim, ndims[s]);
      cr_expect_eq(a.count, count);
      cr_expect_eq(a.nbytes, count * backend_dtype_size(dtype));
      cr_expect_eq(memcmp(a.shape, shapes[s], 8 * ndims[s]), 0);
      cr_expect_eq(memcmp(a.data, data, a.nbytes), 0, "%s, ndim %u", backend_dtype_name(dtype), ndims[s]);
      msgpack_unpacked_destroy(&u);
      msgpack_sbuffer_destroy(&sb);
    }
}

Test(ndarray, float64_values_survive_and_names_are_numpy_like) {
  const double values[] = {0.5, -1e300, 3.25, 42.0};
  const uint64_t shape[] = {2, 2};
  msgpack_sbuffer sb;
  msgpack_unpacked u;
  struct backend_ndarray a;
  double back[4];
  round_trip(BACKEND_DTYPE_FLOAT64, 2, shape, values, &sb, &u, &a);
  memcpy(back, a.data, sizeof back); /* a.aligned may be false: copy rather than cast */
  cr_expect_eq(memcmp(back, values, sizeof back), 0);
  cr_expect_str_eq(backend_dtype_name(BACKEND_DTYPE_FLOAT32), "float32");
  cr_expect_str_eq(backend_dtype_name(99), "unknown");
  cr_expect_eq(backend_dtype_size(BACKEND_DTYPE_INT16), 2);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}

/* Parses a hand-made ext payload. */
static int parse_payload(int8_t type, const void *payload, size_t len) {
  msgpack_object o = {.type = MSGPACK_OBJECT_EXT};
  struct backend_ndarray a;
  o.via.ext.type = type;
  o.via.ext.ptr = payload;
  o.via.ext.size = (uint32_t)len;
  return backend_ndarray_parse(&o, &a);
}

Test(ndarray, malformed_payloads_are_refused) {
  /* header: version 1, float32, ndim 1, reserved; shape {2}; then 8 bytes of data */
  unsigned char good[8 + 8 + 8] = {1, BACKEND_DTYPE_FLOAT32, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
  unsigned char bad[sizeof good];
  msgpack_object str = {.type = MSGPACK_OBJECT_STR};
  struct backend_ndarray a;
  cr_assert_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, good, sizeof good), 0);
  cr_expect_eq(parse_payload(2, good, sizeof good), -EINVAL, "another ext type");
  cr_expect_eq(backend_ndarray_parse(&str, &a), -EINVAL, "not an ext value");
  cr_expect_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, good, 7), -EINVAL, "shorter than the header");
  cr_expect_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, good, 12), -EINVAL, "shape cut short");
  cr_expect_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, good, sizeof good - 1), -EINVAL, "data cut short");
  memcpy(bad, good, sizeof good);
  bad[0] = 2;
  cr_expect_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, bad, sizeof bad), -EINVAL, "unknown version");
  memcpy(bad, good, sizeof good);
  bad[1] = 12;
  cr_expect_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, bad, sizeof bad), -EINVAL, "unknown dtype");
  memcpy(bad, good, sizeof good);
  bad[2] = 33;
  cr_expect_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, bad, sizeof bad), -EINVAL, "too many dimensions");
  memcpy(bad, good, sizeof good);
  bad[5] = 1;
  cr_expect_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, bad, sizeof bad), -EINVAL, "reserved byte set");
  memcpy(bad, good, sizeof good);
  bad[15] = 0x80; /* shape 2^63 + 2: the byte size overflows */
  cr_expect_eq(parse_payload(BACKEND_NDARRAY_EXT_TYPE, bad, sizeof bad), -EINVAL, "overflowing shape");
}

Test(ndarray, packing_refuses_what_cannot_be_sent) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint64_t huge[2] = {UINT64_C(1) << 40, UINT64_C(1) << 40}, shape[1] = {1};
  uint64_t dims[BACKEND_NDARRAY_MAX_DIMS + 1] = {0};
  float x = 1;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  cr_expect_eq(backend_ndarray_pack(&pk, 0, 1, shape, &x), -EINVAL);
  cr_expect_eq(backend_ndarray_pack(&pk, BACKEND_DTYPE_FLOAT32, BACKEND_NDARRAY_MAX_DIMS + 1, dims, &x), -EINVAL);
  cr_expect_eq(backend_ndarray_pack(&pk, BACKEND_DTYPE_FLOAT32, 2, huge, &x), -EOVERFLOW);
  cr_expect_eq(sb.size, 0, "a refused array packed something");
  msgpack_sbuffer_destroy(&sb);
}

Test(ndarray, a_64_mib_float32_array_crosses_the_daemon) {
  const size_t n = (size_t)16 << 20; /* 16 Mi float32 = 64 MiB */
  const uint64_t shape[] = {n};
  float *data = malloc(n * sizeof *data);
  struct hdaemon *d = harness_start(harness_bin("BACKENDD_TEST_BIN"), NULL);
  backend_client *c = harness_client(d);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  backend_reply *r;
  struct backend_ndarray a;
  cr_assert_not_null(data);
  for (size_t i = 0; i < n; i++)
    data[i] = (float)i * 0.5f;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  msgpack_pack_str_with_body(&pk, "value", 5);
  cr_assert_eq(backend_ndarray_pack(&pk, BACKEND_DTYPE_FLOAT32, 1, shape, data), 0);
  /* test.echo answers its value: the array goes to the daemon and back whole. */
  cr_assert_eq(backend_client_call(c, "test.echo", sb.data, sb.size, 30000, &r), 0);
  cr_assert_eq(backend_ndarray_parse(&r->result, &a), 0);
  cr_expect_eq(a.dtype, BACKEND_DTYPE_FLOAT32);
  cr_expect_eq(a.count, n);
  cr_expect_eq(memcmp(a.data, data, n * sizeof *data), 0);
  backend_reply_free(r);
  msgpack_sbuffer_destroy(&sb);
  free(data);
  harness_ping(c, d);
  harness_client_close(c);
  harness_finish(d);
}
