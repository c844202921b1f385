#define _GNU_SOURCE
#include "hosts.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends.h"
#include "conn.h"
#include "daemon.h"
#include "host.h"
#include "log.h"
#include "plugins.h"
#include "reload.h"
#include "security.h"

struct declared {
  struct host *host;
  uint64_t seq; /* when it was declared: the newest wins for connections that did not declare */
};

/* One connection's declarations and first-use warnings. */
struct host_session {
  struct host_session *prev, *next;
  struct declared hosts[HOSTS_PER_CONNECTION];
  size_t n_hosts;
  char **warned; /* "host\nbackend" */
  size_t n_warned;
};

/* Refusals logged so far, as "host\ndistribution\ngroup\nentry point\nreason": each is logged once. */
#define MAX_NOTICED 256

struct hosts {
  struct host **files; /* from declaration files, in search-path order */
  size_t n_files;
  struct host_session *sessions;
  uint64_t seq;
  char *noticed[MAX_NOTICED];
  size_t n_noticed;
};

static struct hosts *registry(struct daemon *d) { return d->hosts; }

static void free_files(struct hosts *r) {
  for (size_t i = 0; i < r->n_files; i++)
    host_unref(r->files[i]);
  free(r->files);
  r->files = NULL;
  r->n_files = 0;
}

static struct host *find_file_host(struct hosts *r, const char *name) {
  for (size_t i = 0; i < r->n_files; i++)
    if (strcmp(r->files[i]->name, name) == 0)
      return r->files[i];
  return NULL;
}

/* Reads one distribution's declaration file, if it has one. */
static void load_file(struct hosts *r, struct reload_pass *pass, const struct distribution *dist,
                      bool check_security, struct host **out) {
  char path[4096], why[1024];
  struct host *h;
  *out = NULL;
  if ((size_t)snprintf(path, sizeof path, "%s/" HOSTS_DECLARATION_FILE, dist->path) >= sizeof path ||
      access(path, F_OK) != 0)
    return;
  if (check_security && security_check_path(path, why, sizeof why) < 0) {
    reload_note(pass, RELOAD_FAILED, "%s: refused: %s", path, why);
    return;
  }
  if (host_load_file(path, &h, why, sizeof why) < 0) {
    reload_note(pass, RELOAD_FAILED, "host declaration %s", why);
    return;
  }
  if (find_file_host(r, h->name) != NULL) {
    reload_note(pass, RELOAD_FAILED, "%s: host '%s' is already declared by %s", path, h->name,
                find_file_host(r, h->name)->source);
    host_unref(h);
    return;
  }
  *out = h;
}

/* After the plugins' hook: the distributions it read are the current ones. */
static void hosts_reload(struct reload_pass *pass, void *data) {
  struct daemon *d = data;
  struct hosts *r = registry(d);
  const struct dist_set *dists = &plugins_current(d)->dists;
  bool check_security = geteuid() == 0 && !d->opts.allow_insecure_plugins;
  struct host **old = r->files;
  size_t n_old = r->n_files;
  r->files = calloc(dists->n > 0 ? dists->n : 1, sizeof *r->files);
  r->n_files = 0;
  if (r->files == NULL) {
    r->files = old;
    r->n_files = n_old;
    reload_note(pass, RELOAD_FAILED, "host declarations: out of memory; keeping the previous ones");
    reload_hook_done(pass);
    return;
  }
  for (size_t i = 0; i < dists->n; i++) {
    struct host *h;
    load_file(r, pass, &dists->dists[i], check_security, &h);
    if (h != NULL)
      r->files[r->n_files++] = h;
  }
  for (size_t i = 0; i < n_old; i++)
    host_unref(old[i]);
  free(old);
  reload_hook_done(pass);
}

int hosts_init(struct daemon *d) {
  if ((d->hosts = calloc(1, sizeof *d->hosts)) == NULL)
    return -ENOMEM;
  return reload_register(d, "hosts", hosts_reload, d);
}

static void session_free(struct hosts *r, struct host_session *s) {
  if (s == NULL)
    return;
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    r->sessions = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  for (size_t i = 0; i < s->n_hosts; i++)
    host_unref(s->hosts[i].host);
  for (size_t i = 0; i < s->n_warned; i++)
    free(s->warned[i]);
  free(s->warned);
  free(s);
}

static void forget_notices(struct hosts *r) {
  for (size_t i = 0; i < r->n_noticed; i++)
    free(r->noticed[i]);
  r->n_noticed = 0;
}

void hosts_free(struct daemon *d) {
  struct hosts *r = registry(d);
  if (r == NULL)
    return;
  while (r->sessions != NULL)
    session_free(r, r->sessions);
  forget_notices(r);
  free_files(r);
  free(r);
  d->hosts = NULL;
}

