/*
 * backend.describe (doc/backends.md "Docs", spec/backends.md "Function signatures"): a host
 * function's signature and numpydoc with the public backend-only parameters of the backends
 * implementing it merged in.
 *
 * A backend-only parameter is a parameter of a provider's function whose name is not one of
 * the host function's parameters, whose kind is BACKEND_PARAM_POSITIONAL or
 * BACKEND_PARAM_KEYWORD_ONLY (*args and **kwargs are never merged), and whose name does not
 * start with '_' (private parameters are never shown). Several providers with the same
 * backend-only parameter give one entry: its providers are listed "a, b" in provider order,
 * its default is the first provider's, and its doc text the first provider's that has some.
 * Backend-only parameters are ordered by first appearance (providers in order, each
 * function's parameters in order). Host parameters starting with '_' are left out too.
 *
 * Everything here is deterministic: the same input gives the same bytes.
 */
#ifndef BACKENDD_DESCRIBE_H
#define BACKENDD_DESCRIBE_H

#include <stddef.h>

#include <msgpack.h>

#include "host.h"
#include "plugin_info.h"

struct describe_provider {
  const char *backend;              /* canonical backend name */
  const struct plugin_function *fn; /* its implementation of the function */
};

/*
 * Packs the describe result, a map
 *   {host: str, function: str, signature: str, doc: str,
 *    parameters: [{name: str, kind: str, default: str | nil, provider: str}]}
 * signature and doc as describe_signature() and describe_doc() give them. parameters are in
 * signature order: the host's public parameters (except **kwargs), the backend-only ones,
 * then the host's **kwargs. kind is "positional", "keyword_only", "var_positional" or
 * "var_keyword" (backend-only parameters are "keyword_only", as merged); default is the
 * Python repr of the default, nil when required (and for *args and **kwargs); provider is "host",
 * or the backend names ("a, b") of a backend-only parameter.
 * providers are sorted by backend name (the caller sorts). Returns 0, or -ENOMEM (the packer's
 * writer failing counts as out of memory).
 */
int describe_pack(msgpack_packer *pk, const struct host *h, const struct host_function *hf,
                  const struct describe_provider *providers, size_t n);

/*
 * The merged Python-style signature:
 *   compute_score(data, *, method='fast', n_jobs=None, copy=False, batch_size=None)
 * host parameters in order (with "*" before the first keyword-only one unless there is an
 * *args, "*args" for var-positional), the backend-only parameters appended as keyword-only
 * ("name=repr", or just "name" without a default), and the host's "**kwargs" last. Defaults are
 * rendered with sig_value_repr(); a backend's default_json goes through JSON -> msgpack first.
 * Returns a new string, or NULL when out of memory.
 */
char *describe_signature(const struct host_function *hf, const struct describe_provider *p, size_t n);

/*
 * The merged numpydoc: the host's doc with the backend-only parameters as entries
 *   batch_size (example_accel)
 *       Backend batch size.
 * under "Other Parameters": appended to the host's section when it has one; otherwise a new
 * section inserted before the first section that numpydoc puts after "Other Parameters"
 * (Raises, Warns, Warnings, See Also, Notes, References, Examples), or appended at the end.
 * An entry's text comes from the provider function's doc, its "Parameters" section (else its
 * "Other Parameters" section): the lines indented under the entry line "name" or
 * "name : type", re-indented by 4 spaces; no text found gives an entry line alone. Sections
 * are a title line over a line of at least as many dashes, at the same indentation (titles
 * compare case-insensitively); a docstring's common indentation is kept and followed.
 * The result ends with exactly one newline ("" when the host doc is empty and nothing is
 * added). Returns a new string, or NULL when out of memory.
 */
char *describe_doc(const struct host_function *hf, const struct describe_provider *p, size_t n);

#endif
