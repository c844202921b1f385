/*
 * Host libraries: declare your dispatchable functions once, then call them through one
 * function that picks the backend (spec/backends.md, doc/backends.md). Part of
 * libbackend-client.
 *
 *   static int score_cpu(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t len);
 *   static const struct backend_param score_params[] = {
 *       {"data", BACKEND_PARAM_POSITIONAL, NULL},
 *       {"method", BACKEND_PARAM_KEYWORD_ONLY, "\"fast\""},
 *       {NULL, 0, NULL}};
 *   static const struct backend_host_function functions[] = {
 *       {"compute_score", score_params, "Compute a score.\n\nParameters\n----------\n...", score_cpu},
 *       {NULL, NULL, NULL, NULL}};
 *   static const struct backend_host_decl decl = {.name = "example_host", .functions = functions};
 *
 *   backend_host *h;
 *   backend_result *r;
 *   backend_host_new(&decl, NULL, &h, why, sizeof why);
 *   backend_host_call(h, "compute_score", args, args_len, kwargs, kwargs_len, NULL, &r);
 *   ... r->value, r->backend, r->fallback ...
 *   backend_result_free(r);
 *   backend_host_free(h);
 *
 * Selection: the per-call backend, else the host's current backend (backend_host_set_backend,
 * backend_host_scope_begin/end; initially from the environment variable
 * backend_host_env_var() names, e.g. EXAMPLE_HOST_BACKEND), else "cpu". "cpu" runs the host's
 * own implementation in this process without contacting the daemon. Any other name is
 * resolved by the daemon (aliases to canonical names), which is contacted on first need.
 *
 * Thread-safety: a backend_host may be shared by threads. Calls that reach the daemon are
 * serialised per handle (its connection is locked for the round trip; use one handle per
 * thread for parallel dispatch); "cpu" calls and the backend settings never wait for them.
 * The current backend belongs to the handle, not to a thread: a scope begun in one thread
 * applies to every thread's calls on that handle, and scopes must end in the reverse order
 * of their beginnings. Results are independent of the handle.
 */
#ifndef BACKEND_HOST_H
#define BACKEND_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include <backend/client.h>
#include <backend/param.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The call was refused or failed: the result's error_code and error_message say why. */
#define BACKEND_ECALL (-5005)

/* A call's arguments bound to the host function's parameters (valid during the call only). */
typedef struct backend_args backend_args;

/*
 * The value for parameter `name`: what the caller passed, else the host's default, else
 * NULL. Backend-only keyword arguments are never visible here.
 */
const msgpack_object *backend_args_get(const backend_args *a, const char *name);

/*
 * A host function's own (CPU) implementation, run in the host process. Packs exactly one
 * result value into out and returns 0, or returns a negative value with a reason in why.
 */
typedef int (*backend_host_impl)(void *user, const backend_args *args, msgpack_packer *out, char *why,
                                 size_t why_len);

struct backend_host_function {
  const char *name;                   /* [A-Za-z_][A-Za-z0-9_]* */
  const struct backend_param *params; /* terminated by an entry whose name is NULL */
  const char *doc;                    /* numpydoc */
  backend_host_impl impl;             /* the cpu implementation (required) */
};

/* A backend the host trusts (spec/backends.md, "Trusted backends"). Lists are NULL-terminated. */
struct backend_trusted {
  const char *name;                    /* canonical backend name */
  const char *const *aliases;          /* reserved for it; NULL: none */
  const char *package;                 /* the distribution users install (required) */
  const char *const *distributions;    /* accepted providers; NULL: just `package` (PEP 503 compared) */
  const char *const *entrypoints;      /* accepted entry-point names; NULL: any */
  const char *const *object_refs;      /* accepted entry-point values; NULL: any */
  const char *const *module_prefixes;  /* accepted module prefixes ("my_backend" matches my_backend.x); NULL: any */
};

/* A name the host keeps for itself, with the reason shown to whoever asks for it. */
struct backend_reserved {
  const char *name;
  const char *reason;
};

struct backend_host_decl {
  const char *name;   /* the host's name, a backend-name-like label */
  const char *group;  /* entry-point group; NULL: "<name>.backends" */
  const struct backend_host_function *functions; /* terminated by an entry whose name is NULL */
  const struct backend_trusted *trusted;         /* terminated by name NULL; NULL: none */
  const struct backend_reserved *reserved;       /* terminated by name NULL; NULL: none */
  void *user;                                    /* passed to every impl */
};

typedef struct backend_host backend_host;

/*
 * Checks and copies decl. Refused with BACKEND_EINVAL and the reason in why: variadic
 * positional parameters, a parameter named "backend", duplicate function, parameter,
 * trusted or reserved names, invalid names, defaults that are not JSON, a missing impl.
 * socket_path: the daemon's socket (NULL: backend_default_socket() when first needed).
 * Reads the initial backend from the environment (backend_host_env_var); a value that
 * breaks the naming rules is refused too (BACKEND_EINVAL, why names the variable). Connects
 * to nothing: the daemon is contacted on the first call that needs it.
 */
int backend_host_new(const struct backend_host_decl *decl, const char *socket_path, backend_host **out, char *why,
                     size_t why_len);
