#define _GNU_SOURCE
#include "scan.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "frame.h"
#include "message.h"
#include "scanner.h"

#define MAX_PARALLEL 4
#define MAX_ANSWER (4u << 20)   /* a descriptor, docs included, is far smaller */
#define STDERR_TAIL 512         /* what a crashing plugin printed last, for the reason */
#define EOF_GRACE_MS 200        /* a plugin's own child may hold our pipes open */

struct scan_job {
  struct scan_pool *pool;
  struct scan_job *next;
  char *kind, *file, *symbol;
  scan_cb cb;
  void *arg;
  uv_process_t proc;
  uv_pipe_t out, err;
  uv_timer_t timer;
  msgpack_sbuffer answer;
  char tail[STDERR_TAIL + 1];
  size_t tail_len;
  int open_handles;
  int64_t exit_status;
  int term_signal;
  bool exited, out_eof, err_eof, timed_out, finished;
};

struct scan_pool {
  uv_loop_t *loop;
  unsigned timeout_ms;
  unsigned running;
  struct scan_job *queue, *queue_tail;
  struct scan_job *active[MAX_PARALLEL];
};

int scan_pool_new(uv_loop_t *loop, unsigned timeout_ms, struct scan_pool **out) {
  struct scan_pool *p = calloc(1, sizeof *p);
  if (p == NULL)
    return -ENOMEM;
  p->loop = loop;
  p->timeout_ms = timeout_ms;
  *out = p;
  return 0;
}

static void job_free(struct scan_job *j) {
  free(j->kind);
  free(j->file);
  free(j->symbol);
  msgpack_sbuffer_destroy(&j->answer);
  free(j);
}

static void start_next(struct scan_pool *p);

static void on_handle_closed(uv_handle_t *h) {
  struct scan_job *j = h->data;
  if (--j->open_handles == 0)
    job_free(j);
}

static void close_job(struct scan_job *j) {
  uv_handle_t *handles[] = {(uv_handle_t *)&j->proc, (uv_handle_t *)&j->out, (uv_handle_t *)&j->err,
                            (uv_handle_t *)&j->timer};
  for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++)
    if (!uv_is_closing(handles[i]))
      uv_close(handles[i], on_handle_closed);
}

static void remove_active(struct scan_pool *p, struct scan_job *j) {
  for (int i = 0; i < MAX_PARALLEL; i++)
    if (p->active[i] == j)
      p->active[i] = NULL;
  p->running--;
}

/* Why the scanner did not answer with a descriptor, with what it printed last. */
static void describe_failure(struct scan_job *j, char *why, size_t len) {
  const char *tail = j->tail_len > 0 ? j->tail : NULL;
  if (j->timed_out)
    snprintf(why, len, "hung: did not finish loading within %.1fs (killed)", j->pool->timeout_ms / 1000.0);
  else if (j->term_signal != 0)
    snprintf(why, len, "crashed (%s, signal %d) while loading%s%s", sigabbrev_np(j->term_signal) ? sigabbrev_np(j->term_signal) : "?",
             j->term_signal, tail ? ": " : "", tail ? tail : "");
  else
    snprintf(why, len, "the scanner exited with status %lld while loading%s%s", (long long)j->exit_status,
             tail ? ": " : "", tail ? tail : "");
}

static void deliver(struct scan_job *j) {
  msgpack_zone zone;
  msgpack_object obj;
  char why[1024];
  const msgpack_object *error;
  bool decoded;
  msgpack_zone_init(&zone, 4096);
  decoded = j->answer.size > 0 && proto_decode(j->answer.data, j->answer.size, &zone, &obj) == 0 &&
            obj.type == MSGPACK_OBJECT_MAP;
  if (!j->timed_out && j->term_signal == 0 && j->exit_status == 0 && decoded) {
    j->cb(j->arg, &obj, NULL);
  } else if (!j->timed_out && j->term_signal == 0 && j->exit_status == SCANNER_EXIT_LOAD_ERROR && decoded &&
             (error = proto_map_get(&obj, "error")) != NULL && error->type == MSGPACK_OBJECT_STR) {
    snprintf(why, sizeof why, "%.*s", (int)error->via.str.size, error->via.str.ptr);
    j->cb(j->arg, NULL, why);
  } else {
    describe_failure(j, why, sizeof why);
    j->cb(j->arg, NULL, why);
  }
  msgpack_zone_destroy(&zone);
}

/* Done when the process has exited and its pipes are drained (or the grace period is over). */
static void maybe_finish(struct scan_job *j, bool grace_over) {
  struct scan_pool *p = j->pool;
  if (j->finished || !j->exited || (!(j->out_eof && j->err_eof) && !grace_over))
    return;
  j->finished = true;
  remove_active(p, j);
  deliver(j);
  close_job(j);
  start_next(p);
}

static void on_grace_over(uv_timer_t *t) { maybe_finish(t->data, true); }

