/* The daemon's shared state: one instance, owned by main, used on the loop thread only. */
#ifndef BACKENDD_DAEMON_H
#define BACKENDD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "options.h"
#include "router.h"

struct server;
struct reload;
struct plugins;
struct variants;
struct hosts;
struct exec_pool;

struct daemon_stats {
  uint64_t connections_total; /* accepted since start */
  unsigned connections;       /* open now */
  uint64_t requests;          /* requests received */
  uint64_t errors;            /* error responses sent and protocol violations */
  uint64_t disconnects;       /* clients disconnected by the daemon (bad input, slow reader) */
  uint64_t reloads;           /* completed reloads */
  uint64_t plugin_scans;      /* plugin scanner processes started */
};

struct daemon {
  uv_loop_t *loop;
  struct options opts;
  uint64_t started_ns; /* uv_hrtime() at start */
  struct router router;
  struct server *server;
  struct conn *conns;     /* open connections (conn.c) */
  struct reload *reload;
  struct plugins *plugins;
  struct variants *variants;
  struct hosts *hosts;
  struct exec_pool *exec; /* worker threads for plugin code (exec.c) */
  struct daemon_stats stats;
  bool ready;    /* the first discovery is done and the socket is served */
  bool stopping;
};

/*
 * Runs the daemon: parses argv, sets up, serves until SIGINT/SIGTERM. register_extra (may be
 * NULL) adds methods after the built-in ones (the test daemon adds test.* this way).
 * Returns the process exit status: 0 after a clean shutdown (or --help, --version, a valid
 * --check-config), 1 when start-up failed, 2 on a usage or configuration error.
 */
int daemon_main(int argc, char **argv, int (*register_extra)(struct daemon *d));

#endif
