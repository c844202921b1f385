/*
 * backendd with extra methods for integration tests, registered the way later modules
 * register theirs:
 *   test.sleep {ms}    answers {slept: ms} after ms milliseconds (an in-flight request);
 *                      cancelled (timer stopped) when its client disconnects first.
 *   test.echo {value}  answers value.
 *   test.plugin_hold {group, name, ms}
 *                      loads the plugin, holds it for ms, then answers what its loaded code
 *                      says ({version, says}: the dist version and the adapter's name or the
 *                      variant namespace, read from the shared object's own memory) — so a
 *                      reload during the hold shows which code an in-flight call runs on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/plugin.h"
#include "daemon.h"
#include "errors.h"
#include "message.h"
#include "plugin_code.h"
#include "plugins.h"
#include "request.h"
#include "router.h"

struct sleeper {
  uv_timer_t timer;
  struct request *req;
  uint64_t ms;
};

static void on_sleeper_closed(uv_handle_t *h) { free(h->data); }

static void on_wake(uv_timer_t *t) {
  struct sleeper *s = t->data;
  struct request *req = s->req;
  msgpack_packer *pk = request_reply_begin(req);
  msgpack_pack_map(pk, 1);
  msgpack_pack_str_with_body(pk, "slept", 5);
  msgpack_pack_uint64(pk, s->ms);
  request_reply_end(req);
  uv_close((uv_handle_t *)t, on_sleeper_closed);
}

static void cancel_sleep(struct request *req) {
  struct sleeper *s = req->data;
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, on_sleeper_closed);
  request_reply_end(req); /* the client is gone: this only frees the request */
}

static void test_sleep(struct request *req) {
  const msgpack_object *ms = request_param(req, "ms");
  struct sleeper *s = calloc(1, sizeof *s);
  if (s == NULL || ms->type != MSGPACK_OBJECT_POSITIVE_INTEGER || ms->via.u64 > 600000) {
    free(s);
    request_fail(req, PROTO_CODE_INVALID_PARAMS, "ms must be between 0 and 600000");
    return;
  }
  uv_timer_init(req->daemon->loop, &s->timer);
  s->timer.data = s;
  s->req = req;
  req->data = s;
  req->cancel = cancel_sleep;
  s->ms = ms->via.u64;
  uv_timer_start(&s->timer, on_wake, ms->via.u64, 0);
}

static void test_echo(struct request *req) {
  const msgpack_object *v = request_param(req, "value");
  msgpack_packer *pk = request_reply_begin(req);
  if (v != NULL)
    msgpack_pack_object(pk, *v);
  else
    msgpack_pack_nil(pk);
  request_reply_end(req);
}

struct hold {
  uv_timer_t timer;
  struct request *req;
  struct plugin *plugin;
};

static void on_hold_closed(uv_handle_t *h) {
  struct hold *hold = h->data;
  plugin_unref(hold->plugin);
  free(hold);
}

static void on_hold_over(uv_timer_t *t) {
  struct hold *hold = t->data;
  struct plugin *p = hold->plugin;
  const char *says = p->kind == PLUGIN_BACKEND ? ((const struct backend_adapter *)p->code->descriptor)->name
                                               : ((const struct variant_plugin *)p->code->descriptor)->ns;
  msgpack_packer *pk = request_reply_begin(hold->req);
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "version");
  proto_pack_cstr(pk, p->dist_version);
  proto_pack_cstr(pk, "says");
  proto_pack_cstr(pk, says);
  request_reply_end(hold->req);
  uv_close((uv_handle_t *)t, on_hold_closed);
}

static void test_plugin_hold(struct request *req) {
  const msgpack_object *group = request_param(req, "group"), *name = request_param(req, "name"),
                       *ms = request_param(req, "ms");
  char g[256], n[256], why[512];
  struct plugin *p;
  struct hold *hold;
  int err;
  snprintf(g, sizeof g, "%.*s", (int)group->via.str.size, group->via.str.ptr);
  snprintf(n, sizeof n, "%.*s", (int)name->via.str.size, name->via.str.ptr);
  if ((p = plugins_find(req->daemon, g, n)) == NULL) {
    request_fail(req, "Test.NoPlugin", "no entry point %s: %s", g, n);
    return;
  }
  pthread_mutex_lock(&p->lock);
  err = plugin_code_load(p, why, sizeof why);
  pthread_mutex_unlock(&p->lock);
  if (err < 0) {
    request_fail(req, "Test.LoadFailed", "%s", why);
    return;
  }
  if ((hold = calloc(1, sizeof *hold)) == NULL) {
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory");
    return;
  }
  plugin_ref(p);
  hold->plugin = p;
  hold->req = req;
  uv_timer_init(req->daemon->loop, &hold->timer);
  hold->timer.data = hold;
  uv_timer_start(&hold->timer, on_hold_over, ms->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? ms->via.u64 : 0, 0);
}

static const struct method_param hold_params[] = {
  {"group", PARAM_STR, true, "entry-point group"},
  {"name", PARAM_STR, true, "entry-point name"},
  {"ms", PARAM_INT, true, "how long to hold the plugin"},
};
static const struct method_param sleep_params[] = {{"ms", PARAM_INT, true, "milliseconds"}};
static const struct method_param echo_params[] = {{"value", PARAM_ANY, false, "what to answer"}};
static const struct method test_methods[] = {
  {"test.sleep", test_sleep, "answer after ms milliseconds", sleep_params, 1},
  {"test.echo", test_echo, "answer value", echo_params, 1},
  {"test.plugin_hold", test_plugin_hold, "hold a loaded plugin for ms, then answer what its code says", hold_params, 3},
};

static int register_test_methods(struct daemon *d) {
  return router_add(&d->router, test_methods, sizeof test_methods / sizeof test_methods[0]);
}

int main(int argc, char **argv) { return daemon_main(argc, argv, register_test_methods); }
