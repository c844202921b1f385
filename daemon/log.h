/* Logging to stderr, with syslog priority prefixes when stderr goes to the journal. */
#ifndef BACKENDD_LOG_H
#define BACKENDD_LOG_H

#include <syslog.h> /* LOG_ERR ... LOG_DEBUG */

/* Reads JOURNAL_STREAM; sets the most verbose level that is printed. */
void log_init(int max_level);
void log_set_level(int max_level);
int log_get_level(void);

/* Parses "error", "warning", "notice", "info", "debug" (or 3..7). Returns the level or -EINVAL. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
