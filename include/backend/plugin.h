/*
 * backendd plugin ABI: how a native plugin describes itself to the daemon.
 *
 * Two kinds of plugin, each a static descriptor exported by a shared object:
 *
 *   - a backend adapter (struct backend_adapter) provides alternative implementations of
 *     a host library's functions. Registered under the entry-point group "<host>.backends".
 *   - a variant provider plugin (struct variant_plugin) says which variant properties
 *     ("namespace :: feature :: value") this machine supports. Group "variant_plugins".
 *
 * Installing: a distribution directory "<name>-<version>.dist-info/" holding METADATA
 * (Name, Version) and entry_points.txt, next to the shared objects, in a directory on the
 * daemon's plugin search path; see backendd-plugins(7) / doc/plugins.md.
 *
 * An entry point's value is an object reference:
 *   "pkg.module"        module entry point (preferred): the shared object pkg/module.so
 *                       exporting the descriptor under the default symbol name
 *                       (BACKEND_ADAPTER_SYMBOL or VARIANT_PLUGIN_SYMBOL);
 *   "pkg.module:attr"   object entry point: the descriptor is the exported symbol "attr".
 *
 * Loading: the daemon first reads descriptors in a separate scanner process, so a plugin
 * that crashes or hangs while loading is recorded as failed and the daemon lives on. Keep
 * constructors and the descriptor cheap: do expensive work in create() or in functions.
 *
 * Memory: descriptors are static data owned by the plugin. Everything the daemon passes
 * in is owned by the daemon and valid only during the call. Answers are built through the
 * SDK calls below (libbackend-plugin, pkg-config "backend-plugin"), which copy what they
 * are given, so a plugin may pass stack buffers and never frees what the daemon keeps.
 *
 * Threads: variant plugin functions are called one at a time per plugin instance.
 * Backend functions are called concurrently only when the adapter sets
 * BACKEND_ADAPTER_THREAD_SAFE; otherwise the daemon serialises them.
 */
#ifndef BACKEND_PLUGIN_H
#define BACKEND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include <backend/param.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. The daemon refuses descriptors of another version. */
#define BACKEND_PLUGIN_ABI_VERSION 1u

/* First field of every descriptor: what it is, so a wrong symbol is refused, not run. */
#define BACKEND_ADAPTER_MAGIC 0x42414441u /* "BADA" */
#define VARIANT_PLUGIN_MAGIC 0x56415250u  /* "VARP" */
#define BACKEND_LIST_MAGIC 0x4c495354u    /* "LIST" */

/* Symbols looked up for module entry points ("pkg.module" without ":attr"). */
#define BACKEND_ADAPTER_SYMBOL "backend_adapter"
#define VARIANT_PLUGIN_SYMBOL "variant_plugin"

/* Exports a descriptor from the shared object (plugins are often built with hidden visibility). */
#define BACKEND_PLUGIN_EXPORT __attribute__((visibility("default")))

/*
 * A list of strings. Always written with BACKEND_LIST("a", "b"): the magic number lets the
 * loader tell a list from a scalar string, which the spec forbids for aliases because
 * "cuda" would read as the aliases "c", "u", "d", "a".
 */
struct backend_str_list {
  uint32_t magic; /* BACKEND_LIST_MAGIC */
  uint32_t count;
  const char *const *items;
};
/* At least one item; use NULL for an empty list. */
#define BACKEND_LIST(...)                                                                          \
  (&(const struct backend_str_list){BACKEND_LIST_MAGIC,                                            \
                                    sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), \
                                    (const char *const[]){__VA_ARGS__}})

/* ------------------------------------------------------------------------------------------
 * Backend adapters
 */

/*
 * One call of a backend function: its arguments in, its result out, through the
 * backend_call_* SDK calls below. Opaque; valid only until the function returns.
 */
typedef struct backend_call backend_call;

/*
 * A backend function. Reads its arguments with backend_call_arg, packs its result into
 * backend_call_result, and returns:
 *   0                               success (nothing packed: the result is nil);
 *   BACKEND_CALL_NOT_IMPLEMENTED    it does not handle these arguments (say why with
 *                                   backend_call_not_implemented): the host's own
 *                                   implementation runs instead, and the result says why;
 *   another negative value          failure (say why with backend_call_fail): the caller
 *                                   gets Backend.CallFailed with that message, no fallback.
 * Runs on a daemon worker thread, never on the daemon's I/O thread.
 */
typedef int (*backend_impl)(void *self, backend_call *call);

/* What backend_call_not_implemented returns, for `return backend_call_not_implemented(...)`. */
#define BACKEND_CALL_NOT_IMPLEMENTED (-38) /* -ENOSYS */

struct backend_function {
  const char *name;                   /* the host function it implements */
  const struct backend_param *params; /* terminated by an entry whose name is NULL */
  const char *doc;                    /* numpydoc text */
  /* The implementation, or NULL to resolve it lazily (below) on first call. */
  backend_impl impl;
  /*
   * Lazy resolution, so that reading the adapter loads no heavy runtime: the shared object
   * lazy_library (a path relative to the adapter's own directory) is loaded on the first
   * call, and lazy_symbol (default: name) is looked up in it.
   */
  const char *lazy_library;
  const char *lazy_symbol;
};

/* Adapter flags. */
#define BACKEND_ADAPTER_THREAD_SAFE 0x1u /* functions may run concurrently */

