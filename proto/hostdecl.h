/*
 * The rules of a host declaration (doc/backends.md, "The host declaration") that both ends
 * check alike: the client library before it sends one (so a bad declaration fails in
 * backend_host_new), the daemon when it receives one or reads a declaration file.
 */
#ifndef BACKENDD_PROTO_HOSTDECL_H
#define BACKENDD_PROTO_HOSTDECL_H

#include <stdbool.h>
#include <stdint.h>

/* Backend names and aliases (spec/backends.md). */
#define HOSTDECL_BACKEND_NAME_MAX 128

/*
 * Caps on one declaration. A client chooses its size and the daemon parses, checks and looks
 * it up on its loop thread, so every part of it is bounded.
 */
#define HOSTDECL_MAX_FUNCTIONS 1024
#define HOSTDECL_MAX_TRUSTED 1024  /* trusted backends */
#define HOSTDECL_MAX_RESERVED 1024 /* reserved names */
/* Per trusted backend, each of: aliases, distributions, entrypoints, object_refs, module_prefixes. */
#define HOSTDECL_MAX_TRUST_LIST 256
/* Trusted names, their aliases and reserved names together: an unknown backend name is compared with each. */
#define HOSTDECL_MAX_BACKEND_NAMES 4096
/* The declaration encoded as MessagePack (host.declare), and a declaration file's JSON text. */
#define HOSTDECL_MAX_BYTES (4 * 1024 * 1024)

/*
 * A backend name or alias: 1 to 128 ASCII letters, digits, '.', '_', '-', starting with a
 * letter or digit, not ending with '.' or '-'. NULL when valid, else the rule broken (a
 * sentence naming "a backend name"). NULL is empty. "cpu" passes: where a name is declared,
 * the caller refuses it.
 */
const char *hostdecl_check_backend_name(const char *name);

/* A name a host or an adapter declares as a backend's (its own, a trusted one, an alias, a
 * reserved one): hostdecl_check_backend_name, and never "cpu", the host's own implementation. */
const char *hostdecl_check_declared_name(const char *name);

/*
 * Parameter order, as in a Python signature: positional parameters first, none without a
 * default after one with a default, then keyword-only ones (and **kwargs last, which each
 * side checks naming it). Zero it before a function's first parameter.
 */
struct hostdecl_order {
  bool keyword_only;       /* a keyword-only parameter came before */
  bool positional_default; /* a positional parameter with a default came before */
};

/* Whether a parameter of kind (enum backend_param_kind) may come next; NULL when it may, else
 * the rule broken. Records it in o. */
const char *hostdecl_check_order(struct hostdecl_order *o, uint32_t kind, bool has_default);

/* A function or parameter name: [A-Za-z_][A-Za-z0-9_]* (NULL is not). */
bool hostdecl_is_identifier(const char *s);

#endif
