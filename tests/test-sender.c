/*
 * Tests for daemon/sender.c: a worker's answer written whole, its rest kept for the loop when
 * the socket is full, and the stream left to the loop while libuv holds data or once closed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sender.h"

static int sv[2];
static struct sender *s;

static void setup(void) {
  int small = 4096;
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  /* The loop's end never blocks, as libuv's does not: these tests play the loop and the peer on one thread. */
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  cr_assert_not_null(s = sender_new(sv[0]));
}

static void teardown(void) {
  sender_unref(s);
  close(sv[0]);
  close(sv[1]);
}

/* Reads exactly len bytes from the peer's end. */
static void read_exactly(char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(sv[1], buf + got, len - got);
    cr_assert_gt(n, 0, "read: %s", n < 0 ? strerror(errno) : "end of stream");
    got += (size_t)n;
  }
}

/* Whatever the peer can read right now, without waiting. */
static size_t drain_now(char *buf, size_t cap) {
  size_t got = 0;
  ssize_t n;
  while (got < cap && (n = recv(sv[1], buf + got, cap - got, MSG_DONTWAIT)) > 0)
    got += (size_t)n;
  return got;
}

TestSuite(sender, .init = setup, .fini = teardown);

Test(sender, small_message_is_written_whole) {
  char buf[5];
  char *spill;
  size_t spill_len;
  cr_assert_eq(sender_send(s, "hello", 5), 0);
  read_exactly(buf, 5);
  cr_expect_eq(memcmp(buf, "hello", 5), 0);
  cr_assert_eq(sender_lock(s, &spill, &spill_len), 0);
  cr_expect_null(spill, "nothing left for the loop");
  sender_unlock(s, false);
}

Test(sender, rest_of_a_message_is_kept_for_the_loop_and_blocks_workers) {
  size_t len = 1 << 20, n;
  char *msg = malloc(len), *got = malloc(len), *spill;
  size_t spill_len;
  for (size_t i = 0; i < len; i++)
    msg[i] = (char)(i * 7 + 3);
  cr_assert_eq(sender_send(s, msg, len), 0, "partly written is on its way");
  cr_expect_eq(sender_send(s, "x", 1), -EAGAIN, "a worker may not write past another's rest");
  n = drain_now(got, len);
  cr_assert_lt(n, len, "the socket cannot take 1 MiB at once");
  cr_assert_eq(sender_lock(s, &spill, &spill_len), 0);
  cr_assert_not_null(spill);
  cr_expect_eq(n + spill_len, len, "written %zu + kept %zu", n, spill_len);
  /* The loop writes the rest (blocking here, as libuv would over time). */
  for (size_t off = 0; off < spill_len;) {
    ssize_t w = write(sv[0], spill + off, spill_len - off);
    if (w > 0)
      off += (size_t)w;
    n += drain_now(got + n, len - n);
  }
  sender_unlock(s, false);
  free(spill);
  read_exactly(got + n, len - n);
  cr_expect_eq(memcmp(got, msg, len), 0, "the message arrives whole and in order");
  cr_expect_eq(sender_send(s, "y", 1), 0, "workers write again once the loop is done");
  free(msg);
  free(got);
}

Test(sender, loop_with_queued_data_owns_the_stream) {
  char *spill;
  size_t spill_len;
  cr_assert_eq(sender_lock(s, &spill, &spill_len), 0);
  sender_unlock(s, true);
  cr_expect_eq(sender_send(s, "z", 1), -EAGAIN);
  cr_assert_eq(sender_lock(s, &spill, &spill_len), 0);
  sender_unlock(s, false);
  cr_expect_eq(sender_send(s, "z", 1), 0);
}

Test(sender, closed_or_full_socket_leaves_the_message_to_the_loop) {
  char filler[4096];
  char *spill;
  size_t spill_len;
  memset(filler, 'f', sizeof filler);
  while (send(sv[0], filler, sizeof filler, MSG_DONTWAIT) > 0)
    ;
  cr_expect_eq(sender_send(s, "full", 4), -EAGAIN, "nothing written: the loop sends it");
  cr_assert_eq(sender_lock(s, &spill, &spill_len), 0);
  cr_expect_null(spill);
  sender_unlock(s, false);
  sender_close(s);
  cr_expect_eq(sender_send(s, "gone", 4), -EAGAIN);
}

/* Workers racing each other never interleave bytes: every message arrives whole. */
#define RACERS 4
#define PER_RACER 2000
static void *racer(void *arg) {
  char msg[64];
  memset(msg, 'a' + (int)(intptr_t)arg, sizeof msg);
  for (int i = 0; i < PER_RACER; i++)
    while (sender_send(s, msg, sizeof msg) != 0) {
      char *spill;
      size_t spill_len;
      /* Play the loop: a kept rest is written before anything else. */
      if (sender_lock(s, &spill, &spill_len) == 0 && spill != NULL) {
        for (size_t off = 0; off < spill_len;) {
          ssize_t w = write(sv[0], spill + off, spill_len - off);
          if (w > 0)
            off += (size_t)w;
        }
      }
      sender_unlock(s, false);
      free(spill);
    }
  return NULL;
}

/* Returns the number of messages that did not arrive whole (asserting only on the test's thread). */
static void *reader(void *arg) {
  char msg[64];
  intptr_t bad = 0;
  for (int i = 0; i < RACERS * PER_RACER; i++) {
    size_t got = 0;
    while (got < sizeof msg) {
      ssize_t n = read(sv[1], msg + got, sizeof msg - got);
      if (n <= 0)
        return (void *)(intptr_t)(RACERS * PER_RACER - i);
      got += (size_t)n;
    }
    for (size_t k = 1; k < sizeof msg; k++)
      if (msg[k] != msg[0]) {
        bad++;
        break;
      }
  }
  return (void *)bad;
}

Test(sender, concurrent_workers_never_interleave) {
  pthread_t t[RACERS], r;
  void *bad;
  pthread_create(&r, NULL, reader, NULL);
  for (intptr_t i = 0; i < RACERS; i++)
    pthread_create(&t[i], NULL, racer, (void *)i);
  for (int i = 0; i < RACERS; i++)
    pthread_join(t[i], NULL);
  pthread_join(r, &bad);
  cr_expect_eq((intptr_t)bad, 0, "%ld of %d messages interleaved or lost", (long)(intptr_t)bad, RACERS * PER_RACER);
}
