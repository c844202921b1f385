/*
 * Calls into variant plugins, on worker threads: one call at a time per plugin (its lock),
 * loading the plugin first if needed, and checking every answer against the rules of the
 * variant plugin API before anyone uses it. Failures come back as a malloc'd message in
 * *why naming the plugin and the rule it broke.
 */
#ifndef BACKENDD_VCALL_H
#define BACKENDD_VCALL_H

#include <stddef.h>

#include "answers.h"
#include "plugins.h"
#include "vprop.h"

/* get_supported_configs: known/n_known NULL/0 for a static plugin. Returns 0 or -EINVAL/-ENOMEM. */
int vcall_supported_configs(struct plugin *p, const struct vprop *known, size_t n_known, struct vconfigs *out,
                            char **why);

/* validate_property: 1 valid, 0 invalid, or a negative error. */
int vcall_validate(struct plugin *p, const struct vprop *prop, char **why);

/* get_build_setup (none when the plugin has no such function): adds to *out in the plugin's order. */
int vcall_build_setup(struct plugin *p, const struct vprop *props, size_t n, variant_build_setup *out, char **why);

/* get_fingerprint: *out is a new string. */
int vcall_fingerprint(struct plugin *p, char **out, char **why);

#endif
