/*
 * Integration-test harness: real backendd processes on temporary sockets, backendctl runs,
 * and raw-socket MessagePack-RPC for what the client library would never send.
 *
 * Everything a test starts or creates is registered here and torn down by harness_cleanup()
 * (use it as the suite's .fini, so it also runs after a failed assertion): connections are
 * closed, daemons still running are killed (their log is printed first: the test did not get
 * to stop them), temporary directories removed, replies kept with harness_keep() freed. Daemons and child programs also get
 * SIGKILL if the test process dies (PR_SET_PDEATHSIG), so a timed-out test leaves nothing
 * running.
 *
 * Helpers that cannot go on (a daemon that never becomes ready, a socket that cannot be
 * created) fail the test with cr_assert.
 */
#ifndef BACKENDD_TESTS_HARNESS_H
#define BACKENDD_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#include "backend/client.h"

/* Generous: these machines are loaded, and ASan builds start and stop slowly. */
#define HARNESS_TIMEOUT_MS 10000

/* Monotonic clock in milliseconds, and a sleep. */
int64_t harness_now_ms(void);
void harness_sleep_ms(int ms);

/* The suite's .fini: kills what is still running, removes temporary directories. */
void harness_cleanup(void);

/* Path of a program from the test environment (BACKENDD_BIN, BACKENDD_TEST_BIN, BACKENDCTL_BIN). */
const char *harness_bin(const char *env_name);

/* A new empty temporary directory, removed by harness_cleanup(). */
const char *harness_tmpdir(void);

/* ---- daemons ---- */

struct hdaemon {
  pid_t pid;
  bool exited;
  int status;     /* once exited: see harness_wait_exit() */
  char *dir;      /* its temporary directory (holds the log, and the socket by default) */
  char *socket;   /* the --socket it was given */
  char *log_path; /* its stderr */
};

/*
 * Starts `bin --socket SOCKET args...` (args NULL-terminated, may be NULL) with stdin from
 * /dev/null and stdout and stderr to <dir>/backendd.log, in a new temporary directory.
 * socket NULL means <dir>/backendd.sock. Does not wait for anything.
 */
struct hdaemon *harness_spawn(const char *bin, const char *socket, const char *const *args);

/* More ways to start a daemon, for harness_spawn_with(); each member may be NULL. */
struct hspawn {
  /* A program and its arguments run in front of `bin --socket SOCKET args...` (NULL-terminated),
   * e.g. {"/usr/bin/systemd-socket-activate", "-l", path, NULL}. It must exec the daemon in
   * place, so that the pid the harness knows is the daemon's. */
  const char *const *wrapper;
  /* "NAME=value" strings added to the daemon's environment (NULL-terminated), e.g. NOTIFY_SOCKET. */
  const char *const *env;
};

/* harness_spawn(), with a wrapper program or more environment (with may be NULL). */
struct hdaemon *harness_spawn_with(const char *bin, const char *socket, const char *const *args,
                                   const struct hspawn *with);

/* Waits until the daemon's log says it is ready (so no probe connection is made).
 * Returns false when it exits first or the timeout passes. */
bool harness_wait_ready(struct hdaemon *d, int timeout_ms);

/* harness_spawn() + harness_wait_ready() (asserted). Arguments after bin: NULL-terminated. */
struct hdaemon *harness_start(const char *bin, ...) __attribute__((sentinel));

/*
 * Waits for the daemon to exit. Returns its exit status (0..255), 128 + the signal when a
 * signal killed it, or -1 when it was still running at the timeout.
 */
int harness_wait_exit(struct hdaemon *d, int timeout_ms);

/* Sends sig and waits (HARNESS_TIMEOUT_MS; SIGKILL after that). Returns as harness_wait_exit(). */
int harness_stop(struct hdaemon *d, int sig);

/* The end of a test: SIGTERM must make the daemon exit 0 and remove its socket file.
 * On failure the daemon's log is printed. */
void harness_finish(struct hdaemon *d);

/* Whole log so far (malloc'd, NUL-terminated; never NULL). */
char *harness_log(const struct hdaemon *d);
/* Does the log contain needle? Polls until it does or timeout_ms passes. */
bool harness_log_wait(const struct hdaemon *d, const char *needle, int timeout_ms);
/* Prints the log to stderr (for failure diagnostics). */
void harness_dump_log(const struct hdaemon *d);

/* VmRSS of the daemon in KiB, from /proc/PID/status. */
long harness_vmrss_kb(const struct hdaemon *d);
/* CPU time the daemon has used so far, all its threads, user and system, in seconds. */
double harness_cpu_seconds(const struct hdaemon *d);

