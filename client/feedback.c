/*
 * Feedback tests (backend_host_feedback): a host's checks run against one backend, resolved
 * through backend.list, skipping the functions it does not implement.
 */
#include "host-private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "message.h"

/* backend.list is cheap (no backend code is loaded); this only bounds a stuck daemon. */
#define LIST_TIMEOUT_MS 60000

#define REASON_LEN sizeof(((struct backend_feedback_result *)0)->reason)

/* The backend the checks run against: its canonical name and the functions it implements. */
struct target {
  char name[HOSTDECL_BACKEND_NAME_MAX + 1];
  const msgpack_object *functions; /* NULL: all of them (cpu) */
  backend_reply *list;             /* owns functions */
};

static bool names_backend(const msgpack_object *b, const char *name) {
  const msgpack_object *aliases = proto_map_get(b, "aliases");

  if (proto_str_eq(proto_map_get(b, "name"), name))
    return true;
  for (uint32_t i = 0; aliases && aliases->type == MSGPACK_OBJECT_ARRAY && i < aliases->via.array.size; i++)
    if (proto_str_eq(&aliases->via.array.ptr[i], name))
      return true;
  return false;
}

/* The entry of list[key] (backends or refused) that name or one of its aliases names, or NULL. */
static const msgpack_object *find_backend(const msgpack_object *list, const char *key, const char *name) {
  const msgpack_object *a = proto_map_get(list, key);

  for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++)
    if (names_backend(&a->via.array.ptr[i], name))
      return &a->via.array.ptr[i];
  return NULL;
}

static int str_prec(const msgpack_object *o) {
  return o && o->type == MSGPACK_OBJECT_STR ? (int)(o->via.str.size > 200 ? 200 : o->via.str.size) : 0;
}

static const char *str_ptr(const msgpack_object *o) {
  return o && o->type == MSGPACK_OBJECT_STR && o->via.str.ptr ? o->via.str.ptr : "";
}

/* Why the backend named is not usable, from the answer. BACKEND_ECALL. */
static int not_found(const backend_host *h, const msgpack_object *list, const char *name, char *reason) {
  const msgpack_object *refused = find_backend(list, "refused", name);

  if (refused) {
    const msgpack_object *why = proto_map_get(refused, "reason");
    snprintf(reason, REASON_LEN, "%s's backend '%s' is refused: %.*s", h->name, name, str_prec(why), str_ptr(why));
  } else {
    snprintf(reason, REASON_LEN, "%s has no backend '%s'", h->name, name);
  }
  return BACKEND_ECALL;
}

/* Resolves name (or alias) through the daemon; on failure, the reason. */
static int resolve(backend_host *h, const char *name, struct target *t, char *reason) {
  const msgpack_object *b, *canonical;
  int err;

  if (strcmp(name, HOST_CPU) == 0) { /* the host itself: implements everything, no daemon */
    strcpy(t->name, HOST_CPU);
    return 0;
  }
  err = backend_host_list(h, LIST_TIMEOUT_MS, &t->list);
  if (err == BACKEND_EREMOTE) {
    snprintf(reason, REASON_LEN, "%s", t->list->error_message);
    return BACKEND_ECALL;
  }
  if (err) {
    snprintf(reason, REASON_LEN, "cannot list %s's backends: %s", h->name, backend_strerror(err));
    return err;
  }
  if (!(b = find_backend(&t->list->result, "backends", name)))
    return not_found(h, &t->list->result, name, reason);
  canonical = proto_map_get(b, "name");
  if (!canonical || canonical->type != MSGPACK_OBJECT_STR || canonical->via.str.size > HOSTDECL_BACKEND_NAME_MAX) {
    snprintf(reason, REASON_LEN, "invalid backend.list answer from the daemon");
    return BACKEND_EPROTO;
  }
  memcpy(t->name, str_ptr(canonical), canonical->via.str.size);
  t->name[canonical->via.str.size] = '\0';
  t->functions = proto_map_get(b, "functions");
  return 0;
}

static bool implements(const struct target *t, const char *function) {
  const msgpack_object *f = t->functions;

  if (strcmp(t->name, HOST_CPU) == 0)
    return true;
  for (uint32_t i = 0; f && f->type == MSGPACK_OBJECT_ARRAY && i < f->via.array.size; i++)
    if (proto_str_eq(&f->via.array.ptr[i], function))
      return true;
  return false;
}

static void run_check(backend_host *h, const struct target *t, const struct backend_feedback_check *c, void *user,
                      struct backend_feedback_result *r) {
  int rc;

  r->reason[0] = '\0';
  if (!implements(t, c->function)) {
    r->status = BACKEND_FEEDBACK_SKIPPED;
    snprintf(r->reason, sizeof r->reason, "not implemented");
    return;
  }
  rc = c->check ? c->check(h, t->name, user, r->reason, sizeof r->reason) : -1;
  r->status = rc == 0 ? BACKEND_FEEDBACK_PASSED : BACKEND_FEEDBACK_FAILED;
  if (rc == 0)
    r->reason[0] = '\0';
  else if (!c->check)
    snprintf(r->reason, sizeof r->reason, "no check function");
  else if (!r->reason[0])
    snprintf(r->reason, sizeof r->reason, "the check returned %d", rc);
}

static void report_line(FILE *f, const struct backend_feedback_result *r) {
  if (!f)
    return;
  if (r->status == BACKEND_FEEDBACK_PASSED)
    fprintf(f, "%s: PASSED\n", r->function);
  else if (r->status == BACKEND_FEEDBACK_SKIPPED)
    fprintf(f, "%s: SKIPPED (%s)\n", r->function, r->reason);
  else
    fprintf(f, "%s: FAILED: %s\n", r->function, r->reason);
}

BACKEND_EXPORT int backend_host_feedback(backend_host *h, const char *backend, const struct backend_feedback_check *checks,
                                         void *user, struct backend_feedback_result *results, FILE *report) {
  struct target t = {.list = NULL};
  char reason[REASON_LEN] = "";
  size_t n = 0;
  int err, failed = 0;

  if (!h || !backend || !checks || !results)
    return BACKEND_EINVAL;
  while (checks[n].function)
    n++;
  for (size_t i = 0; i < n; i++)
    results[i] = (struct backend_feedback_result){.function = checks[i].function, .status = BACKEND_FEEDBACK_SKIPPED};
  if ((err = resolve(h, backend, &t, reason)) != 0) {
    /* Every check is FAILED with the reason, so that none reads as passed or skipped. */
    for (size_t i = 0; i < n; i++) {
      results[i].status = BACKEND_FEEDBACK_FAILED;
      memcpy(results[i].reason, reason, sizeof reason);
    }
    if (report)
      fprintf(report, "%s: cannot run the checks against '%s': %s\n", h->name, backend, reason);
    backend_reply_free(t.list);
    return err;
  }
  for (size_t i = 0; i < n; i++) {
    run_check(h, &t, &checks[i], user, &results[i]);
    failed += results[i].status == BACKEND_FEEDBACK_FAILED;
    report_line(report, &results[i]);
  }
  backend_reply_free(t.list);
  return failed;
}
