/*
 * Function signatures, shared by host declarations (<backend/host.h>) and backend adapters
 * (<backend/plugin.h>): parameter names, how each may be passed, and defaults, as in a
 * Python signature, so that the daemon can route a call by the rules of spec/backends.md.
 */
#ifndef BACKEND_PARAM_H
#define BACKEND_PARAM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a parameter may be passed, as in a Python signature. */
enum backend_param_kind {
  BACKEND_PARAM_POSITIONAL = 1,     /* positional or keyword: def f(data) */
  BACKEND_PARAM_KEYWORD_ONLY = 2,   /* after *: def f(*, method="fast") */
  BACKEND_PARAM_VAR_POSITIONAL = 3, /* *args: calls cannot be routed through these, so they are refused */
  BACKEND_PARAM_VAR_KEYWORD = 4,    /* **kwargs: takes any other keyword argument */
};

struct backend_param {
  const char *name;      /* a leading '_' marks it private: never shown in host docs */
  uint32_t kind;         /* enum backend_param_kind */
  /*
   * The default value as JSON text ("null", "\"fast\"", "4096", "false"), or NULL when the
   * parameter has no default (required).
   */
  const char *default_json;
};

#ifdef __cplusplus
}
#endif

#endif
