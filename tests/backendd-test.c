/*
 * backendd with two extra methods for integration tests, registered the way later
 * modules register theirs:
 *   test.sleep {ms}    answers {slept: ms} after ms milliseconds (an in-flight request);
 *                      cancelled (timer stopped) when its client disconnects first.
 *   test.echo {value}  answers value.
 */
#include <stdlib.h>

#include "daemon.h"
#include "errors.h"
#include "request.h"
#include "router.h"

struct sleeper {
  uv_timer_t timer;
  struct request *req;
};

static void on_sleeper_closed(uv_handle_t *h) { free(h->data); }

static void on_wake(uv_timer_t *t) {
  struct sleeper *s = t->data;
  struct request *req = s->req;
  msgpack_packer *pk = request_reply_begin(req);
  msgpack_pack_map(pk, 1);
  msgpack_pack_str_with_body(pk, "slept", 5);
  msgpack_pack_uint64(pk, uv_timer_get_repeat(t));
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
  /* The repeat value only carries ms to on_wake; the timer is stopped there. */
  uv_timer_set_repeat(&s->timer, ms->via.u64);
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

static const struct method_param sleep_params[] = {{"ms", PARAM_INT, true, "milliseconds"}};
static const struct method_param echo_params[] = {{"value", PARAM_ANY, false, "what to answer"}};
static const struct method test_methods[] = {
  {"test.sleep", test_sleep, "answer after ms milliseconds", sleep_params, 1},
  {"test.echo", test_echo, "answer value", echo_params, 1},
};

static int register_test_methods(struct daemon *d) { return router_add(&d->router, test_methods, 2); }

int main(int argc, char **argv) { return daemon_main(argc, argv, register_test_methods); }
