/*
 * libbackend-client without a daemon: socket path selection, connection errors, error
 * strings, and the request/response machinery against a fake server thread that answers
 * with MessagePack-RPC bytes packed here.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include <backend/client.h>

#define SYSTEM_SOCKET "/run/backendd/backendd.sock"

static char tmpdir[64];
static char sockpath[128];
static char userdir[128];  /* $XDG_RUNTIME_DIR/backendd */
static char usersock[160]; /* $XDG_RUNTIME_DIR/backendd/backendd.sock */

static void setup(void) {
  strcpy(tmpdir, "/tmp/test-client-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  snprintf(sockpath, sizeof sockpath, "%s/test.sock", tmpdir);
  snprintf(userdir, sizeof userdir, "%s/backendd", tmpdir);
  snprintf(usersock, sizeof usersock, "%s/backendd.sock", userdir);
  unsetenv("BACKENDD_SOCKET");
  unsetenv("XDG_RUNTIME_DIR");
}

static void teardown(void) {
  unlink(usersock);
  rmdir(userdir);
  unlink(sockpath);
  rmdir(tmpdir);
}

TestSuite(client, .init = setup, .fini = teardown, .timeout = 60);

/* A bound AF_UNIX socket at path (not listening unless asked); returns the fd. */
static int bind_socket(const char *path, int listening) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);

  cr_assert_geq(fd, 0);
  strcpy(addr.sun_path, path);
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0, "bind %s: %s", path, strerror(errno));
  if (listening)
    cr_assert_eq(listen(fd, 8), 0);
  return fd;
}

/* ---------------------------------------------------------------- socket path */

static void default_socket_is(const char *expected) {
  char buf[256];
  cr_assert_eq(backend_default_socket(buf, sizeof buf), 0);
  cr_assert_str_eq(buf, expected);
}

Test(client, default_socket_env_override) {
  setenv("BACKENDD_SOCKET", "/somewhere/else.sock", 1);
  default_socket_is("/somewhere/else.sock");

  /* it wins over an existing user socket too */
  cr_assert_eq(mkdir(userdir, 0755), 0);
  close(bind_socket(usersock, 0));
  setenv("XDG_RUNTIME_DIR", tmpdir, 1);
  default_socket_is("/somewhere/else.sock");
}

Test(client, default_socket_empty_env_is_ignored) {
  setenv("BACKENDD_SOCKET", "", 1);
  default_socket_is(SYSTEM_SOCKET);
}

Test(client, default_socket_system_without_xdg) {
  default_socket_is(SYSTEM_SOCKET);
}

Test(client, default_socket_xdg_without_socket_file) {
  setenv("XDG_RUNTIME_DIR", tmpdir, 1);
  default_socket_is(SYSTEM_SOCKET);
  /* a directory but no socket in it */
  cr_assert_eq(mkdir(userdir, 0755), 0);
  default_socket_is(SYSTEM_SOCKET);
}

/*
 * backend_default_socket() as an unprivileged user when we are root (else as ourselves).
 * In a child, since seteuid() makes the process undumpable, which LeakSanitizer's exit
 * check cannot cope with; the child leaves with _exit() and hands the path back in a pipe.
 */
static void default_socket_as_user(char *buf, size_t len) {
  int fds[2];
  pid_t pid;
  ssize_t n;
  int status;

  if (geteuid() != 0) {
    cr_assert_eq(backend_default_socket(buf, len), 0);
    return;
  }
  cr_assert_eq(chmod(tmpdir, 0755), 0); /* mkdtemp() made it 0700 */
  cr_assert_eq(pipe(fds), 0);
  pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    char path[256] = "";
    if (seteuid(65534) != 0 || backend_default_socket(path, sizeof path) != 0)
      _exit(1);
    _exit(write(fds[1], path, strlen(path) + 1) > 0 ? 0 : 1);
  }
  close(fds[1]);
  n = read(fds[0], buf, len - 1);
  close(fds[0]);
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
  cr_assert_gt(n, 0);
  buf[n] = '\0';
}