void backend_host_free(backend_host *h);

/* The environment variable holding the initial backend: the host name upper-cased, non-alphanumerics
 * as '_', then "_BACKEND" ("example_host" -> "EXAMPLE_HOST_BACKEND"). Empty or unset: "cpu". */
const char *backend_host_env_var(const backend_host *h);

/* Sets the current backend (NULL or "cpu": the host's implementation). BACKEND_EINVAL for a
 * name that breaks the naming rules; whether it exists is checked at call time. */
int backend_host_set_backend(backend_host *h, const char *name);
/* Copies the current backend name (as set, not resolved) into buf. Returns 0 or -ENAMETOOLONG. */
int backend_host_get_backend(backend_host *h, char *buf, size_t len);

/* The scoped form: begin sets name and remembers the previous value in *scope; end restores it. */
typedef struct backend_scope {
  char previous[129];
} backend_scope;
int backend_host_scope_begin(backend_host *h, const char *name, backend_scope *scope);
void backend_host_scope_end(backend_host *h, const backend_scope *scope);

/* What a dispatched call gives. Owns its memory: backend_result_free. */
typedef struct backend_result {
  msgpack_object value;        /* the function's result (nil on error) */
  const char *backend;         /* canonical name of the backend selected ("cpu" for the host's) */
  int trusted;                 /* 1 when the host trusts it ("cpu" is trusted) */
  const char *fallback;        /* NULL, or why the host implementation ran instead */
  const char *const *warnings; /* n_warnings warnings (unknown parameters dropped, untrusted, ...) */
  size_t n_warnings;
  uint64_t backend_ns;         /* time spent in the backend function (0 when it did not run) */
  const char *error_code;      /* with BACKEND_ECALL: "Backend.Unknown", "Backend.CallFailed", ... */
  const char *error_message;
  msgpack_object error_data;   /* e.g. {"suggestion": "fxa"} for Backend.Unknown; nil when none */
} backend_result;
void backend_result_free(backend_result *r);

/*
 * Calls host function `function`. args: one packed MessagePack array of positional
 * arguments or NULL/0; kwargs: one packed map of keyword arguments or NULL/0. backend: this
 * call's backend, or NULL for the current one. timeout_ms: how long to wait for the daemon
 * (-1: forever), connecting and declaring the host first on a new connection included.
 *
 * Returns 0 with *out set; BACKEND_ECALL with *out set (error_code/error_message) when the
 * call was refused or failed, wherever that was decided; or another error (-ENOENT: no
 * daemon, BACKEND_EINVAL: arguments not packed as said, or, for a call to the daemon, over
 * its default limits (doc/protocol.md), ...) with *out NULL. A connection the daemon
 * closed since the last call (it restarted) is replaced, and the call sent on the new one:
 * the closed one refused all of it, so the daemon cannot run it twice.
 */
int backend_host_call(backend_host *h, const char *function, const void *args, size_t args_len, const void *kwargs,
                      size_t kwargs_len, const char *backend, int timeout_ms, backend_result **out);

/* backend.list for this host (declaring it first): {host, group, backends: [...]}; see doc/protocol.md. */
int backend_host_list(backend_host *h, int timeout_ms, backend_reply **out);

/* backend.describe of one function: {host, function, signature, doc, parameters}; doc/protocol.md. */
int backend_host_describe(backend_host *h, const char *function, int timeout_ms, backend_reply **out);

/*
 * Writes the declaration as a declaration file (JSON, doc/backends.md: "backend-host.json"
 * in the host distribution's .dist-info), so the daemon knows the host before any of its
 * processes connect. Returns 0, -EIO (write failed) or -ENOMEM.
 */
int backend_host_write_declaration(const backend_host *h, FILE *f);

/*
 * Feedback tests: a host's reusable checks, run against one backend so that the backend's CI
 * can run them. A check calls the function on `backend` (through backend_host_call) and
 * compares with what it expects, typically the cpu result; returns 0, or nonzero with why.
 */
struct backend_feedback_check {
  const char *function;
  int (*check)(backend_host *h, const char *backend, void *user, char *why, size_t why_len);
};

enum backend_feedback_status { BACKEND_FEEDBACK_PASSED, BACKEND_FEEDBACK_SKIPPED, BACKEND_FEEDBACK_FAILED };

struct backend_feedback_result {
  const char *function;
  enum backend_feedback_status status;
  char reason[256]; /* FAILED: why; SKIPPED: "not implemented" */
};

/*
 * Runs checks (terminated by function NULL) against backend (a name or alias): resolves it
 * through the daemon, skips the functions it does not implement, runs the others. results
 * has one entry per check. With report not NULL, writes a line per function
 * ("compute_score: PASSED", "summarize: SKIPPED (not implemented)", "normalize: FAILED: ...").
 * Returns the number of FAILED checks, or a negative error when the backend cannot be
 * resolved (BACKEND_ECALL, with the reason in the first result's reason) or the daemon is
 * unreachable.
 */
int backend_host_feedback(backend_host *h, const char *backend, const struct backend_feedback_check *checks,
                          void *user, struct backend_feedback_result *results, FILE *report);

#ifdef __cplusplus
}
#endif

#endif
