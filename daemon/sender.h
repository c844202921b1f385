/*
 * The part of a connection's socket a worker thread may write to. A backend call's answer
 * leaves from the worker that ran it (dispatch.c), so the answer does not wait for the loop
 * to wake up and pick it up: on a VM, that wake-up costs as much as the rest of the call.
 *
 * Writers take turns under one lock. libuv writes queued data from the loop outside that
 * lock, so while libuv holds queued data the stream belongs to the loop alone and a worker
 * hands its answer to the loop instead. An answer a worker could only partly write has its
 * rest kept here ("spill"); the loop writes that before anything else (conn_flush).
 */
#ifndef BACKENDD_SENDER_H
#define BACKENDD_SENDER_H

#include <stdbool.h>
#include <stddef.h>

struct sender;

/* Loop thread: a sender for the connected socket fd (not owned). Returns NULL when out of memory. */
struct sender *sender_new(int fd);
/* Loop thread: a work item that may send takes a reference; the connection holds the first. */
void sender_ref(struct sender *s);
void sender_unref(struct sender *s);

/*
 * Any thread: writes one whole message without blocking. Returns 0 when the message is on its
 * way (written, or its rest kept for the loop, which must then flush the connection), or
 * -EAGAIN when the loop must send it (it owns the stream, or the socket is closed or full).
 */
int sender_send(struct sender *s, const char *msg, size_t len);

/*
 * Loop thread, before it writes to the socket itself: hands over the spill (NULL when none),
 * which goes out first. Returns -ENOMEM when a worker's message was cut short for want of
 * memory: the stream can no longer be followed and the connection must close.
 */
int sender_lock(struct sender *s, char **spill, size_t *spill_len);
/* Loop thread, after: `queued` is true while libuv still holds data to write. */
void sender_unlock(struct sender *s, bool queued);

/* Loop thread: before the socket is closed. No thread writes to it afterwards. */
void sender_close(struct sender *s);

#endif