struct backend_adapter {
  uint32_t magic;       /* BACKEND_ADAPTER_MAGIC */
  uint32_t abi_version; /* BACKEND_PLUGIN_ABI_VERSION */
  /*
   * Canonical backend name and aliases: ASCII letters, digits, '.', '_', '-'; starting with
   * a letter or digit; not ending with '.' or '-'; at most 128 characters. "cpu" is always
   * reserved for the host's own implementation; prefer concrete aliases ("cuda", "jax").
   */
  const char *name;
  const struct backend_str_list *aliases;    /* BACKEND_LIST("mine", "cuda"), or NULL */
  const struct backend_function *functions;  /* terminated by an entry whose name is NULL */
  uint32_t flags;                            /* BACKEND_ADAPTER_* */
  /* Optional instance state (the spec's object entry points): created once, destroyed at unload. */
  void *(*create)(void);
  void (*destroy)(void *self);
};

/* ------------------------------------------------------------------------------------------
 * Variant provider plugins
 */

/* One "namespace :: feature :: value". Namespace and feature: [a-z0-9_]+. */
struct variant_property {
  const char *ns; /* namespace */
  const char *feature;
  const char *value;
};

/* Opaque answer builders, filled through the SDK calls below. */
typedef struct variant_configs variant_configs;
typedef struct variant_build_setup variant_build_setup;

struct variant_plugin {
  uint32_t magic;       /* VARIANT_PLUGIN_MAGIC */
  uint32_t abi_version; /* BACKEND_PLUGIN_ABI_VERSION */
  const char *ns;       /* the plugin's namespace: [a-z0-9_]+ */
  /*
   * 0: static, the supported configs depend only on the plugin version and the machine, so
   * the daemon caches them. 1: dynamic, they depend on the properties of the package being
   * installed, so they are asked for each package.
   */
  int dynamic;
  void *(*create)(void);       /* optional instance state: created once */
  void (*destroy)(void *self); /* optional: at unload */
  /*
   * Required. Adds, for every feature this machine supports, its supported values, most
   * preferred first (variant_configs_add_feature / variant_configs_add_value). known/n_known:
   * NULL/0 for a static plugin; for a dynamic one, the properties of this plugin's namespace
   * that the package being installed uses — answer a subset of them (more is allowed).
   * Returns 0, or a negative value on failure (variant_configs_fail says why).
   */
  int (*get_supported_configs)(void *self, const struct variant_property *known, size_t n_known,
                               variant_configs *out);
  /* Required. 1 when the property (always of this namespace) is valid, 0 when not, <0 on error. */
  int (*validate_property)(void *self, const struct variant_property *property);
  /*
   * Optional (NULL: no variables). Build variables for a variant made of these properties of
   * this namespace, through variant_build_setup_add. Returns 0 or a negative value.
   */
  int (*get_build_setup)(void *self, const struct variant_property *properties, size_t n,
                         variant_build_setup *out);
  /*
   * Optional. A short text that changes when the system configuration this plugin's answer
   * depends on changes (a driver version, say): the daemon's cache is keyed by it, besides
   * the plugin's version and file. Writes a NUL-terminated string of at most len bytes;
   * returns 0 or a negative value.
   */
  int (*get_fingerprint)(void *self, char *buf, size_t len);
};

/* ------------------------------------------------------------------------------------------
 * SDK: building answers. Each returns 0 or a negative errno value (-EINVAL, -ENOMEM).
 * Strings are copied. The daemon checks every answer against the spec's rules before it
 * uses or caches it; an answer that breaks one is recorded as the plugin's error.
 */

/* Starts a feature (name: [a-z0-9_]+) whose values follow, most preferred first. */
int variant_configs_add_feature(variant_configs *out, const char *feature);
/* Adds a value to the feature started last. */
int variant_configs_add_value(variant_configs *out, const char *value);
/* Records why get_supported_configs failed (its return value must then be negative). */
int variant_configs_fail(variant_configs *out, const char *message);

/* Adds one value to a build variable (variables are lists of strings, in order). */
int variant_build_setup_add(variant_build_setup *out, const char *variable, const char *value);

/* ------------------------------------------------------------------------------------------
 * SDK: one call of a backend function (backend_impl). Arguments are msgpack-c objects;
 * numeric arrays are <backend/ndarray.h> values.
 */

/*
 * The argument for parameter `name`: the value the caller passed (after the host's routing
 * rules: shared parameters the caller passed and backend-only ones), else this function's
 * own default (default_json), else NULL. Positional arguments are bound to this function's
 * parameters by name, so a function never needs to know how an argument was passed.
 */
const msgpack_object *backend_call_arg(const backend_call *call, const char *name);

/* Where the result goes: pack exactly one value (an ndarray with backend_ndarray_pack, ...). */
msgpack_packer *backend_call_result(backend_call *call);

/* Records why the call failed (printf-style); returns -EIO for `return backend_call_fail(...)`. */
int backend_call_fail(backend_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Says this function does not handle these arguments (printf-style reason, e.g. "method
 * 'exact' needs float64"); returns BACKEND_CALL_NOT_IMPLEMENTED. The host's implementation
 * then runs, and the result names the reason.
 */
int backend_call_not_implemented(backend_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds a warning to the result the caller gets (printf-style). Returns 0 or -ENOMEM. */
int backend_call_warn(backend_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
