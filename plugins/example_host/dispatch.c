/* Packing and calling for the typed functions (dispatch.h). */
#include "dispatch.h"

#include <errno.h>
#include <string.h>

#include <backend/ndarray.h>

static int pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_kwarg(msgpack_packer *pk, const struct eh_kwarg *k) {
  if (pack_str(pk, k->name))
    return -ENOMEM;
  if (k->type == EH_KW_STR)
    return pack_str(pk, k->s) ? -ENOMEM : 0;
  if (k->type == EH_KW_BOOL)
    return (k->i ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) ? -ENOMEM : 0;
  return msgpack_pack_int64(pk, k->i) ? -ENOMEM : 0;
}

/* Is key (a msgpack string) one of the typed arguments? */
static int typed(const msgpack_object *key, const struct eh_kwarg *kw, size_t n_kw) {
  for (size_t i = 0; i < n_kw; i++)
    if (strlen(kw[i].name) == key->via.str.size && memcmp(kw[i].name, key->via.str.ptr, key->via.str.size) == 0)
      return 1;
  return 0;
}

/*
 * The keyword map: the typed arguments, then the caller's extra ones (one packed map whose
 * keys are strings and repeat none of the typed ones: two values for one name is a bug).
 */
static int pack_kwargs(msgpack_packer *pk, const struct eh_kwarg *kw, size_t n_kw, const void *extra,
                       size_t extra_len) {
  msgpack_unpacked u;
  size_t off = 0;
  uint32_t n_extra = 0;
  int err = 0;
  msgpack_unpacked_init(&u);
  if (extra != NULL && extra_len > 0) {
    if (msgpack_unpack_next(&u, extra, extra_len, &off) != MSGPACK_UNPACK_SUCCESS || off != extra_len ||
        u.data.type != MSGPACK_OBJECT_MAP)
      err = -EINVAL;
    else
      n_extra = u.data.via.map.size;
    for (uint32_t i = 0; i < n_extra && err == 0; i++) {
      const msgpack_object *key = &u.data.via.map.ptr[i].key;
      if (key->type != MSGPACK_OBJECT_STR || typed(key, kw, n_kw))
        err = -EINVAL;
    }
  }
  if (err == 0 && msgpack_pack_map(pk, (uint32_t)n_kw + n_extra))
    err = -ENOMEM;
  for (size_t i = 0; i < n_kw && err == 0; i++)
    err = pack_kwarg(pk, &kw[i]);
  for (uint32_t i = 0; i < n_extra && err == 0; i++)
    if (msgpack_pack_object(pk, u.data.via.map.ptr[i].key) || msgpack_pack_object(pk, u.data.via.map.ptr[i].val))
      err = -ENOMEM;
  msgpack_unpacked_destroy(&u);
  return err;
}

static int timeout_of(const struct example_host_call *call) {
  if (call == NULL || call->timeout_ms == 0)
    return EXAMPLE_HOST_DEFAULT_TIMEOUT_MS;
  return call->timeout_ms < 0 ? -1 : call->timeout_ms;
}

int eh_dispatch(backend_host *h, const char *function, const float *data, size_t n, const struct eh_kwarg *kw,
                size_t n_kw, const struct example_host_call *call, backend_result **out) {
  msgpack_sbuffer args, kwargs;
  msgpack_packer pk;
  uint64_t shape[1] = {n};
  int err;
  *out = NULL;
  if (data == NULL && n > 0)
    return -EINVAL;
  msgpack_sbuffer_init(&args);
  msgpack_sbuffer_init(&kwargs);
  /* data goes by position, as a Python caller would pass it. */
  msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
  if (msgpack_pack_array(&pk, 1) != 0)
    err = -ENOMEM;
  else
    err = backend_ndarray_pack(&pk, BACKEND_DTYPE_FLOAT32, 1, shape, data);
  msgpack_packer_init(&pk, &kwargs, msgpack_sbuffer_write);
  if (err == 0)
    err = pack_kwargs(&pk, kw, n_kw, call != NULL ? call->kwargs : NULL, call != NULL ? call->kwargs_len : 0);
  if (err == 0)
    err = backend_host_call(h, function, args.data, args.size, kwargs.data, kwargs.size,
                            call != NULL ? call->backend : NULL, timeout_of(call), out);
  msgpack_sbuffer_destroy(&args);
  msgpack_sbuffer_destroy(&kwargs);
  return err;
}

int eh_finish(backend_result *r, int rc, const struct example_host_call *call) {
  if (call != NULL && call->info != NULL)
    *call->info = r;
  else if (r != NULL)
    backend_result_free(r);
  return rc;
}
