#define _GNU_SOURCE
#include "vcall.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/plugin.h"
#include "plugin_code.h"

#define FINGERPRINT_MAX 256

static int fail(char **why, int err, const struct plugin *p, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char **why, int err, const struct plugin *p, const char *fmt, ...) {
  char *detail = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&detail, fmt, ap) < 0)
    detail = NULL;
  va_end(ap);
  if (asprintf(why, "variant plugin %s (%s %s): %s", p->value, p->dist_name, p->dist_version,
               detail != NULL ? detail : "out of memory") < 0)
    *why = NULL;
  free(detail);
  return err;
}

/* Takes the plugin's lock and makes sure its code is loaded; on success the lock is held. */
static const struct variant_plugin *enter(struct plugin *p, void **self, char **why) {
  char reason[512];
  pthread_mutex_lock(&p->lock);
  if (plugin_code_load(p, reason, sizeof reason) < 0) {
    pthread_mutex_unlock(&p->lock);
    fail(why, -EIO, p, "cannot load: %s", reason);
    return NULL;
  }
  *self = p->code->instance;
  return p->code->descriptor;
}

static void leave(struct plugin *p) { pthread_mutex_unlock(&p->lock); }

/* The plugin's view of properties: pointers into ours, valid during the call. */
static struct variant_property *plugin_props(const struct vprop *props, size_t n) {
  struct variant_property *out = calloc(n ? n : 1, sizeof *out);
  for (size_t i = 0; out != NULL && i < n; i++)
    out[i] = (struct variant_property){props[i].ns, props[i].feature, props[i].value};
  return out;
}

/* Checks one feature of an answer and moves it into f. */
static int take_feature(struct plugin *p, struct variant_feature_answer *a, struct vfeature *f, char **why) {
  const char *bad;
  if ((bad = vprop_check_name(a->name)) != NULL)
    return fail(why, -EINVAL, p, "get_supported_configs answered feature '%s': %s", a->name, bad);
  if (a->values.n == 0)
    return fail(why, -EINVAL, p, "get_supported_configs answered feature '%s' with no value (at least one is needed)",
                a->name);
  for (size_t i = 0; i < a->values.n; i++) {
    if ((bad = vprop_check_value(a->values.items[i])) != NULL)
      return fail(why, -EINVAL, p, "get_supported_configs answered %s :: %s: %s", a->name, a->values.items[i], bad);
    for (size_t j = 0; j < i; j++)
      if (strcmp(a->values.items[j], a->values.items[i]) == 0)
        return fail(why, -EINVAL, p, "get_supported_configs answered value '%s' of feature '%s' twice",
                    a->values.items[i], a->name);
  }
  f->name = a->name;
  f->values = a->values.items;
  f->n_values = a->values.n;
  a->name = NULL;
  memset(&a->values, 0, sizeof a->values);
  return 0;
}

static int take_configs(struct plugin *p, variant_configs *c, struct vconfigs *out, char **why) {
  int err = 0;
  if (c->misuse)
    return fail(why, -EINVAL, p, "get_supported_configs added a value before any feature");
  for (size_t i = 0; i < c->n; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(c->features[i].name, c->features[j].name) == 0)
        return fail(why, -EINVAL, p, "get_supported_configs answered feature '%s' twice", c->features[i].name);
  out->ns = strdup(p->scan->info.ns);
  out->features = calloc(c->n ? c->n : 1, sizeof *out->features);
  if (out->ns == NULL || out->features == NULL)
    err = -ENOMEM;
  for (size_t i = 0; err == 0 && i < c->n; i++)
    if ((err = take_feature(p, &c->features[i], &out->features[i], why)) == 0)
      out->n_features++;
  if (err < 0)
    vconfigs_free(out);
  return err;
}

int vcall_supported_configs(struct plugin *p, const struct vprop *known, size_t n_known, struct vconfigs *out,
                            char **why) {
  struct variant_property *props = plugin_props(known, n_known);
  const struct variant_plugin *v;
  variant_configs c;
  void *self;
  int r;
  memset(out, 0, sizeof *out);
  if (props == NULL)
    return -ENOMEM;
  if ((v = enter(p, &self, why)) == NULL) {
    free(props);
    return -EIO;
  }
  variant_configs_init(&c);
  r = v->get_supported_configs(self, known != NULL ? props : NULL, n_known, &c);
  leave(p);
  if (r < 0)
    r = fail(why, -EIO, p, "get_supported_configs failed (%d)%s%s", r, c.error ? ": " : "", c.error ? c.error : "");
  else
    r = take_configs(p, &c, out, why);
  variant_configs_clear(&c);
  free(props);
  return r;
}

int vcall_validate(struct plugin *p, const struct vprop *prop, char **why) {
  struct variant_property vp = {prop->ns, prop->feature, prop->value};
  const struct variant_plugin *v;
  void *self;
  int r;
  if ((v = enter(p, &self, why)) == NULL)
    return -EIO;
  r = v->validate_property(self, &vp);
  leave(p);
  if (r < 0)
    return fail(why, -EIO, p, "validate_property failed (%d)", r);
  return r > 0;
}

static int check_variable(const char *name) {
  if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
    return 0;
  for (; *name != '\0'; name++)
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || (*name >= '0' && *name <= '9') ||
          *name == '_'))
      return 0;
  return 1;
}

int vcall_build_setup(struct plugin *p, const struct vprop *props, size_t n, variant_build_setup *out, char **why) {
  struct variant_property *vps;
  const struct variant_plugin *v;
  size_t before = out->n;
  void *self;
  int r;
  if (!p->scan->info.has_build_setup)
    return 0;
  if ((vps = plugin_props(props, n)) == NULL)
    return -ENOMEM;
  if ((v = enter(p, &self, why)) == NULL) {
    free(vps);
    return -EIO;
  }
  r = v->get_build_setup(self, vps, n, out);
  leave(p);
  free(vps);
  if (r < 0)
    return fail(why, -EIO, p, "get_build_setup failed (%d)", r);
  for (size_t i = before; i < out->n; i++)
    if (!check_variable(out->vars[i].name))
      return fail(why, -EINVAL, p, "get_build_setup answered variable '%s': names are [A-Za-z_][A-Za-z0-9_]*",
                  out->vars[i].name);
  return 0;
}

int vcall_fingerprint(struct plugin *p, char **out, char **why) {
  char buf[FINGERPRINT_MAX] = "";
  const struct variant_plugin *v;
  void *self;
  int r;
  if ((v = enter(p, &self, why)) == NULL)
    return -EIO;
  r = v->get_fingerprint(self, buf, sizeof buf);
  leave(p);
  if (r < 0)
    return fail(why, -EIO, p, "get_fingerprint failed (%d)", r);
  if (memchr(buf, '\0', sizeof buf) == NULL)
    return fail(why, -EINVAL, p, "get_fingerprint wrote no NUL-terminated string within %d bytes", FINGERPRINT_MAX);
  return (*out = strdup(buf)) != NULL ? 0 : -ENOMEM;
}
