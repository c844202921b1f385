/*
 * The two halves of the systemd protocol the daemon speaks, without libsystemd:
 *
 * - socket activation (sd_listen_fds(3)): the listening socket the service manager passed
 *   in LISTEN_FDS / LISTEN_PID;
 * - readiness notification (sd_notify(3)): datagrams such as "READY=1" sent to the
 *   AF_UNIX socket named by NOTIFY_SOCKET (a path, or an abstract name given as "@name").
 *
 * Both read their environment variables once and unset them, because the daemon's children
 * (the plugin scanner re-executes backendd) must not take the socket or speak for the daemon.
 * Names use a systemd_ prefix so they never clash with libsystemd's sd_* if both are linked.
 */
#ifndef BACKENDD_SD_H
#define BACKENDD_SD_H

/* The first passed descriptor, as in sd_listen_fds(3). */
#define SYSTEMD_LISTEN_FDS_START 3

/*
 * Reads LISTEN_PID and LISTEN_FDS and unsets them (and LISTEN_FDNAMES). Returns
 * SYSTEMD_LISTEN_FDS_START when one socket was passed to this process, after checking that
 * it is a listening AF_UNIX SOCK_STREAM socket and making it close-on-exec; 0 when nothing
 * was passed to this process (variables unset, LISTEN_PID another process's, LISTEN_FDS=0);
 * or a negative error, after logging why (malformed variables, several sockets, or a
 * descriptor that is not such a socket).
 */
int systemd_listen_fd(void);

/*
 * Reads NOTIFY_SOCKET and unsets it. Returns 0, also when it is unset (notifications are
 * then silently nothing), or a negative error for an address that cannot be used (logged;
 * notifications are then off too). Call once, before any child is started.
 */
int systemd_notify_init(void);

/* Is there a service manager to notify? */
int systemd_notify_enabled(void);

/*
 * Sends state, newline-separated assignments such as "READY=1\nSTATUS=Serving", as one
 * datagram. Returns 0 (also when notifications are off) or a negative error; the first
 * failure is logged.
 */
int systemd_notify(const char *state);
int systemd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Closes the notification socket. */
void systemd_notify_free(void);

#endif
