#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int max_level = LOG_NOTICE;
static int to_journal;

static const char *const level_names[] = {
  [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
  [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* systemd sets JOURNAL_STREAM=dev:ino of the stream it connected; only prefix when stderr is it. */
static int stderr_is_journal(void) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
    return 0;
  if (fstat(2, &st) != 0)
    return 0;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(int level) {
  max_level = level;
  to_journal = stderr_is_journal();
}

void log_set_level(int level) { max_level = level; }
int log_get_level(void) { return max_level; }

int log_level_parse(const char *s) {
  for (int l = LOG_ERR; l <= LOG_DEBUG; l++)
    if (level_names[l] != NULL && strcmp(s, level_names[l]) == 0)
      return l;
  if (s[0] >= '0' + LOG_ERR && s[0] <= '0' + LOG_DEBUG && s[1] == '\0')
    return s[0] - '0';
  return -EINVAL;
}

const char *log_level_name(int level) {
  if (level < LOG_ERR || level > LOG_DEBUG)
    return "?";
  return level_names[level];
}

void log_msg(int level, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  if (level > max_level)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* One fprintf per line so concurrent writers never interleave within a line. */
  if (to_journal)
    fprintf(stderr, "<%d>%s\n", level, line);
  else
    fprintf(stderr, "backendd: %s: %s\n", log_level_name(level), line);
}
