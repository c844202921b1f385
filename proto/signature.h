/*
 * Binding a call's arguments to a Python-like signature (<backend/param.h> kinds): which
 * parameter each positional and keyword argument goes to, what is missing, what is left over.
 * Shared by the client (the cpu path runs without the daemon) and the daemon (routing a call
 * to a backend, spec/backends.md), so both refuse the same calls with the same words.
 */
#ifndef BACKENDD_PROTO_SIGNATURE_H
#define BACKENDD_PROTO_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* Most parameters a signature may have (declarations with more are refused). */
#define SIG_MAX_PARAMS 64

struct sig_param {
  const char *name;
  uint32_t kind;             /* enum backend_param_kind */
  const msgpack_object *def; /* the default, or NULL when required */
};

struct sig {
  const char *function;          /* for messages: "compute_score() got ..." */
  const struct sig_param *params;
  size_t n;
};

struct sig_binding {
  /* Per parameter (index as in the signature): the value the caller passed, or NULL. */
  const msgpack_object *values[SIG_MAX_PARAMS];
  /* Keyword arguments naming no parameter of the signature, in the caller's order. */
  const msgpack_object_kv *extra[SIG_MAX_PARAMS];
  size_t n_extra;
};

/*
 * Binds args (an array, or NULL for none) and kwargs (a map with string keys, or NULL) to s:
 * positional arguments to BACKEND_PARAM_POSITIONAL parameters in order, keywords by name.
 * Keywords that name no parameter are collected in b->extra (whether that is an error
 * depends on the caller), even when s has a VAR_KEYWORD parameter. With check_required,
 * a required parameter left without a value is an error.
 * Returns 0, or -EINVAL with a Python-style reason in why:
 *   "compute_score() takes 1 positional argument but 2 were given"
 *   "compute_score() got multiple values for argument 'data'"
 *   "compute_score() missing required argument 'data'"
 *   "compute_score() keyword argument names must be strings"
 *   "compute_score() got too many unknown keyword arguments" (more than SIG_MAX_PARAMS)
 */
int sig_bind(const struct sig *s, const msgpack_object *args, const msgpack_object *kwargs, bool check_required,
             struct sig_binding *b, char *why, size_t why_len);

/* Index of the parameter called name (len bytes), or -1. */
int sig_find(const struct sig *s, const char *name, size_t len);

/*
 * Most steps sig_value_equal takes: one per value it compares, counting every key-value
 * pair it tries while matching two maps (pairs match in any order, so that is up to n*n).
 * A comparison that needs more answers "not equal" (routing then drops a host-only
 * argument with a warning instead of silently, doc/backends.md): the call runs on the
 * daemon's loop thread, and a caller chooses the size of one side.
 */
#define SIG_EQUAL_MAX_STEPS 65536

/*
 * Value equality for "was this passed at its default?": same type and contents, except that
 * integers and floats compare by numeric value (1 == 1.0), and maps compare key by key in
 * any order. Arrays, maps, strings, binaries and ext values compare deeply. Values too large
 * to compare within SIG_EQUAL_MAX_STEPS are not equal.
 */
bool sig_value_equal(const msgpack_object *a, const msgpack_object *b);

/*
 * Renders a value the way Python's repr() writes the equivalent object, for signatures in
 * docs: None, True, False, 'fast' (single quotes, escaped), 4096, 0.5, [1, 2], {'a': 1};
 * other values (bin, ext) as <bytes>, <ext 1>. Returns a new string, or NULL (out of memory).
 */
char *sig_value_repr(const msgpack_object *o);

/* What a text cut short ends with: U+2026 HORIZONTAL ELLIPSIS. */
#define SIG_ELLIPSIS "\xe2\x80\xa6"

/*
 * The length to cut s (len bytes) to for at most max bytes: where a UTF-8 character starts,
 * backing up at most 3 continuation bytes (so text that is not UTF-8 is still cut near max).
 */
size_t sig_utf8_cut(const char *s, size_t len, size_t max);

/*
 * sig_value_repr cut to at most max bytes, at a UTF-8 character boundary, with "…" (U+2026)
 * appended when anything was cut; rendering stops there, so a huge value costs no more than
 * a small one. Returns a new string, or NULL (out of memory).
 */
char *sig_value_repr_max(const msgpack_object *o, size_t max);

#endif
