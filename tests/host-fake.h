/*
 * A scripted stand-in for backendd, for tests/test-host.c: a thread accepting connections
 * on a Unix socket and answering host.declare, backend.list, backend.describe and
 * backend.call with canned answers (host-fake.c lists them), logging what it was asked.
 */
#ifndef TESTS_HOST_FAKE_H
#define TESTS_HOST_FAKE_H

#include <pthread.h>

struct host_fake {
  char path[128];
  int lfd;
  pthread_t thread;
  pthread_mutex_t lock;
  int conns;
  char log[4096];     /* "1:declare 1:call:exa 2:declare ..." (connection number:request) */
  char *declared;     /* the last host.declare parameters as compact JSON (malloc'd) */
  int declare_delay_ms; /* host.declare answers after this long (set under lock) */
};

/* Starts serving on dir/fake.sock. */
void host_fake_start(struct host_fake *f, const char *dir);
/* Stops (every client must have disconnected first) and frees. */
void host_fake_stop(struct host_fake *f);
/* A copy of the log (free it). */
char *host_fake_log(struct host_fake *f);

#endif