static struct host_session *session_of(struct daemon *d, struct conn *c, bool create) {
  struct host_session **slot = conn_host_session(c), *s = *slot;
  struct hosts *r = registry(d);
  if (s != NULL || !create)
    return s;
  if ((s = calloc(1, sizeof *s)) == NULL)
    return NULL;
  s->next = r->sessions;
  if (r->sessions != NULL)
    r->sessions->prev = s;
  r->sessions = s;
  *slot = s;
  return s;
}

static struct declared *session_find(struct host_session *s, const char *name) {
  for (size_t i = 0; s != NULL && i < s->n_hosts; i++)
    if (strcmp(s->hosts[i].host->name, name) == 0)
      return &s->hosts[i];
  return NULL;
}

struct host *hosts_lookup(struct daemon *d, struct conn *c, const char *name) {
  struct hosts *r = registry(d);
  struct declared *own = c != NULL ? session_find(session_of(d, c, false), name) : NULL, *newest = NULL;
  if (own != NULL)
    return own->host;
  for (struct host_session *s = r->sessions; s != NULL; s = s->next) {
    struct declared *e = session_find(s, name);
    if (e != NULL && (newest == NULL || e->seq > newest->seq))
      newest = e;
  }
  return newest != NULL ? newest->host : find_file_host(r, name);
}

int hosts_declare(struct daemon *d, struct conn *c, struct host *h) {
  struct host_session *s = session_of(d, c, true);
  struct declared *e;
  if (s == NULL)
    return -ENOMEM;
  if ((e = session_find(s, h->name)) != NULL) {
    host_unref(e->host);
  } else {
    if (s->n_hosts == HOSTS_PER_CONNECTION)
      return -E2BIG;
    e = &s->hosts[s->n_hosts++];
  }
  host_ref(h);
  e->host = h;
  e->seq = ++registry(d)->seq;
  return 0;
}

/*
 * Is this the first time h's table refuses this adapter for this reason? Every connection
 * declares its own host object and every reload rebuilds the tables, so the same refusal comes
 * up again and again. The record is bounded (clients choose host names and reserved reasons):
 * when full it starts over, and a refusal may then be logged once more. Out of memory: yes.
 */
static bool first_notice(struct hosts *r, const struct host *h, const struct backend *b) {
  const struct plugin *p = b->plugin;
  char *key;
  if (asprintf(&key, "%s\n%s\n%s\n%s\n%s", h->name, p->dist_key, p->group, p->name, b->reason) < 0)
    return true;
  for (size_t i = 0; i < r->n_noticed; i++)
    if (strcmp(r->noticed[i], key) == 0) {
      free(key);
      return false;
    }
  if (r->n_noticed == MAX_NOTICED)
    forget_notices(r);
  r->noticed[r->n_noticed++] = key;
  return true;
}

const struct backend_table *hosts_backends(struct daemon *d, struct host *h) {
  const struct plugin_set *set = plugins_current(d);
  struct backend_table *t;
  if (h->backends != NULL && h->backends->generation == set->generation)
    return h->backends;
  if (backend_table_build(h, set, &t) < 0)
    return NULL;
  for (size_t i = 0; i < t->n_refused; i++)
    if (t->refused[i].plugin->state == EP_OK && /* unusable plugins were logged by discovery */
        first_notice(registry(d), h, &t->refused[i]))
      log_notice("%s (%s): backend %s (%s) refused: %s", h->name, h->source, t->refused[i].plugin->name,
                 t->refused[i].plugin->dist_name, t->refused[i].reason);
  backend_table_free(h->backends);
  h->backends = t;
  return t;
}

static bool told(const struct host_session *s, const struct host *h, const char *backend) {
  size_t hl = strlen(h->name);
  for (size_t i = 0; s != NULL && i < s->n_warned; i++) {
    const char *k = s->warned[i];
    if (strncmp(k, h->name, hl) == 0 && k[hl] == '\n' && strcmp(k + hl + 1, backend) == 0)
      return true;
  }
  return false;
}

bool hosts_told(struct daemon *d, struct conn *c, const struct host *h, const char *backend) {
  return told(session_of(d, c, false), h, backend);
}

bool hosts_first_use(struct daemon *d, struct conn *c, const struct host *h, const char *backend) {
  struct host_session *s = session_of(d, c, true);
  char *key, **grown;
  if (s == NULL)
    return true; /* out of memory: warning again is the safe side */
  if (told(s, h, backend))
    return false;
  if (asprintf(&key, "%s\n%s", h->name, backend) < 0)
    return true;
  if ((grown = realloc(s->warned, (s->n_warned + 1) * sizeof *grown)) == NULL) {
    free(key);
    return true;
  }
  s->warned = grown;
  s->warned[s->n_warned++] = key;
  return true;
}

void hosts_conn_closed(struct daemon *d, struct conn *c) {
  struct host_session **slot = conn_host_session(c);
  if (registry(d) != NULL)
    session_free(registry(d), *slot);
  *slot = NULL;
}
