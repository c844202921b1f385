#include <criterion/criterion.h>
#include <string.h>

#include "daemon.h"
#include "reload.h"

static struct daemon d;
static void setup(void) {
  memset(&d, 0, sizeof d);
  cr_assert_eq(reload_init(&d), 0);
}
static void teardown(void) { reload_free(&d); }
TestSuite(reload, .init = setup, .fini = teardown);

static int order[8], n_order;
static struct reload_pass *held; /* an asynchronous hook's pass, finished by the test */

static void hook_one(struct reload_pass *p, void *data) {
  order[n_order++] = 1;
  reload_note(p, RELOAD_ADDED, "dist-a 1.0");
  reload_note(p, RELOAD_FAILED, "dist-b: %s", "bad ABI");
  reload_hook_done(p);
}
static void hook_two(struct reload_pass *p, void *data) {
  order[n_order++] = 2;
  reload_note(p, RELOAD_REMOVED, "dist-c");
  reload_hook_done(p);
}
static void hook_async(struct reload_pass *p, void *data) {
  order[n_order++] = 3;
  held = p;
}

static msgpack_sbuffer report;
static int completions;
static void on_done(const struct reload_pass *p, void *arg) {
  msgpack_packer pk;
  completions++;
  msgpack_sbuffer_destroy(&report);
  msgpack_sbuffer_init(&report);
  msgpack_packer_init(&pk, &report, msgpack_sbuffer_write);
  reload_pack_report(p, &pk);
}

Test(reload, runs_hooks_in_order_and_reports_every_change) {
  msgpack_unpacked u;
  char text[512];
  n_order = completions = 0;
  msgpack_sbuffer_init(&report);
  reload_register(&d, "one", hook_one, NULL);
  reload_register(&d, "two", hook_two, NULL);
  cr_assert_eq(reload_start(&d, on_done, NULL), 0);
  cr_assert_eq(completions, 1);
  cr_assert_eq(n_order, 2);
  cr_assert_eq(order[0], 1);
  cr_assert_eq(order[1], 2);
  cr_assert_eq(d.stats.reloads, 1);
  msgpack_unpacked_init(&u);
  cr_assert_eq(msgpack_unpack_next(&u, report.data, report.size, NULL), MSGPACK_UNPACK_SUCCESS);
  msgpack_object_print_buffer(text, sizeof text, u.data);
  cr_assert_str_eq(text, "{\"added\"=>[\"dist-a 1.0\"], \"removed\"=>[\"dist-c\"], \"changed\"=>[], "
                         "\"failed\"=>[\"dist-b: bad ABI\"]}");
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&report);
}

Test(reload, a_request_during_a_pass_gets_the_next_pass) {
  n_order = completions = 0;
  held = NULL;
  msgpack_sbuffer_init(&report);
  reload_register(&d, "async", hook_async, NULL);
  cr_assert_eq(reload_start(&d, on_done, NULL), 0);
  cr_assert_not_null(held);
  cr_assert_eq(completions, 0);
  /* Two more requests while the first pass runs: both are served by one second pass. */
  cr_assert_eq(reload_start(&d, on_done, NULL), 0);
  cr_assert_eq(reload_start(&d, on_done, NULL), 0);
  cr_assert_eq(n_order, 1);
  reload_hook_done(held);
  cr_assert_eq(completions, 1);
  cr_assert_eq(n_order, 2); /* the second pass started and is waiting in the hook */
  reload_hook_done(held);
  cr_assert_eq(completions, 3);
  cr_assert_eq(n_order, 2);
  cr_assert_eq(d.stats.reloads, 2);
  msgpack_sbuffer_destroy(&report);
}

/* The observer (readiness.c's hook): begin and end around every pass, end before the callbacks. */
static char events[32];
static size_t n_events;
static void observe_begin(struct daemon *dd, void *arg) { events[n_events++] = 'b'; }
static void observe_end(const struct reload_pass *p, void *arg) { events[n_events++] = 'e'; }
static void on_done_event(const struct reload_pass *p, void *arg) { events[n_events++] = 'c'; }

Test(reload, an_observer_sees_every_pass_before_its_callbacks) {
  n_order = 0;
  n_events = 0;
  held = NULL;
  memset(events, 0, sizeof events);
  reload_register(&d, "async", hook_async, NULL);
  reload_observe(&d, observe_begin, observe_end, NULL);
  cr_assert_eq(reload_start(&d, on_done_event, NULL), 0);
  cr_assert_str_eq(events, "b");
  cr_assert_eq(reload_start(&d, on_done_event, NULL), 0); /* served by a second pass */
  reload_hook_done(held);
  cr_assert_str_eq(events, "bec" "b");
  reload_hook_done(held);
  cr_assert_str_eq(events, "becbec");
}
