/*
 * The functions of example_accel's implementation library (_backends/example_host_impl.so),
 * which the adapter names as lazy symbols: the daemon loads the library on the first call.
 */
#ifndef EXAMPLE_ACCEL_IMPL_H
#define EXAMPLE_ACCEL_IMPL_H

#include <backend/plugin.h>

BACKEND_PLUGIN_EXPORT int example_accel_compute_score(void *self, backend_call *call);
BACKEND_PLUGIN_EXPORT int example_accel_normalize(void *self, backend_call *call);

#endif
