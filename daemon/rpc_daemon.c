#include "rpc_daemon.h"

#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "errors.h"
#include "log.h"
#include "message.h"
#include "plugins.h"
#include "variants.h"
#include "reload.h"
#include "request.h"

#define PROTOCOL_VERSION 1

static void pack_kv_str(msgpack_packer *pk, const char *key, const char *value) {
  proto_pack_cstr(pk, key);
  proto_pack_cstr(pk, value);
}

static void pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t value) {
  proto_pack_cstr(pk, key);
  msgpack_pack_uint64(pk, value);
}

/* Read once: getpid() is a system call on every glibc since 2.25, and ping is a hot path. */
static uint64_t daemon_pid(void) {
  static pid_t pid;
  if (pid == 0)
    pid = getpid(); /* loop thread only; the daemon never forks without exec */
  return (uint64_t)pid;
}

static void daemon_ping(struct request *req) {
  msgpack_packer *pk = request_reply_begin(req);
  msgpack_pack_map(pk, 3);
  proto_pack_cstr(pk, "pong");
  msgpack_pack_true(pk);
  pack_kv_str(pk, "version", BACKENDD_VERSION);
  pack_kv_u64(pk, "pid", daemon_pid());
  request_reply_end(req);
}

static void pack_limits(msgpack_packer *pk, const struct options *o) {
  msgpack_pack_map(pk, 7);
  pack_kv_u64(pk, "max_message_size", o->limits.max_message_size);
  pack_kv_u64(pk, "max_depth", o->limits.max_depth);
  pack_kv_u64(pk, "max_string_length", o->limits.max_string_length);
  pack_kv_u64(pk, "max_elements", o->limits.max_elements);
  pack_kv_u64(pk, "max_connections", o->max_connections);
  pack_kv_u64(pk, "max_inflight", o->max_inflight);
  pack_kv_u64(pk, "max_queued_bytes", o->max_queued_bytes);
}

/* Entry points by state, and distributions whose metadata could not be used. */
static void pack_plugin_counts(msgpack_packer *pk, const struct plugin_set *s, uint64_t scans) {
  uint64_t n[3] = {0}, bad_dists = 0;
  for (size_t i = 0; i < s->n; i++)
    n[s->plugins[i]->state]++;
  for (size_t i = 0; i < s->dists.n; i++)
    bad_dists += s->dists.dists[i].state != EP_OK;
  msgpack_pack_map(pk, 6);
  pack_kv_u64(pk, "distributions", s->dists.n);
  pack_kv_u64(pk, "unusable_distributions", bad_dists);
  pack_kv_u64(pk, "ok", n[EP_OK]);
  pack_kv_u64(pk, "failed", n[EP_FAILED]);
  pack_kv_u64(pk, "refused", n[EP_REFUSED]);
  pack_kv_u64(pk, "scans", scans);
}

static void daemon_info(struct request *req) {
  struct daemon *d = req->daemon;
  msgpack_packer *pk = request_reply_begin(req);
  uint32_t n_dirs = 0;
  while (d->opts.plugin_dirs[n_dirs] != NULL)
    n_dirs++;
  msgpack_pack_map(pk, 17);
  pack_kv_str(pk, "version", BACKENDD_VERSION);
  pack_kv_u64(pk, "protocol_version", PROTOCOL_VERSION);
  pack_kv_u64(pk, "pid", daemon_pid());
  proto_pack_cstr(pk, "uptime_seconds");
  msgpack_pack_double(pk, (double)(uv_hrtime() - d->started_ns) / 1e9);
  pack_kv_str(pk, "socket", d->opts.socket_path);
  proto_pack_cstr(pk, "plugin_path");
  msgpack_pack_array(pk, n_dirs);
  for (uint32_t i = 0; i < n_dirs; i++)
    proto_pack_cstr(pk, d->opts.plugin_dirs[i]);
  proto_pack_cstr(pk, "plugins");
  pack_plugin_counts(pk, plugins_current(d), d->stats.plugin_scans);
  proto_pack_cstr(pk, "cache");
  variants_pack_cache_info(d, pk);
  pack_kv_str(pk, "log_level", log_level_name(log_get_level()));
  pack_kv_u64(pk, "connections", d->stats.connections);
  pack_kv_u64(pk, "connections_total", d->stats.connections_total);
  pack_kv_u64(pk, "requests", d->stats.requests);
  pack_kv_u64(pk, "errors", d->stats.errors);
  pack_kv_u64(pk, "disconnects", d->stats.disconnects);
  pack_kv_u64(pk, "reloads", d->stats.reloads);
  proto_pack_cstr(pk, "stopping");
  proto_pack_bool(pk, d->stopping);
  proto_pack_cstr(pk, "limits");
  pack_limits(pk, &d->opts);
  request_reply_end(req);
}

static void pack_method(msgpack_packer *pk, const struct method *m) {
  msgpack_pack_map(pk, 3);
  pack_kv_str(pk, "name", m->name);
  proto_pack_cstr(pk, "params");
  msgpack_pack_array(pk, (uint32_t)m->n_params);
  for (size_t i = 0; i < m->n_params; i++) {
    const struct method_param *p = &m->params[i];
    msgpack_pack_map(pk, 4);
    pack_kv_str(pk, "name", p->name);
    pack_kv_str(pk, "type", param_type_name(p->type));
    proto_pack_cstr(pk, "required");
    proto_pack_bool(pk, p->required);
    pack_kv_str(pk, "doc", p->doc != NULL ? p->doc : "");
  }
  pack_kv_str(pk, "doc", m->doc);
}

static void daemon_methods(struct request *req) {
  const struct router *r = &req->daemon->router;
  msgpack_packer *pk = request_reply_begin(req);
  msgpack_pack_array(pk, (uint32_t)r->n);
  for (size_t i = 0; i < r->n; i++)
    pack_method(pk, r->methods[i]);
  request_reply_end(req);
}

static void on_reloaded(const struct reload_pass *pass, void *arg) {
  struct request *req = arg;
  reload_pack_report(pass, request_reply_begin(req));
  request_reply_end(req);
}

static void daemon_reload(struct request *req) {
  if (reload_start(req->daemon, on_reloaded, req) < 0)
    request_fail(req, PROTO_CODE_INTERNAL, "out of memory starting the reload");
}

static const struct method daemon_methods_table[] = {
  {"daemon.ping", daemon_ping, "liveness: answers {pong, version, pid}", NULL, 0},
  {"daemon.info", daemon_info, "version, protocol version, pid, uptime, socket, plugin path, cache file, counters, limits", NULL, 0},
  {"daemon.methods", daemon_methods, "every method with its named parameters and a one-line doc", NULL, 0},
  {"daemon.reload", daemon_reload, "rescan plugins as SIGHUP does; answers what was added, removed, changed, failed", NULL, 0},
};

int rpc_daemon_register(struct daemon *d) {
  return router_add(&d->router, daemon_methods_table, sizeof daemon_methods_table / sizeof daemon_methods_table[0]);
}