Test(client, default_socket_xdg_with_socket_file) {
  char buf[256];

  cr_assert_eq(mkdir(userdir, 0755), 0);
  close(bind_socket(usersock, 0));
  setenv("XDG_RUNTIME_DIR", tmpdir, 1);
  default_socket_as_user(buf, sizeof buf);
  cr_assert_str_eq(buf, usersock);
  /* root always gets the system socket */
  if (geteuid() == 0)
    default_socket_is(SYSTEM_SOCKET);
}

Test(client, default_socket_xdg_regular_file_is_not_a_socket) {
  char buf[256];
  FILE *f;

  cr_assert_eq(mkdir(userdir, 0755), 0);
  f = fopen(usersock, "w");
  cr_assert_not_null(f);
  fclose(f);
  setenv("XDG_RUNTIME_DIR", tmpdir, 1);
  default_socket_as_user(buf, sizeof buf);
  cr_assert_str_eq(buf, SYSTEM_SOCKET);
}

Test(client, default_socket_too_long) {
  char path[200], buf[64];

  memset(path, 'a', sizeof path - 1);
  path[0] = '/';
  path[sizeof path - 1] = '\0';
  setenv("BACKENDD_SOCKET", path, 1);
  cr_assert_eq(backend_default_socket(buf, sizeof buf), -ENAMETOOLONG);

  setenv("BACKENDD_SOCKET", "/x/y.sock", 1); /* 9 bytes + NUL */
  cr_assert_eq(backend_default_socket(buf, 9), -ENAMETOOLONG);
  cr_assert_eq(backend_default_socket(buf, 10), 0);
  cr_assert_str_eq(buf, "/x/y.sock");

  unsetenv("BACKENDD_SOCKET");
  cr_assert_eq(backend_default_socket(buf, 8), -ENAMETOOLONG); /* system socket */
}

/* ---------------------------------------------------------------- connecting */

Test(client, connect_missing_socket_is_enoent) {
  backend_client *c = (backend_client *)1;
  cr_assert_eq(backend_client_connect(sockpath, &c), -ENOENT);
  cr_assert_null(c);
}

Test(client, connect_without_listener_is_econnrefused) {
  backend_client *c;
  int fd = bind_socket(sockpath, 0);

  cr_assert_eq(backend_client_connect(sockpath, &c), -ECONNREFUSED);
  cr_assert_null(c);
  close(fd);
}

Test(client, connect_path_too_long) {
  char path[200];
  backend_client *c;

  memset(path, 'a', sizeof path - 1);
  path[0] = '/';
  path[sizeof path - 1] = '\0';
  cr_assert_eq(backend_client_connect(path, &c), -ENAMETOOLONG);
}

Test(client, connect_default_uses_env_and_reports_path) {
  backend_client *c;
  int fd = bind_socket(sockpath, 1);

  setenv("BACKENDD_SOCKET", sockpath, 1);
  cr_assert_eq(backend_client_connect(NULL, &c), 0);
  cr_assert_str_eq(backend_client_socket(c), sockpath);
  cr_assert_eq(backend_client_pending(c), 0);
  backend_client_free(c);
  backend_client_free(NULL);
  close(fd);
}

/* ---------------------------------------------------------------- error strings */

Test(client, strerror_every_code) {
  static const int own[] = {BACKEND_EREMOTE, BACKEND_EPROTO, BACKEND_ECLOSED, BACKEND_EINVAL};
  const char *seen[4];

  for (size_t i = 0; i < 4; i++) {
    seen[i] = backend_strerror(own[i]);
    cr_assert_not_null(seen[i]);
    cr_assert_gt(strlen(seen[i]), 0);
    cr_assert_str_neq(seen[i], "unknown error");
    for (size_t j = 0; j < i; j++)
      cr_assert_str_neq(seen[i], seen[j]);
  }
  cr_assert_str_eq(backend_strerror(-ENOENT), strerror(ENOENT));
  cr_assert_str_eq(backend_strerror(-ECONNREFUSED), strerror(ECONNREFUSED));
  cr_assert_str_eq(backend_strerror(-ETIMEDOUT), strerror(ETIMEDOUT));
  cr_assert_str_eq(backend_strerror(-ENAMETOOLONG), strerror(ENAMETOOLONG));
  cr_assert_str_eq(backend_strerror(0), "success");
  cr_assert_str_eq(backend_strerror(-99999), "unknown error");
  cr_assert_str_eq(backend_strerror(42), "unknown error");
}

