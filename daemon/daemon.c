/* backendd's life: options, set-up, the loop, orderly teardown. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "exec.h"
#include "hosts.h"
#include "log.h"
#include "plugins.h"
#include "readiness.h"
#include "reload.h"
#include "rpc_backend.h"
#include "rpc_daemon.h"
#include "rpc_host.h"
#include "rpc_plugins.h"
#include "rpc_variant.h"
#include "scanner.h"
#include "server.h"
#include "variants.h"

static void close_handle(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static int daemon_setup(struct daemon *d, int (*register_extra)(struct daemon *)) {
  int err;
  d->started_ns = uv_hrtime();
  router_init(&d->router);
  if ((err = exec_pool_new(d->loop, &d->exec)) < 0) {
    log_error("cannot start the worker threads: %s", strerror(-err));
    return err;
  }
  /* Reload hooks run in this order: plugins first, then what is built on them. */
  if ((err = reload_init(d)) < 0 || (err = plugins_init(d)) < 0 || (err = variants_init(d)) < 0 ||
      (err = hosts_init(d)) < 0 || (err = rpc_daemon_register(d)) < 0 || (err = rpc_plugins_register(d)) < 0 ||
      (err = rpc_variant_register(d)) < 0 || (err = rpc_host_register(d)) < 0 || (err = rpc_backend_register(d)) < 0 || (register_extra != NULL && (err = register_extra(d)) < 0)) {
    log_error("cannot set up: %s", strerror(-err));
    return err;
  }
  readiness_init(d); /* before any child is started: it unsets NOTIFY_SOCKET */
  return server_start(d);
}

/* The first discovery is a reload like any other; the socket is served once it is done. */
static void on_plugins_discovered(const struct reload_pass *pass, void *arg) {
  struct daemon *d = arg;
  if (d->stopping)
    return;
  if (server_listen(d) < 0) {
    server_stop(d);
    return;
  }
  log_notice("backendd %s ready on %s (pid %d); try: backendctl --socket %s ping", BACKENDD_VERSION,
             d->opts.socket_path, (int)getpid(), d->opts.socket_path);
  readiness_ready(d);
}

static void daemon_teardown(struct daemon *d) {
  exec_pool_drain(d->exec); /* queued plugin calls finish first */
  /* Subsystems release their own handles (killing plugin scanners) before the rest are closed. */
  plugins_free(d);
  uv_walk(d->loop, close_handle, NULL);
  uv_run(d->loop, UV_RUN_DEFAULT);
  exec_pool_free(d->exec);
  variants_free(d);
  hosts_free(d);
  server_free(d);
  reload_free(d);
  readiness_free(d);
  router_free(&d->router);
  if (uv_loop_close(d->loop) != 0)
    log_warning("event loop closed with handles still open");
  options_free(&d->opts);
}

int daemon_main(int argc, char **argv, int (*register_extra)(struct daemon *)) {
  static struct daemon d;
  int r;
  if (argc > 1 && strcmp(argv[1], SCANNER_FLAG) == 0)
    _exit(scanner_main(argc, argv)); /* no exit handlers: the plugin's destructors are not ours to run */
  log_init(LOG_NOTICE);
  r = options_parse(&d.opts, argc, argv);
  if (r == OPTIONS_EXIT)
    return 0;
  if (r < 0) {
    options_free(&d.opts);
    return 2;
  }
  log_set_level(d.opts.log_level);
  /* A client hanging up while we write must be an error return, not a fatal signal. */
  signal(SIGPIPE, SIG_IGN);
  d.loop = uv_default_loop();
  if (daemon_setup(&d, register_extra) < 0 || reload_start(&d, on_plugins_discovered, &d) < 0) {
    daemon_teardown(&d);
    return 1;
  }
  uv_run(d.loop, UV_RUN_DEFAULT);
  log_notice("stopped after serving %llu requests", (unsigned long long)d.stats.requests);
  daemon_teardown(&d);
  return 0;
}
