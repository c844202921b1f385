/*
 * The scripted daemon of host-fake.h. backend.call answers by the backend asked for:
 *   exa, example_accel   {backend: example_accel, trusted: true, warnings: [w1], backend_ns: 1234,
 *          result: {args, kwargs}} (the arguments as received)
 *   fb    a fallback: {backend: example_accel, trusted: false, fallback: "...", result: nil}
 *   nope  Backend.Unknown with data {name, suggestion}
 *   bye   no answer: the connection is closed
 */
#define _GNU_SOURCE
#include "host-fake.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include "json.h"
#include "message.h"

#define LIST_ANSWER                                                                                            \
  "{\"host\": \"example_host\", \"group\": \"example_host.backends\", \"source\": \"client pid 1\","           \
  " \"backends\": [{\"name\": \"example_accel\", \"aliases\": [\"exa\"], \"trusted\": true,"                  \
  " \"functions\": [\"compute_score\", \"normalize\"]}],"                                                      \
  " \"refused\": [{\"name\": \"badone\", \"aliases\": [\"bad\"], \"reason\": \"claims the reserved name 'gpu'\"}]}"

#define FALLBACK_ANSWER                                                                                        \
  "{\"backend\": \"example_accel\", \"trusted\": false,"                                                       \
  " \"fallback\": \"backend 'example_accel' does not implement compute_score\","                               \
  " \"warnings\": [\"dropped n_jobs=4\"], \"backend_ns\": 0, \"result\": null}"

#define UNKNOWN_ERROR                                                                                          \
  "{\"code\": \"Backend.Unknown\", \"message\": \"example_host has no backend 'nope'; did you mean 'exa'?\","   \
  " \"data\": {\"name\": \"nope\", \"suggestion\": \"exa\"}}"

static void die(const char *what) {
  perror(what);
  abort();
}

__attribute__((format(printf, 2, 3))) static void fake_log(struct host_fake *f, const char *fmt, ...) {
  size_t len;
  va_list ap;

  pthread_mutex_lock(&f->lock);
  len = strlen(f->log);
  va_start(ap, fmt);
  vsnprintf(f->log + len, sizeof f->log - len, fmt, ap);
  va_end(ap);
  pthread_mutex_unlock(&f->lock);
}

static void pack_json(msgpack_packer *pk, const char *text) {
  json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

  if (!j || proto_msgpack_from_json(j, pk) != 0)
    die("fake: bad canned JSON");
  json_decref(j);
}

static void answer_json(msgpack_packer *pk, uint32_t id, const char *error, const char *result) {
  msgpack_pack_array(pk, 4);
  msgpack_pack_int(pk, 1);
  msgpack_pack_uint32(pk, id);
  pack_json(pk, error ? error : "null");
  pack_json(pk, result ? result : "null");
}

static void pack_or_nil(msgpack_packer *pk, const msgpack_object *o) {
  if (o)
    msgpack_pack_object(pk, *o);
  else
    msgpack_pack_nil(pk);
}

/* The exa answer: the arguments as the daemon received them. */
static void answer_exa(msgpack_packer *pk, uint32_t id, const msgpack_object *params) {
  msgpack_pack_array(pk, 4);
  msgpack_pack_int(pk, 1);
  msgpack_pack_uint32(pk, id);
  msgpack_pack_nil(pk);
  msgpack_pack_map(pk, 6);
  proto_pack_cstr(pk, "backend");
  proto_pack_cstr(pk, "example_accel");
  proto_pack_cstr(pk, "trusted");
  msgpack_pack_true(pk);
  proto_pack_cstr(pk, "fallback");
  msgpack_pack_nil(pk);
  proto_pack_cstr(pk, "warnings");
  msgpack_pack_array(pk, 1);
  proto_pack_cstr(pk, "w1");
  proto_pack_cstr(pk, "backend_ns");
  msgpack_pack_uint64(pk, 1234);
  proto_pack_cstr(pk, "result");
  msgpack_pack_map(pk, 2);
  proto_pack_cstr(pk, "args");
  pack_or_nil(pk, proto_map_get(params, "args"));
  proto_pack_cstr(pk, "kwargs");
  pack_or_nil(pk, proto_map_get(params, "kwargs"));
}

static void remember_declaration(struct host_fake *f, const msgpack_object *params) {
  json_t *j = proto_json_from_msgpack(params);
  char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

  json_decref(j);
  pthread_mutex_lock(&f->lock);
  free(f->declared);
  f->declared = text;
  pthread_mutex_unlock(&f->lock);
}

