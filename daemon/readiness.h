/*
 * What the service manager is told (sd_notify(3), over sd.c): READY=1 once plugins are
 * discovered and the socket is served; RELOADING=1 with MONOTONIC_USEC as every later reload
 * starts, READY=1 as it completes; STOPPING=1 at shutdown; with STATUS= lines an operator
 * reads in `systemctl status`. Nothing at all when NOTIFY_SOCKET is unset.
 */
#ifndef BACKENDD_READINESS_H
#define BACKENDD_READINESS_H

struct daemon;

/* Reads (and unsets) NOTIFY_SOCKET and starts watching reloads. Call after reload_init(). */
void readiness_init(struct daemon *d);

/* The first discovery is done and the socket is served: READY=1. */
void readiness_ready(struct daemon *d);

/* Shutdown has started: STOPPING=1. */
void readiness_stopping(struct daemon *d);

void readiness_free(struct daemon *d);

#endif