static void on_scanner_exit(uv_process_t *proc, int64_t status, int term_signal) {
  struct scan_job *j = proc->data;
  j->exited = true;
  j->exit_status = status;
  j->term_signal = j->timed_out ? 0 : term_signal;
  uv_timer_start(&j->timer, on_grace_over, EOF_GRACE_MS, 0);
  maybe_finish(j, false);
}

static void on_timeout(uv_timer_t *t) {
  struct scan_job *j = t->data;
  j->timed_out = true;
  uv_process_kill(&j->proc, SIGKILL);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char scratch[65536]; /* read then copied: the loop thread is the only reader */
  *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct scan_job *j = s->data;
  if (n < 0) {
    j->out_eof = true;
    uv_read_stop(s);
    maybe_finish(j, false);
  } else if (j->answer.size + (size_t)n <= MAX_ANSWER) {
    msgpack_sbuffer_write(&j->answer, buf->base, (size_t)n);
  }
}

static void on_err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct scan_job *j = s->data;
  if (n < 0) {
    j->err_eof = true;
    uv_read_stop(s);
    maybe_finish(j, false);
    return;
  }
  /* Keep the last STDERR_TAIL bytes, newlines flattened, for a one-line reason. */
  for (ssize_t i = 0; i < n; i++) {
    char c = buf->base[i] == '\n' ? ' ' : buf->base[i];
    if (j->tail_len == STDERR_TAIL) {
      memmove(j->tail, j->tail + 1, STDERR_TAIL - 1);
      j->tail_len--;
    }
    j->tail[j->tail_len++] = c;
  }
  j->tail[j->tail_len] = '\0';
}

static int spawn(struct scan_job *j) {
  struct scan_pool *p = j->pool;
  char *args[] = {"backendd", SCANNER_FLAG, j->kind, j->file, j->symbol, NULL};
  uv_stdio_container_t stdio[3] = {
    {.flags = UV_IGNORE},
    {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->out},
    {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->err},
  };
  uv_process_options_t opts = {
    .exit_cb = on_scanner_exit, .file = "/proc/self/exe", .args = args, .stdio_count = 3, .stdio = stdio,
  };
  int err;
  uv_pipe_init(p->loop, &j->out, 0);
  uv_pipe_init(p->loop, &j->err, 0);
  uv_timer_init(p->loop, &j->timer);
  j->out.data = j->err.data = j->timer.data = j->proc.data = j;
  j->open_handles = 4; /* uv_spawn initialises the process handle even when it fails */
  if ((err = uv_spawn(p->loop, &j->proc, &opts)) < 0)
    return err;
  uv_read_start((uv_stream_t *)&j->out, on_alloc, on_out_read);
  uv_read_start((uv_stream_t *)&j->err, on_alloc, on_err_read);
  uv_timer_start(&j->timer, on_timeout, p->timeout_ms, 0);
  return 0;
}

static void start_next(struct scan_pool *p) {
  while (p->running < MAX_PARALLEL && p->queue != NULL) {
    struct scan_job *j = p->queue;
    char why[256];
    int err;
    p->queue = j->next;
    if (p->queue == NULL)
      p->queue_tail = NULL;
    if ((err = spawn(j)) < 0) {
      snprintf(why, sizeof why, "cannot start the plugin scanner: %s", uv_strerror(err));
      j->cb(j->arg, NULL, why);
      j->finished = true;
      close_job(j);
      continue;
    }
    for (int i = 0; i < MAX_PARALLEL; i++)
      if (p->active[i] == NULL) {
        p->active[i] = j;
        break;
      }
    p->running++;
  }
}

int scan_submit(struct scan_pool *p, const char *kind, const char *file, const char *symbol, scan_cb cb, void *arg) {
  struct scan_job *j = calloc(1, sizeof *j);
  if (j == NULL)
    return -ENOMEM;
  j->pool = p;
  j->cb = cb;
  j->arg = arg;
  msgpack_sbuffer_init(&j->answer);
  j->kind = strdup(kind);
  j->file = strdup(file);
  j->symbol = strdup(symbol);
  if (j->kind == NULL || j->file == NULL || j->symbol == NULL) {
    job_free(j);
    return -ENOMEM;
  }
  if (p->queue_tail != NULL)
    p->queue_tail->next = j;
  else
    p->queue = j;
  p->queue_tail = j;
  start_next(p);
  return 0;
}

void scan_pool_free(struct scan_pool *p) {
  if (p == NULL)
    return;
  while (p->queue != NULL) {
    struct scan_job *j = p->queue;
    p->queue = j->next;
    j->cb(j->arg, NULL, NULL);
    job_free(j);
  }
  for (int i = 0; i < MAX_PARALLEL; i++) {
    struct scan_job *j = p->active[i];
    if (j != NULL) {
      j->finished = true;
      j->cb(j->arg, NULL, NULL);
      uv_process_kill(&j->proc, SIGKILL);
      close_job(j);
    }
  }
  free(p);
}