/* Packs the answer to one request; returns 1 to hang up instead, 2 to hang up after it. */
static int answer(struct host_fake *f, int conn, const msgpack_object *method, const msgpack_object *params,
                  uint32_t id, msgpack_packer *pk) {
  const msgpack_object *b = proto_map_get(params, "backend");

  if (proto_str_eq(method, "host.declare")) {
    int delay_ms;
    fake_log(f, "%d:declare ", conn);
    remember_declaration(f, params);
    pthread_mutex_lock(&f->lock);
    delay_ms = f->declare_delay_ms;
    pthread_mutex_unlock(&f->lock);
    usleep((useconds_t)delay_ms * 1000);
    answer_json(pk, id, NULL, "{\"name\": \"example_host\", \"group\": \"example_host.backends\", \"functions\": []}");
  } else if (proto_str_eq(method, "backend.list")) {
    fake_log(f, "%d:list ", conn);
    answer_json(pk, id, NULL, LIST_ANSWER);
  } else if (proto_str_eq(method, "backend.describe")) {
    fake_log(f, "%d:describe ", conn);
    answer_json(pk, id, NULL, "{\"host\": \"example_host\", \"function\": \"compute_score\"}");
  } else if (proto_str_eq(method, "backend.call") && b && b->type == MSGPACK_OBJECT_STR) {
    fake_log(f, "%d:call:%.*s ", conn, (int)b->via.str.size, b->via.str.ptr);
    if (proto_str_eq(b, "exa") || proto_str_eq(b, "example_accel"))
      answer_exa(pk, id, params);
    else if (proto_str_eq(b, "fb"))
      answer_json(pk, id, NULL, FALLBACK_ANSWER);
    else if (proto_str_eq(b, "bye"))
      return 1;
    else if (proto_str_eq(b, "last")) { /* answers, then goes away as a restarting daemon does */
      answer_exa(pk, id, params);
      return 2;
    } else if (proto_str_eq(b, "slow")) {
      usleep(300 * 1000);
      answer_exa(pk, id, params);
    }
    else
      answer_json(pk, id, UNKNOWN_ERROR, NULL);
  } else {
    fake_log(f, "%d:unexpected ", conn);
    answer_json(pk, id, "{\"code\": \"Method.NotFound\", \"message\": \"no such method\"}", NULL);
  }
  return 0;
}

static void send_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0)
      return; /* the client went away: its test sees that */
    p += n;
    len -= (size_t)n;
  }
}

/* One request [0, msgid, method, [params]]; returns 1 to hang up. */
static int serve_request(struct host_fake *f, int fd, int conn, const msgpack_object *req) {
  const msgpack_object *a = req->via.array.ptr, *params = NULL;
  msgpack_sbuffer out;
  msgpack_packer pk;
  int hangup;

  if (req->type != MSGPACK_OBJECT_ARRAY || req->via.array.size != 4)
    die("fake: not a request");
  if (a[3].type == MSGPACK_OBJECT_ARRAY && a[3].via.array.size == 1)
    params = &a[3].via.array.ptr[0];
  msgpack_sbuffer_init(&out);
  msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
  hangup = answer(f, conn, &a[2], params, (uint32_t)a[1].via.u64, &pk);
  if (hangup != 1)
    send_all(fd, out.data, out.size);
  msgpack_sbuffer_destroy(&out);
  return hangup != 0;
}

static void serve(struct host_fake *f, int fd, int conn) {
  msgpack_unpacker u;
  msgpack_unpacked m;
  int hangup = 0;

  if (!msgpack_unpacker_init(&u, 4096))
    die("fake: unpacker");
  msgpack_unpacked_init(&m);
  while (!hangup) {
    ssize_t n;
    if (!msgpack_unpacker_reserve_buffer(&u, 4096))
      die("fake: reserve");
    n = read(fd, msgpack_unpacker_buffer(&u), msgpack_unpacker_buffer_capacity(&u));
    if (n <= 0)
      break;
    msgpack_unpacker_buffer_consumed(&u, (size_t)n);
    while (!hangup && msgpack_unpacker_next(&u, &m) == MSGPACK_UNPACK_SUCCESS)
      hangup = serve_request(f, fd, conn, &m.data);
  }
  msgpack_unpacked_destroy(&m);
  msgpack_unpacker_destroy(&u);
  close(fd);
}

static void *run(void *arg) {
  struct host_fake *f = arg;
  int fd;

  /* host_fake_stop shuts the listening socket down, which ends accept() */
  while ((fd = accept(f->lfd, NULL, NULL)) >= 0) {
    int conn;
    pthread_mutex_lock(&f->lock);
    conn = ++f->conns;
    pthread_mutex_unlock(&f->lock);
    serve(f, fd, conn);
  }
  return NULL;
}

void host_fake_start(struct host_fake *f, const char *dir) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};

  memset(f, 0, sizeof *f);
  snprintf(f->path, sizeof f->path, "%s/fake.sock", dir);
  strcpy(addr.sun_path, f->path);
  pthread_mutex_init(&f->lock, NULL);
  if ((f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
    die("fake: socket");
  if (bind(f->lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(f->lfd, 8) != 0)
    die("fake: bind");
  if (pthread_create(&f->thread, NULL, run, f) != 0)
    die("fake: thread");
}

void host_fake_stop(struct host_fake *f) {
  shutdown(f->lfd, SHUT_RDWR);
  pthread_join(f->thread, NULL);
  close(f->lfd);
  unlink(f->path);
  free(f->declared);
  pthread_mutex_destroy(&f->lock);
}

char *host_fake_log(struct host_fake *f) {
  char *copy;

  pthread_mutex_lock(&f->lock);
  copy = strdup(f->log);
  pthread_mutex_unlock(&f->lock);
  return copy;
}
