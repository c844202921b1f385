#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Runs fn with stderr going to a temporary file; returns what was written (free it). */
static char *capture(void (*fn)(void)) {
  char path[] = "/tmp/test-log-XXXXXX", *text = calloc(1, 4096);
  int fd = mkstemp(path), saved = dup(2);
  FILE *f;
  cr_assert_geq(fd, 0);
  fflush(stderr);
  dup2(fd, 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  f = fdopen(fd, "r");
  rewind(f);
  fread(text, 1, 4095, f);
  fclose(f);
  unlink(path);
  return text;
}

static void log_some(void) {
  struct stat st;
  char js[64];
  /* What systemd does: JOURNAL_STREAM names the stream stderr is connected to. */
  fstat(2, &st);
  snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
  setenv("JOURNAL_STREAM", js, 1);
  log_init(LOG_INFO);
  log_error("e %d", 1);
  log_warning("w");
  log_info("i");
  log_debug("not shown at info");
}

static void log_plain(void) {
  setenv("JOURNAL_STREAM", "1:2", 1); /* another stream: stderr is not the journal */
  log_init(LOG_WARNING);
  log_error("e");
  log_warning("w");
  log_notice("not shown at warning");
}

Test(log, syslog_prefixes_when_stderr_is_the_journal) {
  char *text = capture(log_some);
  cr_expect_str_eq(text, "<3>e 1\n<4>w\n<6>i\n");
  free(text);
}

Test(log, plain_lines_with_level_names_otherwise) {
  char *text = capture(log_plain);
  cr_expect_str_eq(text, "backendd: error: e\nbackendd: warning: w\n");
  free(text);
}

Test(log, levels_parse_by_name_or_number) {
  cr_expect_eq(log_level_parse("error"), LOG_ERR);
  cr_expect_eq(log_level_parse("debug"), LOG_DEBUG);
  cr_expect_eq(log_level_parse("5"), LOG_NOTICE);
  cr_expect_lt(log_level_parse("loud"), 0);
  cr_expect_lt(log_level_parse("9"), 0);
  cr_expect_lt(log_level_parse("55"), 0);
}