/* ---- the client library against a harness daemon ---- */

/* Connects (asserted). Close with harness_client_close(), or leave it to harness_cleanup(). */
backend_client *harness_client(const struct hdaemon *d);
void harness_client_close(backend_client *c);
/* daemon.ping through c: asserts a {pong: true} answer with the daemon's pid. */
void harness_ping(backend_client *c, const struct hdaemon *d);
/* Connects, pings, disconnects: "a well-behaved client is still served". */
void harness_ping_new(const struct hdaemon *d);
/* An unsigned integer from daemon.info (nested keys with dots: "limits.max_inflight"). */
uint64_t harness_info_u64(backend_client *c, const char *key);
/* Same over a connection of its own (which daemon.info's "connections" then counts). */
uint64_t harness_info_u64_new(const struct hdaemon *d, const char *key);
/* Polls harness_info_u64_new(key) until it equals want; false at the timeout. */
bool harness_info_wait(const struct hdaemon *d, const char *key, uint64_t want, int timeout_ms);

/* A map member by string key, or NULL (also when o is not a map). */
const msgpack_object *harness_get(const msgpack_object *o, const char *key);
/* Does o equal the string s? */
bool harness_str_eq(const msgpack_object *o, const char *s);

/* Keeps r (may be NULL) until harness_cleanup() frees it, so a failed assertion leaks nothing. */
backend_reply *harness_keep(backend_reply *r);

/* Packs a C string as a MessagePack str. */
void harness_pack_cstr(msgpack_packer *pk, const char *s);

/* Packs the named parameters {name: v} into sb, which this initialises (destroy it after). */
void harness_params_u64(msgpack_sbuffer *sb, const char *name, uint64_t v);

/* ---- child programs (backendctl, backendd --help) ---- */

struct hrun {
  int status;  /* as harness_wait_exit(); -1: killed at the timeout */
  char *out;   /* stdout, NUL-terminated */
  char *err;   /* stderr */
};

/* Runs argv (argv[0] is the path; NULL-terminated), capturing stdout and stderr. */
void harness_run(struct hrun *r, int timeout_ms, const char *const *argv);
/* Runs BACKENDCTL_BIN [--socket socket] args... (NULL-terminated; socket may be NULL). */
void harness_ctl(struct hrun *r, const char *socket, ...) __attribute__((sentinel));
void harness_run_free(struct hrun *r);

/* ---- raw MessagePack-RPC over the socket ---- */

struct hraw {
  int fd;
  msgpack_sbuffer out; /* packed by the test, sent by raw_flush() */
  msgpack_packer pk;
  msgpack_unpacker in;
  msgpack_unpacked msg; /* the last message raw_recv() returned */
};

/* Connects to path (asserted). Close with raw_close(), or leave it to harness_cleanup(). */
struct hraw *raw_connect(const char *path);
/* Connects, or returns NULL with errno set. */
struct hraw *raw_try_connect(const char *path);
void raw_close(struct hraw *r);

/* Sends bytes as they are. Returns 0 or -errno (-EPIPE, -ECONNRESET once the daemon has closed). */
int raw_send(struct hraw *r, const void *bytes, size_t len);
/* The packer for the next bytes to send; raw_flush() sends what was packed. */
msgpack_packer *raw_packer(struct hraw *r);
int raw_flush(struct hraw *r);
/* Packs [0, msgid, method, and leaves params to the caller (one object, e.g. an array). */
msgpack_packer *raw_request_begin(struct hraw *r, uint32_t msgid, const char *method);
/* Sends [0, msgid, method, []] (asserted). */
void raw_request(struct hraw *r, uint32_t msgid, const char *method);

/*
 * Next message from the daemon: 1 with *out set (valid until the next raw_recv), 0 when the
 * daemon closed the connection (EOF or ECONNRESET), -ETIMEDOUT, or -EBADMSG for bytes that
 * are not MessagePack.
 */
int raw_recv(struct hraw *r, int timeout_ms, msgpack_object *out);

/* Reads the next message and asserts it is the response to msgid with a nil error; returns
 * its result (valid until the next raw_recv). */
msgpack_object raw_expect_result(struct hraw *r, uint32_t msgid);
/* Reads the next message and asserts it is [1, msgid, {code: code, message: str, ...}, nil]. */
void raw_expect_error(struct hraw *r, uint32_t msgid, const char *code);
/*
 * Reads until the daemon closes the connection. Everything before must be daemon.protocol_error
 * notifications [2, "daemon.protocol_error", [{code, message, data}]] whose code is `code`.
 * Returns how many there were.
 */
int raw_expect_closed(struct hraw *r, const char *code);

#endif
