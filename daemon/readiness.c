/* The notify sequence: see readiness.h. */
#include "readiness.h"

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "daemon.h"
#include "plugins.h"
#include "reload.h"
#include "sd.h"

static const char *plural(unsigned long long n) { return n == 1 ? "" : "s"; }

/* STATUS= text for a daemon that serves: cheap, it only runs at start and after reloads. */
static void describe(struct daemon *d, char *buf, size_t len) {
  const struct plugin_set *set = plugins_current(d);
  unsigned long long ok = 0, requests = d->stats.requests;
  for (size_t i = 0; i < set->n; i++)
    ok += set->plugins[i]->state == EP_OK;
  snprintf(buf, len, "Serving %s: %llu plugin%s ok, %llu failed; %llu request%s served", d->opts.socket_path, ok,
           plural(ok), (unsigned long long)set->n - ok, requests, plural(requests));
}

static unsigned long long monotonic_usec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull;
}

static void on_pass_begin(struct daemon *d, void *arg) {
  if (d->stopping)
    return;
  /* The first discovery is part of starting up; only later passes are reloads. */
  if (!d->ready)
    systemd_notify("STATUS=Discovering plugins");
  else
    systemd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading plugins", monotonic_usec());
}

static void on_pass_end(const struct reload_pass *pass, void *arg) {
  struct daemon *d = arg;
  char status[512];
  /* Before readiness, READY=1 waits for the socket (readiness_ready). */
  if (!d->ready || d->stopping)
    return;
  describe(d, status, sizeof status);
  systemd_notifyf("READY=1\nSTATUS=%s", status);
}

void readiness_init(struct daemon *d) {
  systemd_notify_init(); /* an unusable NOTIFY_SOCKET is logged; the daemon serves all the same */
  reload_observe(d, on_pass_begin, on_pass_end, d);
}

void readiness_ready(struct daemon *d) {
  char status[512];
  d->ready = true;
  describe(d, status, sizeof status);
  systemd_notifyf("READY=1\nSTATUS=%s", status);
}

void readiness_stopping(struct daemon *d) {
  unsigned long long requests = d->stats.requests;
  systemd_notifyf("STOPPING=1\nSTATUS=Stopping after %llu request%s, waiting for %u connection%s", requests,
                  plural(requests), d->stats.connections, plural(d->stats.connections));
}

void readiness_free(struct daemon *d) { systemd_notify_free(); }
