/*
 * The host's own implementations of its functions (backend_host_impl): what runs for the
 * "cpu" backend and whenever a backend falls back. Arguments arrive bound by name.
 */
#ifndef EXAMPLE_HOST_CPU_H
#define EXAMPLE_HOST_CPU_H

#include <stddef.h>

#include <backend/host.h>

int eh_cpu_compute_score(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t why_len);
int eh_cpu_normalize(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t why_len);
int eh_cpu_summarize(void *user, const backend_args *a, msgpack_packer *out, char *why, size_t why_len);

#endif
