/*
 * The host declarations the daemon knows (doc/backends.md): the ones installed as
 * declaration files with distributions (read on start and on each reload), and the ones
 * connections made with host.declare, which live as long as their connection. Also what a
 * connection has been told: the first call to an untrusted backend warns once per connection.
 *
 * Loop thread only.
 */
#ifndef BACKENDD_HOSTS_H
#define BACKENDD_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

struct backend_table;
struct conn;
struct daemon;
struct host;
struct host_session;

/* The file every host distribution may install in its .dist-info directory. */
#define HOSTS_DECLARATION_FILE "backend-host.json"
/* Declarations one connection may hold at a time. */
#define HOSTS_PER_CONNECTION 64

/* Sets up the registry and registers its reload hook (after the plugins'). Returns 0 or -ENOMEM. */
int hosts_init(struct daemon *d);
void hosts_free(struct daemon *d);

/*
 * The declaration of host `name` as connection c sees it: c's own, else the newest one an
 * open connection made, else the installed file's; NULL when unknown. c may be NULL. No
 * reference is taken: valid until the handler returns.
 */
struct host *hosts_lookup(struct daemon *d, struct conn *c, const char *name);

/*
 * Makes h connection c's declaration of h->name, replacing its previous one. Takes a
 * reference to h. Returns 0, -E2BIG (HOSTS_PER_CONNECTION reached) or -ENOMEM.
 */
int hosts_declare(struct daemon *d, struct conn *c, struct host *h);

/*
 * h's backends under the current plugins: discovered on first need, again after a reload.
 * Returns NULL only when out of memory.
 */
const struct backend_table *hosts_backends(struct daemon *d, struct host *h);

/* True the first time c calls the backend `backend` of host h: the untrusted warning goes with it. */
bool hosts_first_use(struct daemon *d, struct conn *c, const struct host *h, const char *backend);
/* Whether c was told already (hosts_first_use was true once); changes nothing. */
bool hosts_told(struct daemon *d, struct conn *c, const struct host *h, const char *backend);

/* The connection is closing: drop its declarations and what it was told (conn.c). */
void hosts_conn_closed(struct daemon *d, struct conn *c);

#endif
