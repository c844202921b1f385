#include "sender.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sender {
  pthread_mutex_t lock; /* everything below but refs */
  int fd;
  bool closed;
  bool loop_queued; /* libuv holds data: only the loop writes */
  bool broken;      /* a worker's message was cut short: the stream cannot be followed */
  char *spill;      /* the unwritten rest of a worker's message */
  size_t spill_len;
  unsigned refs; /* loop thread only */
};

struct sender *sender_new(int fd) {
  struct sender *s = calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  pthread_mutex_init(&s->lock, NULL);
  s->fd = fd;
  s->refs = 1;
  return s;
}

void sender_ref(struct sender *s) { s->refs++; }

void sender_unref(struct sender *s) {
  if (s == NULL || --s->refs > 0)
    return;
  pthread_mutex_destroy(&s->lock);
  free(s->spill);
  free(s);
}

/* With the lock held: keep what send() left of a message for the loop. */
static void spill(struct sender *s, const char *rest, size_t len) {
  if ((s->spill = malloc(len)) == NULL) {
    s->broken = true;
    return;
  }
  memcpy(s->spill, rest, len);
  s->spill_len = len;
}

int sender_send(struct sender *s, const char *msg, size_t len) {
  ssize_t n;
  int err = -EAGAIN;
  pthread_mutex_lock(&s->lock);
  if (!s->closed && !s->broken && !s->loop_queued && s->spill == NULL) {
    do
      n = send(s->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    /* Nothing written (full, or the peer gone): the loop sends it, and sees any error itself. */
    if (n > 0) {
      if ((size_t)n < len)
        spill(s, msg + n, len - (size_t)n);
      err = 0;
    }
  }
  pthread_mutex_unlock(&s->lock);
  return err;
}

int sender_lock(struct sender *s, char **spill, size_t *spill_len) {
  pthread_mutex_lock(&s->lock);
  *spill = s->spill;
  *spill_len = s->spill_len;
  s->spill = NULL;
  s->spill_len = 0;
  return s->broken ? -ENOMEM : 0;
}

void sender_unlock(struct sender *s, bool queued) {
  s->loop_queued = queued;
  pthread_mutex_unlock(&s->lock);
}

void sender_close(struct sender *s) {
  pthread_mutex_lock(&s->lock);
  s->closed = true;
  pthread_mutex_unlock(&s->lock);
}