/* ---------------------------------------------------------------- fake server */

struct server;
typedef void script_fn(struct server *s);

/* Tests keep theirs static: the thread must not write into a stack frame that a failed
 * assertion has left. */
struct server {
  int listen_fd;
  int fd;
  pthread_t thread;
  script_fn *script;
  const void *arg; /* for the script */
  size_t arg_len;
  char failure[256]; /* first failed expectation; checked by server_stop() */
  msgpack_unpacker up;
  msgpack_unpacked msg;
};

/* The server thread cannot use cr_assert (it would not stop the test): it records. */
#define EXPECT(s, cond)                                                                   \
  do {                                                                                    \
    if (!(cond) && !(s)->failure[0])                                                      \
      snprintf((s)->failure, sizeof (s)->failure, "server: line %d: %s", __LINE__, #cond); \
  } while (0)

struct request {
  uint32_t msgid;
  char method[64];
  const msgpack_object *params; /* the params array; valid until the next server_read */
};

/* Reads the next request. Returns 1, or 0 at EOF / on garbage. */
static int server_read(struct server *s, struct request *r) {
  for (;;) {
    int ret = msgpack_unpacker_next(&s->up, &s->msg);
    if (ret == MSGPACK_UNPACK_SUCCESS) {
      const msgpack_object *o = &s->msg.data;
      const msgpack_object *el = o->via.array.ptr;
      EXPECT(s, o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 4);
      if (s->failure[0])
        return 0;
      EXPECT(s, el[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER && el[0].via.u64 == 0);
      EXPECT(s, el[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER);
      EXPECT(s, el[2].type == MSGPACK_OBJECT_STR && el[2].via.str.size < sizeof r->method);
      EXPECT(s, el[3].type == MSGPACK_OBJECT_ARRAY);
      if (s->failure[0])
        return 0;
      r->msgid = (uint32_t)el[1].via.u64;
      memcpy(r->method, el[2].via.str.ptr, el[2].via.str.size);
      r->method[el[2].via.str.size] = '\0';
      r->params = &el[3];
      return 1;
    }
    EXPECT(s, ret != MSGPACK_UNPACK_PARSE_ERROR);
    if (ret < 0)
      return 0;
    msgpack_unpacker_reserve_buffer(&s->up, 65536);
    ssize_t n = read(s->fd, msgpack_unpacker_buffer(&s->up), msgpack_unpacker_buffer_capacity(&s->up));
    if (n <= 0)
      return 0;
    msgpack_unpacker_buffer_consumed(&s->up, (size_t)n);
  }
}

static void server_write(struct server *s, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(s->fd, p, len);
    if (n <= 0) {
      EXPECT(s, n > 0);
      return;
    }
    p += n;
    len -= (size_t)n;
  }
}

/* Waits until the client hangs up (so that it sees our bytes before any EOF). */
static void server_drain(struct server *s) {
  struct request r;
  while (server_read(s, &r))
    ;
}

static void *server_main(void *arg) {
  struct server *s = arg;

  s->fd = accept(s->listen_fd, NULL, NULL);
  EXPECT(s, s->fd >= 0);
  if (s->fd >= 0) {
    s->script(s);
    close(s->fd);
  }
  return NULL;
}

static void server_start(struct server *s, script_fn *script) {
  s->listen_fd = bind_socket(sockpath, 1);
  s->script = script;
  s->failure[0] = '\0';
  cr_assert(msgpack_unpacker_init(&s->up, 65536));
  msgpack_unpacked_init(&s->msg);
  cr_assert_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s) {
  pthread_join(s->thread, NULL);
  close(s->listen_fd);
  msgpack_unpacked_destroy(&s->msg);
  msgpack_unpacker_destroy(&s->up);
  cr_assert_eq(s->failure[0], '\0', "%s", s->failure);
}

static backend_client *connect_ok(void) {
  backend_client *c;
  cr_assert_eq(backend_client_connect(sockpath, &c), 0);
  return c;
}

/* ---- packing canned responses ---- */

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}

/* [1, msgid, nil, result] with an integer result. */
static void reply_int(struct server *s, uint32_t msgid, int64_t result) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint32(&pk, msgid);
  msgpack_pack_nil(&pk);
  msgpack_pack_int64(&pk, result);
  server_write(s, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static int64_t result_int(const backend_reply *r) {
  cr_assert_eq(r->status, 0);
  cr_assert_eq(r->result.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
  return (int64_t)r->result.via.u64;
}

static const msgpack_object *map_get(const msgpack_object *o, const char *key) {
  cr_assert_eq(o->type, MSGPACK_OBJECT_MAP);
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object *k = &o->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
        memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
      return &o->via.map.ptr[i].val;
  }
  return NULL;
}

static int str_is(const msgpack_object *o, const char *s) {
  return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
         memcmp(o->via.str.ptr, s, strlen(s)) == 0;
}

/* ---------------------------------------------------------------- calls */

static void script_ping(struct server *s) {
  struct request r;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  EXPECT(s, server_read(s, &r));
  EXPECT(s, r.msgid == 1);
  EXPECT(s, strcmp(r.method, "daemon.ping") == 0);
  EXPECT(s, r.params->via.array.size == 0);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint32(&pk, r.msgid);
  msgpack_pack_nil(&pk);
  msgpack_pack_map(&pk, 2);
  pack_str(&pk, "pong");
  msgpack_pack_true(&pk);
  pack_str(&pk, "pid");
  msgpack_pack_uint32(&pk, 42);
  server_write(s, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  server_drain(s);
}

Test(client, call_success) {
  static struct server s;
  backend_client *c;
  backend_reply *r;

  server_start(&s, script_ping);
  c = connect_ok();
  cr_assert_eq(backend_client_call(c, "daemon.ping", NULL, 0, 5000, &r), 0);
  /* the reply outlives its handle */
  backend_client_free(c);
  server_stop(&s);

  cr_assert_eq(r->msgid, 1);
  cr_assert_eq(r->status, 0);
  cr_assert_null(r->error_code);
  cr_assert_null(r->error_message);
  cr_assert_eq(r->error_data.type, MSGPACK_OBJECT_NIL);
  const msgpack_object *pong = map_get(&r->result, "pong");
  cr_assert(pong && pong->type == MSGPACK_OBJECT_BOOLEAN && pong->via.boolean);
  const msgpack_object *pid = map_get(&r->result, "pid");
  cr_assert(pid && pid->type == MSGPACK_OBJECT_POSITIVE_INTEGER && pid->via.u64 == 42);
  backend_reply_free(r);
  backend_reply_free(NULL);
}

/* Answers every request with its params array's first element, or nil. */
static void script_echo_params(struct server *s) {
  struct request r;

  while (server_read(s, &r)) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint32(&pk, r.msgid);
    msgpack_pack_nil(&pk);
    if (r.params->via.array.size == 1)
      msgpack_pack_object(&pk, r.params->via.array.ptr[0]);
    else
      msgpack_pack_nil(&pk);
    server_write(s, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
  }
}

Test(client, call_with_params) {
  static struct server s;
  backend_client *c;
  backend_reply *r;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  pack_str(&pk, "host");
  pack_str(&pk, "myhost");
  pack_str(&pk, "n");
  msgpack_pack_int(&pk, 3);

  server_start(&s, script_echo_params);
  c = connect_ok();
  cr_assert_eq(backend_client_call(c, "backend.list", sb.data, sb.size, 5000, &r), 0);
  cr_assert_eq(r->msgid, 1);
  cr_assert(str_is(map_get(&r->result, "host"), "myhost"));
  cr_assert_eq(map_get(&r->result, "n")->via.u64, 3);
  backend_reply_free(r);

  /* no params: the request carries [] */
  cr_assert_eq(backend_client_call(c, "daemon.ping", NULL, 0, 5000, &r), 0);
  cr_assert_eq(r->msgid, 2);
  cr_assert_eq(r->result.type, MSGPACK_OBJECT_NIL);
  backend_reply_free(r);
  backend_client_free(c);
  server_stop(&s);
  msgpack_sbuffer_destroy(&sb);
}

static void script_remote_error(struct server *s) {
  struct request r;
  msgpack_sbuffer sb;
  msgpack_packer pk;

  EXPECT(s, server_read(s, &r));
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint32(&pk, r.msgid);
  msgpack_pack_map(&pk, 3);
  pack_str(&pk, "code");
  pack_str(&pk, "Method.NotFound");
  pack_str(&pk, "message");
  pack_str(&pk, "no method 'nope'");
  pack_str(&pk, "data");
  msgpack_pack_map(&pk, 1);
  pack_str(&pk, "method");
  pack_str(&pk, "nope");
  msgpack_pack_nil(&pk);
  server_write(s, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);

  /* the handle stays usable */
  EXPECT(s, server_read(s, &r));
  reply_int(s, r.msgid, 7);
  server_drain(s);
}

Test(client, remote_error_is_handed_over) {
  static struct server s;
  backend_client *c;
  backend_reply *r;

  server_start(&s, script_remote_error);
  c = connect_ok();
  cr_assert_eq(backend_client_call(c, "nope", NULL, 0, 5000, &r), BACKEND_EREMOTE);
  cr_assert_not_null(r);
  cr_assert_eq(r->status, BACKEND_EREMOTE);
  cr_assert_str_eq(r->error_code, "Method.NotFound");
  cr_assert_str_eq(r->error_message, "no method 'nope'");
  cr_assert(str_is(map_get(&r->error_data, "method"), "nope"));
  cr_assert_eq(r->result.type, MSGPACK_OBJECT_NIL);
  backend_reply_free(r);

  cr_assert_eq(backend_client_call(c, "daemon.ping", NULL, 0, 5000, &r), 0);
  cr_assert_eq(result_int(r), 7);
  backend_reply_free(r);
  backend_client_free(c);
  server_stop(&s);
}

/* ---------------------------------------------------------------- pipelining */

/* Reads three requests, answers them 3, 1, 2 with result msgid * 10. */
static void script_out_of_order(struct server *s) {
  struct request r[3];
  static const int order[] = {2, 0, 1};

  for (int i = 0; i < 3; i++)
    EXPECT(s, server_read(s, &r[i]));
  for (int i = 0; i < 3; i++)
    reply_int(s, r[order[i]].msgid, r[order[i]].msgid * 10);
  server_drain(s);
}

Test(client, pipelined_replies_in_arrival_order) {
  static struct server s;
  backend_client *c;
  backend_reply *r;
  uint32_t ids[3];
  static const uint32_t expected[] = {3, 1, 2};

  server_start(&s, script_out_of_order);
  c = connect_ok();
  for (int i = 0; i < 3; i++)
    cr_assert_eq(backend_client_send(c, "daemon.ping", NULL, 0, &ids[i]), 0);
  cr_assert_eq(ids[0], 1);
  cr_assert_eq(ids[1], 2);
  cr_assert_eq(ids[2], 3);
  cr_assert_eq(backend_client_pending(c), 3);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(backend_client_recv(c, 5000, &r), 0);
    cr_assert_eq(r->msgid, expected[i]);
    cr_assert_eq(result_int(r), expected[i] * 10);
    backend_reply_free(r);
    cr_assert_eq(backend_client_pending(c), 2 - (size_t)i);
  }
  cr_assert_eq(backend_client_recv(c, 5000, &r), -ENOMSG);
  cr_assert_null(r);
  backend_client_free(c);
  server_stop(&s);
}

/* Reads requests 1, 2, 3 and answers 2, 3, 1. */
static void script_sync_among_async(struct server *s) {
  struct request r[3];

  for (int i = 0; i < 3; i++)
    EXPECT(s, server_read(s, &r[i]));
  reply_int(s, r[1].msgid, 20);
  reply_int(s, r[2].msgid, 30);
  reply_int(s, r[0].msgid, 10);
  server_drain(s);
}

Test(client, call_keeps_other_replies_for_recv) {
  static struct server s;
  backend_client *c;
  backend_reply *r;

  server_start(&s, script_sync_among_async);
  c = connect_ok();
  cr_assert_eq(backend_client_send(c, "a", NULL, 0, NULL), 0);
  cr_assert_eq(backend_client_send(c, "b", NULL, 0, NULL), 0);
  cr_assert_eq(backend_client_call(c, "c", NULL, 0, 5000, &r), 0);
  cr_assert_eq(r->msgid, 3);
  cr_assert_eq(result_int(r), 30);
  backend_reply_free(r);
  cr_assert_eq(backend_client_pending(c), 2);

  /* 2 was answered before 3, so it is already here: timeout 0 suffices */
  cr_assert_eq(backend_client_recv(c, 0, &r), 0);
  cr_assert_eq(r->msgid, 2);
  backend_reply_free(r);
  cr_assert_eq(backend_client_recv(c, 5000, &r), 0);
  cr_assert_eq(r->msgid, 1);
  backend_reply_free(r);
  backend_client_free(c);
  server_stop(&s);
}

/* Echoes every request's msgid at once, with blocking writes and no reading meanwhile. */
static void script_echo_msgid(struct server *s) {
  struct request r;
  while (server_read(s, &r))
    reply_int(s, r.msgid, r.msgid);
}

Test(client, many_pipelined_requests_do_not_deadlock) {
  enum { N = 100000 };
  static struct server s;
  backend_client *c;
  backend_reply *r;

  server_start(&s, script_echo_msgid);
  c = connect_ok();
  /* Far more replies than the socket buffers hold come back while we are still writing. */
  for (uint32_t i = 1; i <= N; i++)
    cr_assert_eq(backend_client_send(c, "daemon.ping", NULL, 0, NULL), 0);
  cr_assert_eq(backend_client_flush(c, 20000), 0);
  cr_assert_eq(backend_client_pending(c), N);
  for (uint32_t i = 1; i <= N; i++) {
    cr_assert_eq(backend_client_recv(c, 20000, &r), 0);
    cr_assert_eq(r->msgid, i); /* this server answers in order */
    cr_assert_eq(result_int(r), i);
    backend_reply_free(r);
  }
  cr_assert_eq(backend_client_pending(c), 0);
  cr_assert_eq(backend_client_flush(c, 0), 0);
  backend_client_free(c);
  server_stop(&s);
}

/* ---------------------------------------------------------------- timeouts */

/* Answers request 1 only after request 2 came, i.e. after the client gave up on it. */
static void script_late_reply(struct server *s) {
  struct request r1, r2;

  EXPECT(s, server_read(s, &r1));
  EXPECT(s, server_read(s, &r2));
  reply_int(s, r1.msgid, 111);
  reply_int(s, r2.msgid, 222);
  server_drain(s);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

Test(client, timeout_then_late_reply_is_dropped) {
  static struct server s;
  backend_client *c;
  backend_reply *r = (backend_reply *)1;
  double t0;

  server_start(&s, script_late_reply);
  c = connect_ok();
  t0 = now_ms();
  cr_assert_eq(backend_client_call(c, "slow", NULL, 0, 100, &r), -ETIMEDOUT);
  cr_assert_geq(now_ms() - t0, 90);
  cr_assert_null(r);
  cr_assert_eq(backend_client_pending(c), 0);

  cr_assert_eq(backend_client_call(c, "fast", NULL, 0, 5000, &r), 0);
  cr_assert_eq(r->msgid, 2);
  cr_assert_eq(result_int(r), 222);
  backend_reply_free(r);
  /* the late answer was not queued either */
  cr_assert_eq(backend_client_recv(c, 0, &r), -ENOMSG);
  backend_client_free(c);
  server_stop(&s);
}

/* Answers request 1 after request 2 came. */
static void script_recv_timeout(struct server *s) {
  struct request r1, r2;

  EXPECT(s, server_read(s, &r1));
  EXPECT(s, server_read(s, &r2));
  reply_int(s, r2.msgid, 2);
  reply_int(s, r1.msgid, 1);
  server_drain(s);
}

Test(client, recv_timeout_keeps_request_pending) {
  static struct server s;
  backend_client *c;
  backend_reply *r;

  server_start(&s, script_recv_timeout);
  c = connect_ok();
  cr_assert_eq(backend_client_send(c, "one", NULL, 0, NULL), 0);
  cr_assert_eq(backend_client_recv(c, 0, &r), -ETIMEDOUT);
  cr_assert_eq(backend_client_recv(c, 50, &r), -ETIMEDOUT);
  cr_assert_eq(backend_client_pending(c), 1);
  cr_assert_eq(backend_client_send(c, "two", NULL, 0, NULL), 0);
  cr_assert_eq(backend_client_recv(c, 5000, &r), 0);
  cr_assert_eq(r->msgid, 2);
  backend_reply_free(r);
  cr_assert_eq(backend_client_recv(c, 5000, &r), 0);
  cr_assert_eq(r->msgid, 1);
  backend_reply_free(r);
  backend_client_free(c);
  server_stop(&s);
}

/* ---------------------------------------------------------------- broken streams */

/* Reads one request, answers with the raw bytes in s->arg, waits for the client to go. */
static void script_raw_reply(struct server *s) {
  struct request r;

  EXPECT(s, server_read(s, &r));
  server_write(s, s->arg, s->arg_len);
  server_drain(s);
}

/* A string literal's bytes, without the terminating NUL. */
#define EXPECT_EPROTO(lit) expect_eproto(lit, sizeof lit - 1)

static void expect_eproto(const void *bytes, size_t len) {
  static struct server s;
  backend_client *c;
  backend_reply *r = (backend_reply *)1;

  s.arg = bytes;
  s.arg_len = len;
  server_start(&s, script_raw_reply);
  c = connect_ok();
  cr_assert_eq(backend_client_call(c, "daemon.ping", NULL, 0, 5000, &r), BACKEND_EPROTO);
  cr_assert_null(r);
  /* the handle is marked broken: everything fails fast with the same error */
  cr_assert_eq(backend_client_call(c, "daemon.ping", NULL, 0, 5000, &r), BACKEND_EPROTO);
  cr_assert_eq(backend_client_send(c, "daemon.ping", NULL, 0, NULL), BACKEND_EPROTO);
  cr_assert_eq(backend_client_flush(c, 5000), BACKEND_EPROTO);
  backend_client_free(c);
  server_stop(&s);
}

Test(client, malformed_not_msgpack) {
  EXPECT_EPROTO("\xc1"); /* 0xc1 is never used */
}

Test(client, malformed_not_an_array) {
  EXPECT_EPROTO("\xa5hello");
}

Test(client, malformed_short_response) {
  EXPECT_EPROTO("\x92\x01\x01"); /* [1, 1] */
}

Test(client, malformed_error_not_a_map) {
  EXPECT_EPROTO("\x94\x01\x01\xa4oops\xc0"); /* [1, 1, "oops", nil] */
}

Test(client, malformed_error_code_not_a_string) {
  /* [1, 1, {"code": 1, "message": "x"}, nil] */
  EXPECT_EPROTO("\x94\x01\x01\x82\xa4" "code" "\x01\xa7" "message" "\xa1x\xc0");
}

Test(client, malformed_unknown_msgid) {
  EXPECT_EPROTO("\x94\x01\xcd\x03\xe7\xc0\xc0"); /* [1, 999, nil, nil] */
}

Test(client, malformed_request_from_daemon) {
  EXPECT_EPROTO("\x94\x00\x01\xa1x\x90"); /* [0, 1, "x", []] */
}

/* A notification, then the answer: the client skips the former. */
static void script_notification_first(struct server *s) {
  struct request r;

  EXPECT(s, server_read(s, &r));
  server_write(s, "\x93\x02\xa5" "event" "\x90", 9); /* [2, "event", []] */
  reply_int(s, r.msgid, 5);
  server_drain(s);
}

Test(client, notifications_are_ignored) {
  static struct server s;
  backend_client *c;
  backend_reply *r;

  server_start(&s, script_notification_first);
  c = connect_ok();
  cr_assert_eq(backend_client_call(c, "daemon.ping", NULL, 0, 5000, &r), 0);
  cr_assert_eq(result_int(r), 5);
  backend_reply_free(r);
  backend_client_free(c);
  server_stop(&s);
}

static void script_close_after_read(struct server *s) {
  struct request r;
  EXPECT(s, server_read(s, &r));
}

Test(client, server_closing_is_eclosed) {
  static struct server s;
  backend_client *c;
  backend_reply *r;

  server_start(&s, script_close_after_read);
  c = connect_ok();
  cr_assert_eq(backend_client_call(c, "daemon.ping", NULL, 0, 5000, &r), BACKEND_ECLOSED);
  cr_assert_null(r);
  server_stop(&s);
  cr_assert_eq(backend_client_call(c, "daemon.ping", NULL, 0, 5000, &r), BACKEND_ECLOSED);
  cr_assert_eq(backend_client_send(c, "daemon.ping", NULL, 0, NULL), BACKEND_ECLOSED);
  backend_client_free(c);
}

/* Answers the first of two requests, then hangs up. */
static void script_answer_one_and_close(struct server *s) {
  struct request r1, r2;

  EXPECT(s, server_read(s, &r1));
  EXPECT(s, server_read(s, &r2));
  reply_int(s, r1.msgid, 1);
}

Test(client, replies_before_close_are_delivered) {
  static struct server s;
  backend_client *c;
  backend_reply *r;

  server_start(&s, script_answer_one_and_close);
  c = connect_ok();
  cr_assert_eq(backend_client_send(c, "a", NULL, 0, NULL), 0);
  cr_assert_eq(backend_client_send(c, "b", NULL, 0, NULL), 0);
  cr_assert_eq(backend_client_flush(c, 5000), 0);
  server_stop(&s); /* the server has answered and closed */
  cr_assert_eq(backend_client_recv(c, 5000, &r), 0);
  cr_assert_eq(r->msgid, 1);
  backend_reply_free(r);
  cr_assert_eq(backend_client_recv(c, 5000, &r), BACKEND_ECLOSED);
  cr_assert_null(r);
  backend_client_free(c);
}

/* ---------------------------------------------------------------- invalid arguments */

Test(client, params_must_be_one_map) {
  static struct server s;
  backend_client *c;
  backend_reply *r;
  uint32_t id = 0;

  server_start(&s, script_echo_msgid);
  c = connect_ok();
  cr_assert_eq(backend_client_call(c, "m", "\x91\x01", 2, 5000, &r), BACKEND_EINVAL); /* [1] */
  cr_assert_null(r);
  cr_assert_eq(backend_client_call(c, "m", "\x2a", 1, 5000, &r), BACKEND_EINVAL); /* 42 */
  cr_assert_eq(backend_client_call(c, "m", "\x82\xa1x\x01", 4, 5000, &r), BACKEND_EINVAL); /* map of 2, 1 given */
  cr_assert_eq(backend_client_call(c, "m", "\x81\xa1x\x01\xc0", 5, 5000, &r), BACKEND_EINVAL); /* trailing nil */
  cr_assert_eq(backend_client_call(c, "m", "\xc1", 1, 5000, &r), BACKEND_EINVAL);
  cr_assert_eq(backend_client_call(c, "m", NULL, 3, 5000, &r), BACKEND_EINVAL);
  cr_assert_eq(backend_client_call(c, NULL, NULL, 0, 5000, &r), BACKEND_EINVAL);
  cr_assert_eq(backend_client_call(c, "m", NULL, 0, 5000, NULL), BACKEND_EINVAL);
  cr_assert_eq(backend_client_send(c, "m", "\x90", 1, &id), BACKEND_EINVAL); /* [] */
  cr_assert_eq(backend_client_send(c, NULL, NULL, 0, &id), BACKEND_EINVAL);
  cr_assert_eq(backend_client_pending(c), 0);

  /* nothing was sent, and the handle still works: the next request is msgid 1 */
  cr_assert_eq(backend_client_call(c, "m", "\x80", 1, 5000, &r), 0); /* {} is fine */
  cr_assert_eq(r->msgid, 1);
  cr_assert_eq(result_int(r), 1);
  backend_reply_free(r);
  backend_client_free(c);
  server_stop(&s);
}
