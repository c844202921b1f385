#define _GNU_SOURCE
#include "reload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"
#include "message.h"

#define N_KINDS 4
static const char *const kind_names[N_KINDS] = {"added", "removed", "changed", "failed"};

struct hook {
  const char *name;
  reload_hook fn;
  void *data;
};

struct waiter {
  reload_done_cb cb;
  void *arg;
  struct waiter *next;
};

struct reload_pass {
  struct daemon *d;
  size_t next_hook;
  struct waiter *waiters;
  char **notes[N_KINDS];
  size_t n_notes[N_KINDS];
};

struct reload {
  struct hook *hooks;
  size_t n_hooks;
  struct reload_pass *running;
  struct waiter *queued; /* served by the pass after the running one */
  bool pending;          /* a pass is wanted after the running one */
  reload_begin_cb observe_begin;
  reload_done_cb observe_end;
  void *observe_arg;
};

int reload_init(struct daemon *d) {
  d->reload = calloc(1, sizeof *d->reload);
  return d->reload != NULL ? 0 : -ENOMEM;
}

static void free_waiters(struct waiter *w) {
  while (w != NULL) {
    struct waiter *next = w->next;
    free(w);
    w = next;
  }
}

static void free_pass(struct reload_pass *p) {
  for (int k = 0; k < N_KINDS; k++) {
    for (size_t i = 0; i < p->n_notes[k]; i++)
      free(p->notes[k][i]);
    free(p->notes[k]);
  }
  free_waiters(p->waiters);
  free(p);
}

void reload_free(struct daemon *d) {
  struct reload *r = d->reload;
  if (r == NULL)
    return;
  if (r->running != NULL)
    free_pass(r->running);
  free_waiters(r->queued);
  free(r->hooks);
  free(r);
  d->reload = NULL;
}

int reload_register(struct daemon *d, const char *name, reload_hook fn, void *data) {
  struct reload *r = d->reload;
  struct hook *grown = realloc(r->hooks, (r->n_hooks + 1) * sizeof *grown);
  if (grown == NULL)
    return -ENOMEM;
  grown[r->n_hooks++] = (struct hook){name, fn, data};
  r->hooks = grown;
  return 0;
}

void reload_note(struct reload_pass *p, enum reload_change kind, const char *fmt, ...) {
  char *text, **grown;
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vasprintf(&text, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  log_msg(kind == RELOAD_FAILED ? LOG_WARNING : LOG_NOTICE, "reload: %s: %s", kind_names[kind], text);
  grown = realloc(p->notes[kind], (p->n_notes[kind] + 1) * sizeof *grown);
  if (grown == NULL) {
    free(text);
    return;
  }
  grown[p->n_notes[kind]++] = text;
  p->notes[kind] = grown;
}

void reload_pack_report(const struct reload_pass *p, msgpack_packer *pk) {
  msgpack_pack_map(pk, N_KINDS);
  for (int k = 0; k < N_KINDS; k++) {
    proto_pack_cstr(pk, kind_names[k]);
    msgpack_pack_array(pk, (uint32_t)p->n_notes[k]);
    for (size_t i = 0; i < p->n_notes[k]; i++)
      proto_pack_cstr(pk, p->notes[k][i]);
  }
}

static int begin_pass(struct daemon *d);

static void finish_pass(struct reload_pass *p) {
  struct daemon *d = p->d;
  struct reload *r = d->reload;
  size_t total = 0;
  for (int k = 0; k < N_KINDS; k++)
    total += p->n_notes[k];
  d->stats.reloads++;
  log_notice("reload done: %zu added, %zu removed, %zu changed, %zu failed%s", p->n_notes[RELOAD_ADDED],
             p->n_notes[RELOAD_REMOVED], p->n_notes[RELOAD_CHANGED], p->n_notes[RELOAD_FAILED],
             total == 0 ? " (nothing changed)" : "");
  r->running = NULL;
  if (r->observe_end != NULL)
    r->observe_end(p, r->observe_arg);
  for (struct waiter *w = p->waiters; w != NULL; w = w->next)
    if (w->cb != NULL)
      w->cb(p, w->arg);
  free_pass(p);
  if (r->pending && begin_pass(d) < 0)
    log_error("cannot start the next reload: out of memory");
}

/* Runs hooks in order; each continues the chain through reload_hook_done. */
void reload_hook_done(struct reload_pass *p) {
  struct reload *r = p->d->reload;
  if (p->next_hook < r->n_hooks) {
    struct hook *h = &r->hooks[p->next_hook++];
    log_debug("reload: running %s", h->name);
    h->fn(p, h->data);
    return;
  }
  finish_pass(p);
}

static int begin_pass(struct daemon *d) {
  struct reload *r = d->reload;
  struct reload_pass *p = calloc(1, sizeof *p);
  if (p == NULL)
    return -ENOMEM;
  p->d = d;
  p->waiters = r->queued;
  r->queued = NULL;
  r->pending = false;
  r->running = p;
  if (r->observe_begin != NULL)
    r->observe_begin(d, r->observe_arg);
  reload_hook_done(p);
  return 0;
}

void reload_observe(struct daemon *d, reload_begin_cb begin, reload_done_cb end, void *arg) {
  struct reload *r = d->reload;
  r->observe_begin = begin;
  r->observe_end = end;
  r->observe_arg = arg;
}

int reload_start(struct daemon *d, reload_done_cb cb, void *arg) {
  struct reload *r = d->reload;
  struct waiter *w = calloc(1, sizeof *w);
  if (w == NULL)
    return -ENOMEM;
  w->cb = cb;
  w->arg = arg;
  w->next = r->queued;
  r->queued = w;
  if (r->running != NULL) {
    r->pending = true;
    return 0;
  }
  return begin_pass(d);
}
