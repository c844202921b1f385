/* The listening socket, its lock, signals and orderly shutdown. */
#ifndef BACKENDD_SERVER_H
#define BACKENDD_SERVER_H

struct daemon;

/*
 * Takes the socket: the one the service manager passed (socket activation), else its own:
 * creates its directory, locks <socket>.lock, replaces a stale socket file (refusing when a
 * live daemon answers on it), binds. Then installs the SIGINT/SIGTERM/SIGHUP handlers.
 * Returns 0 or a negative error, after logging why.
 */
int server_start(struct daemon *d);

/*
 * Starts accepting connections. Called once plugins are discovered, so that the first
 * client already sees them; until then connecting fails with ECONNREFUSED.
 */
int server_listen(struct daemon *d);

/* Starts an orderly shutdown: stop accepting, let in-flight requests finish, then stop the loop. */
void server_stop(struct daemon *d);

/* Releases what server_start took (after the loop has ended). */
void server_free(struct daemon *d);

#endif
