/* The config file (daemon/conffile.c): every setting, precedence, errors by line, --check-config. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conffile.h"
#include "config.h"
#include "harness.h"
#include "options.h"

static struct options o;
static char *err_text, *out_text; /* what the last parse printed */

static void clear_env(void) {
  unsetenv("BACKENDD_SOCKET");
  unsetenv("BACKENDD_CACHE");
  unsetenv("BACKENDD_PATH");
  unsetenv("CACHE_DIRECTORY");
  setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
}
static void cleanup(void) {
  options_free(&o);
  free(err_text);
  free(out_text);
  err_text = out_text = NULL;
  harness_cleanup();
}
TestSuite(config, .init = clear_env, .fini = cleanup);

/* A new file holding text, in a temporary directory. */
static const char *write_conf(const char *text) {
  static char path[256];
  FILE *f;
  snprintf(path, sizeof path, "%s/backendd.conf", harness_tmpdir());
  cr_assert_not_null(f = fopen(path, "w"));
  cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
  cr_assert_eq(fclose(f), 0);
  return path;
}

static char *slurp_fd(int fd) {
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  char buf[4096];
  ssize_t n;
  cr_assert_not_null(f);
  lseek(fd, 0, SEEK_SET);
  while ((n = read(fd, buf, sizeof buf)) > 0)
    fwrite(buf, 1, (size_t)n, f);
  fclose(f);
  return s;
}

/* options_parse(argv) with stdout and stderr captured into out_text and err_text. */
static int parse_argv(char **argv) {
  int argc = 0, r, saved_out, saved_err, out_fd, err_fd;
  char out_path[] = "/tmp/backendd-test-out.XXXXXX", err_path[] = "/tmp/backendd-test-err.XXXXXX";
  while (argv[argc] != NULL)
    argc++;
  options_free(&o);
  free(err_text);
  free(out_text);
  cr_assert_geq(out_fd = mkstemp(out_path), 0);
  cr_assert_geq(err_fd = mkstemp(err_path), 0);
  unlink(out_path);
  unlink(err_path);
  fflush(stdout);
  fflush(stderr);
  saved_out = dup(1);
  saved_err = dup(2);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  r = options_parse(&o, argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  out_text = slurp_fd(out_fd);
  err_text = slurp_fd(err_fd);
  close(out_fd);
  close(err_fd);
  return r;
}
#define PARSE(...) parse_argv((char *[]){"backendd", __VA_ARGS__, NULL})

/* Parses text as the --config file, with more arguments after it. */
#define PARSE_CONF(text, ...) PARSE("--config", (char *)write_conf(text), ##__VA_ARGS__)

static const char every_setting[] =
  "socket = /tmp/file.sock\n"
  "plugin-path = /file/a:/file/b\n"
  "cache = /tmp/file.db\n"
  "log-level = debug\n"
  "max-message-size = 1M\n"
  "max-depth = 8\n"
  "max-string-length = 4K\n"
  "max-elements = 1000\n"
  "max-connections = 10\n"
  "max-inflight = 7\n"
  "max-queued-bytes = 64K\n"
  "shutdown-timeout = 0.5\n"
  "plugin-timeout = 2.25\n"
  "no-cache = yes\n"
  "allow-insecure-plugins = true\n";

Test(config, every_setting_from_the_file) {
  cr_assert_eq(PARSE_CONF(every_setting), OPTIONS_RUN, "%s", err_text);
  cr_assert_str_eq(err_text, "");
  cr_assert_str_eq(o.socket_path, "/tmp/file.sock");
  cr_assert_str_eq(o.plugin_path_arg, "/file/a:/file/b");
  cr_assert_str_eq(o.plugin_dirs[0], "/file/a");
  cr_assert_str_eq(o.plugin_dirs[1], "/file/b");
  cr_assert_str_eq(o.plugin_dirs[2], BACKENDD_PLUGINDIR);
  cr_assert_str_eq(o.cache_path, "/tmp/file.db");
  cr_assert_eq(o.log_level, LOG_DEBUG);
  cr_assert_eq(o.limits.max_message_size, (size_t)1 << 20);
  cr_assert_eq(o.limits.max_depth, 8);
  cr_assert_eq(o.limits.max_string_length, 4096);
  cr_assert_eq(o.limits.max_elements, 1000);
  cr_assert_eq(o.max_connections, 10);
  cr_assert_eq(o.max_inflight, 7);
  cr_assert_eq(o.max_queued_bytes, 65536);
  cr_assert_float_eq(o.shutdown_timeout, 0.5, 1e-9);
  cr_assert_float_eq(o.plugin_timeout, 2.25, 1e-9);
  cr_assert(o.no_cache);
  cr_assert(o.allow_insecure_plugins);
  cr_assert_not_null(o.config_path);
  cr_assert(strstr(o.config_path, "/backendd.conf") != NULL);
}

Test(config, the_test_file_sets_every_setting) {
  for (size_t i = 0; i < options_table_len; i++) {
    char line[128];
    snprintf(line, sizeof line, "\n%s = ", options_table[i].name);
    cr_assert(strstr(every_setting, line) != NULL || strncmp(every_setting, line + 1, strlen(line + 1)) == 0,
              "the test file does not set %s", options_table[i].name);
  }
}

Test(config, comments_blank_lines_and_white_space) {
  cr_assert_eq(PARSE_CONF("\xEF\xBB\xBF# a comment\n"
                          "; another\n"
                          "\n"
                          "   \n"
                          "   # an indented comment\n"
                          "max-depth=8\n"
                          "max-inflight  =   7   \n"
                          "log-level = info ; a comment after white space\n"
                          "socket = /tmp/x;y.sock\n"
                          "cache = /tmp/c.db\r\n"
                          "no-cache = No"),
               OPTIONS_RUN, "%s", err_text);
  cr_assert_eq(o.limits.max_depth, 8);
  cr_assert_eq(o.max_inflight, 7);
  cr_assert_eq(o.log_level, LOG_INFO);
  cr_assert_str_eq(o.socket_path, "/tmp/x;y.sock");
  cr_assert_str_eq(o.cache_path, "/tmp/c.db");
  cr_assert_not(o.no_cache);
}

Test(config, an_empty_file_leaves_the_defaults) {
  struct options d;
  cr_assert_eq(PARSE("--no-config"), OPTIONS_RUN);
  d = o;
  memset(&o, 0, sizeof o);
  cr_assert_eq(PARSE_CONF("# nothing\n"), OPTIONS_RUN);
  cr_assert_eq(o.limits.max_message_size, d.limits.max_message_size);
  cr_assert_eq(o.max_inflight, d.max_inflight);
  cr_assert_eq(o.log_level, LOG_NOTICE);
  cr_assert_str_eq(o.socket_path, d.socket_path);
  cr_assert_null(d.config_path);
  options_free(&d);
}

Test(config, flags_override_the_file) {
  cr_assert_eq(PARSE_CONF(every_setting, "--socket", "/tmp/flag.sock", "--max-depth", "16", "--log-level",
                          "warning", "--plugin-path", "/flag/a", "--no-cache=no", "--allow-insecure-plugins=false"),
               OPTIONS_RUN, "%s", err_text);
  cr_assert_str_eq(o.socket_path, "/tmp/flag.sock");
  cr_assert_eq(o.limits.max_depth, 16);
  cr_assert_eq(o.log_level, LOG_WARNING);
  cr_assert_str_eq(o.plugin_dirs[0], "/flag/a"); /* the file's path is replaced, not added to */
  cr_assert_str_eq(o.plugin_dirs[1], BACKENDD_PLUGINDIR);
  cr_assert_not(o.no_cache);
  cr_assert_not(o.allow_insecure_plugins);
  cr_assert_eq(o.max_inflight, 7); /* what no flag set stays the file's */
  /* A bare flag is yes, whatever the file says. */
  cr_assert_eq(PARSE_CONF("no-cache = no\n", "--no-cache"), OPTIONS_RUN);
  cr_assert(o.no_cache);
}

Test(config, environment_beats_the_file_and_flags_beat_both) {
  setenv("BACKENDD_SOCKET", "/tmp/env.sock", 1);
  setenv("BACKENDD_CACHE", "/tmp/env.db", 1);
  setenv("BACKENDD_PATH", "/env/a", 1);
  cr_assert_eq(PARSE_CONF(every_setting), OPTIONS_RUN, "%s", err_text);
  cr_assert_str_eq(o.socket_path, "/tmp/env.sock");
  cr_assert_str_eq(o.cache_path, "/tmp/env.db");
  /* BACKENDD_PATH adds directories after the file's, as after --plugin-path's. */
  cr_assert_str_eq(o.plugin_dirs[0], "/file/a");
  cr_assert_str_eq(o.plugin_dirs[1], "/file/b");
  cr_assert_str_eq(o.plugin_dirs[2], "/env/a");
  cr_assert_eq(PARSE_CONF(every_setting, "--socket", "/tmp/flag.sock"), OPTIONS_RUN);
  cr_assert_str_eq(o.socket_path, "/tmp/flag.sock");
  cr_assert_str_eq(o.cache_path, "/tmp/env.db");
  /* An empty variable is no variable. */
  setenv("BACKENDD_SOCKET", "", 1);
  cr_assert_eq(PARSE_CONF(every_setting), OPTIONS_RUN);
  cr_assert_str_eq(o.socket_path, "/tmp/file.sock");
}

/* Each kind of error: -EINVAL, and one line on stderr naming the file, the line and why. */
Test(config, errors_name_the_line) {
  char long_line[256];
  static const struct {
    const char *text;
    int line;
    const char *why;
  } cases[] = {
    {"socket = /a\nsokcet = /b\n", 2, "unknown setting 'sokcet' (did you mean 'socket'?)"},
    {"max_depth = 8\n", 1, "unknown setting 'max_depth' (did you mean 'max-depth'?)"},
    {"xyzzy = 1\n", 1, "unknown setting 'xyzzy'"},
    {"# c\n\nmax-message-size = 12X\n", 3, "max-message-size: '12X' is not a size between 64 and"},
    {"max-queued-bytes = 100\n", 1, "max-queued-bytes: '100' is not a size between 4096 and"},
    {"max-depth = 99\n", 1, "max-depth: '99' is not a number between 2 and 32"},
    {"max-inflight = 0\n", 1, "max-inflight: '0' is not a number between 1 and 1048576"},
    {"shutdown-timeout = soon\n", 1, "shutdown-timeout: 'soon' is not a number of seconds between 0 and 3600"},
    {"plugin-timeout = nan\n", 1, "plugin-timeout: 'nan' is not a number of seconds"},
    {"log-level = loud\n", 1, "log-level: 'loud' is not one of error, warning, notice, info, debug"},
    {"no-cache = maybe\n", 1, "no-cache: 'maybe' is not yes or no"},
    {"socket = /a\nsocket /b\n", 2, "expected 'key = value'"},
    {"socket: /a\n", 1, "expected 'key = value'"},
    {"socket ; = /a\n", 1, "expected 'key = value'"},
    {"= /a\n", 1, "no key before '='"},
    {"[backendd]\nsocket = /a\n", 1, "sections are not used"},
    {"socket = /a\n  cache = /b\n", 2, "indented line"},
    {"socket = /a\nmax-depth = 8\nsocket = /b\n", 3, "socket: already set on line 1"},
    {"cache =\n", 1, "cache: no value"},
    {"socket = \"/a\"\n", 1, "socket: values are written without quotes"},
    /* Only the first error is reported. */
    {"max-depth = 99\nlog-level = loud\n", 1, "max-depth: '99'"},
    {NULL, 1, "line longer than 198 characters"},
  };
  memset(long_line, 'x', sizeof long_line);
  memcpy(long_line, "socket = /", 10);
  long_line[199] = '\0'; /* 199 characters */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *text = cases[i].text != NULL ? cases[i].text : long_line;
    const char *path = write_conf(text);
    char *want;
    cr_assert_eq(PARSE("--config", (char *)path), -EINVAL, "case %zu (%s): accepted", i, text);
    cr_assert_geq(asprintf(&want, "backendd: %s:%d: %s", path, cases[i].line, cases[i].why), 0);
    cr_assert(strncmp(err_text, want, strlen(want)) == 0, "case %zu: stderr is\n%s\nwant\n%s", i, err_text, want);
    cr_assert(strchr(err_text, '\n') == err_text + strlen(err_text) - 1, "case %zu: not one line:\n%s", i, err_text);
    cr_assert_str_eq(out_text, "");
    free(want);
  }
}

Test(config, the_longest_line_and_line_numbers_after_it) {
  char text[512];
  int n = snprintf(text, sizeof text, "socket = /");
  while (n < CONFFILE_MAX_LINE)
    text[n++] = 'x';
  snprintf(text + n, sizeof text - (size_t)n, "\nmax-depth = 99\n");
  cr_assert_eq(PARSE_CONF(text), -EINVAL);
  cr_assert(strstr(err_text, ":2: max-depth: '99'") != NULL, "%s", err_text);
}

Test(config, a_missing_file) {
  const char *dir = harness_tmpdir();
  char *path;
  cr_assert_geq(asprintf(&path, "%s/none.conf", dir), 0);
  /* Given with --config: an error. */
  cr_assert_eq(PARSE("--config", path), -EINVAL);
  cr_assert(strstr(err_text, "cannot read config file") != NULL && strstr(err_text, path) != NULL &&
            strstr(err_text, "No such file or directory") != NULL, "%s", err_text);
  /* The default file missing: fine (the default path itself is the build's, so asked directly). */
  options_free(&o);
  cr_assert_eq(conffile_load(&o, path, false), 0);
  cr_assert_null(o.config_path);
  /* A directory is no file. */
  cr_assert_eq(PARSE("--config", (char *)dir), -EINVAL);
  cr_assert(strstr(err_text, "cannot read config file") != NULL, "%s", err_text);
  free(path);
}

Test(config, no_config_and_empty_config) {
  cr_assert_eq(PARSE("--config", ""), -EINVAL);
  cr_assert(strstr(err_text, "--config: empty path") != NULL, "%s", err_text);
  cr_assert_eq(PARSE("--no-config", "--config", (char *)write_conf("max-depth = 8\n")), -EINVAL);
  cr_assert(strstr(err_text, "--no-config") != NULL, "%s", err_text);
  cr_assert_eq(PARSE("--no-config"), OPTIONS_RUN);
  cr_assert_null(o.config_path);
  /* /dev/null is an empty file, not an error. */
  cr_assert_eq(PARSE("--config", "/dev/null"), OPTIONS_RUN, "%s", err_text);
}

Test(config, a_nul_byte_is_an_error) {
  const char *path = write_conf("max-depth = 8\n");
  FILE *f = fopen(path, "a");
  fwrite("\0max-depth = 99\n", 1, 16, f);
  fclose(f);
  cr_assert_eq(PARSE("--config", (char *)path), -EINVAL);
  cr_assert(strstr(err_text, "not a text file") != NULL, "%s", err_text);
}

static void assert_same_settings(const struct options *a, const struct options *b) {
  size_t i;
  cr_assert_str_eq(a->socket_path, b->socket_path);
  cr_assert_str_eq(a->cache_path, b->cache_path);
  for (i = 0; a->plugin_dirs[i] != NULL; i++)
    cr_assert(b->plugin_dirs[i] != NULL && strcmp(a->plugin_dirs[i], b->plugin_dirs[i]) == 0,
              "plugin directory %zu: %s", i, a->plugin_dirs[i]);
  cr_assert_null(b->plugin_dirs[i]);
  cr_assert_eq(a->log_level, b->log_level);
  cr_assert_eq(a->limits.max_message_size, b->limits.max_message_size);
  cr_assert_eq(a->limits.max_depth, b->limits.max_depth);
  cr_assert_eq(a->limits.max_string_length, b->limits.max_string_length);
  cr_assert_eq(a->limits.max_elements, b->limits.max_elements);
  cr_assert_eq(a->max_connections, b->max_connections);
  cr_assert_eq(a->max_inflight, b->max_inflight);
  cr_assert_eq(a->max_queued_bytes, b->max_queued_bytes);
  cr_assert(a->shutdown_timeout == b->shutdown_timeout, "%.17g != %.17g", a->shutdown_timeout, b->shutdown_timeout);
  cr_assert(a->plugin_timeout == b->plugin_timeout, "%.17g != %.17g", a->plugin_timeout, b->plugin_timeout);
  cr_assert_eq(a->no_cache, b->no_cache);
  cr_assert_eq(a->allow_insecure_plugins, b->allow_insecure_plugins);
}

/* --check-config's output, read back as a config file, gives the same settings. Returns the output. */
static char *assert_round_trip(char **args) {
  struct options first;
  char *printed, *argv[16] = {"backendd"};
  size_t n = 1;
  for (; args[n - 1] != NULL; n++)
    argv[n] = args[n - 1];
  cr_assert_eq(parse_argv(argv), OPTIONS_RUN, "%s", err_text);
  first = o;
  memset(&o, 0, sizeof o);
  argv[n] = "--check-config";
  argv[n + 1] = NULL;
  cr_assert_eq(parse_argv(argv), OPTIONS_EXIT, "%s", err_text);
  cr_assert_str_eq(err_text, "");
  cr_assert(strncmp(out_text, "# backendd ", 11) == 0, "%s", out_text);
  for (size_t i = 0; i < options_table_len; i++) {
    char key[64];
    snprintf(key, sizeof key, "\n%s = ", options_table[i].name);
    cr_assert(strstr(out_text, key) != NULL, "--check-config does not print %s:\n%s", options_table[i].name, out_text);
  }
  printed = strdup(out_text);
  cr_assert_eq(PARSE_CONF(printed), OPTIONS_RUN, "the output of --check-config is not a valid file:\n%s\n%s", err_text, printed);
  assert_same_settings(&first, &o);
  options_free(&first);
  return printed;
}

Test(config, check_config_output_reads_back_to_the_same_settings) {
  char *conf = strdup(write_conf("max-message-size = 12345\nmax-elements = 3M\nshutdown-timeout = 0.1\n"
                                 "plugin-timeout = 1234.5678\nlog-level = 6\nallow-insecure-plugins = on\n"
                                 "max-string-length = 1G\nplugin-path = /file/a::/file/b:/file/a\n"));
  char *printed;
  setenv("BACKENDD_PATH", "/env/a:/file/b", 1);
  free(assert_round_trip((char *[]){"--no-config", NULL}));
  free(assert_round_trip((char *[]){"--config", conf, NULL}));
  printed = assert_round_trip((char *[]){"--config", conf, "--cache", "/tmp/flag.db", "--no-cache", "--max-depth", "3", NULL});
  cr_assert(strstr(printed, "\nmax-message-size = 12345\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\nmax-elements = 3M\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\nshutdown-timeout = 0.1\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\nplugin-timeout = 1234.5678\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\nlog-level = info\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\nallow-insecure-plugins = yes\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\nno-cache = yes\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\nmax-depth = 3\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\ncache = /tmp/flag.db\n") != NULL, "%s", printed);
  cr_assert(strstr(printed, "\nplugin-path = /file/a:/file/b:/env/a:" BACKENDD_PLUGINDIR "\n") != NULL, "%s", printed);
  free(printed);
  free(conf);
}

/* The shipped example: every setting once, commented out, at its default. */
Test(config, the_example_file_lists_every_setting_at_its_default) {
  FILE *f = fopen(EXAMPLE_CONF, "r");
  char *text = NULL, *uncommented = NULL, *line = NULL;
  size_t cap = 0, len = 0;
  FILE *out = open_memstream(&uncommented, &len);
  struct options d;
  cr_assert_not_null(f, "%s: %s", EXAMPLE_CONF, strerror(errno));
  while (getline(&line, &cap, f) > 0) {
    /* "#key = value" is a commented setting: uncomment it; other comments stay. */
    bool setting = line[0] == '#' && line[1] >= 'a' && line[1] <= 'z';
    fputs(setting ? line + 1 : line, out);
  }
  fclose(out);
  fclose(f);
  free(line);
  f = fopen(EXAMPLE_CONF, "r");
  text = calloc(1, CONFFILE_MAX_SIZE + 1);
  cr_assert_gt(fread(text, 1, CONFFILE_MAX_SIZE, f), 0);
  fclose(f);
  /* As shipped it sets nothing. */
  cr_assert_eq(PARSE_CONF(text), OPTIONS_RUN, "%s", err_text);
  for (size_t i = 0; i < options_table_len; i++) {
    char key[64];
    snprintf(key, sizeof key, "\n#%s = ", options_table[i].name);
    cr_assert(strstr(text, key) != NULL, "the example does not show %s", options_table[i].name);
  }
  cr_assert_eq(PARSE("--no-config"), OPTIONS_RUN);
  d = o;
  memset(&o, 0, sizeof o);
  /* Uncommented it is valid (every key once) and, but for the example paths, the defaults. */
  cr_assert_eq(PARSE_CONF(uncommented), OPTIONS_RUN, "%s", err_text);
  cr_assert_eq(o.log_level, d.log_level);
  cr_assert_eq(o.limits.max_message_size, d.limits.max_message_size);
  cr_assert_eq(o.limits.max_depth, d.limits.max_depth);
  cr_assert_eq(o.limits.max_string_length, d.limits.max_string_length);
  cr_assert_eq(o.limits.max_elements, d.limits.max_elements);
  cr_assert_eq(o.max_connections, d.max_connections);
  cr_assert_eq(o.max_inflight, d.max_inflight);
  cr_assert_eq(o.max_queued_bytes, d.max_queued_bytes);
  cr_assert(o.shutdown_timeout == d.shutdown_timeout && o.plugin_timeout == d.plugin_timeout);
  cr_assert_eq(o.no_cache, d.no_cache);
  cr_assert_eq(o.allow_insecure_plugins, d.allow_insecure_plugins);
  options_free(&d);
  free(text);
  free(uncommented);
}

/* ---- the real backendd ---- */

static void run(struct hrun *r, const char *const *args) {
  const char *argv[16] = {harness_bin("BACKENDD_BIN")};
  for (size_t i = 0; args[i] != NULL; i++)
    argv[i + 1] = args[i];
  harness_run(r, HARNESS_TIMEOUT_MS, argv);
}

Test(config, backendd_check_config_exits_0_or_2) {
  struct hrun r;
  char *good = strdup(write_conf("# good\nmax-depth = 8\nlog-level = debug\n"));
  const char *bad = write_conf("max-depth = 8\nmax-inflight = lots\n");
  run(&r, (const char *[]){"--check-config", "--config", good, NULL});
  cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
  cr_assert_str_eq(r.err, "");
  cr_assert(strstr(r.out, "\nmax-depth = 8\n") != NULL && strstr(r.out, "\nlog-level = debug\n") != NULL, "%s", r.out);
  harness_run_free(&r);

  run(&r, (const char *[]){"--check-config", "--config", bad, NULL});
  cr_assert_eq(r.status, 2);
  cr_assert_str_eq(r.out, "");
  cr_assert(strstr(r.err, ":2: max-inflight: 'lots' is not a number") != NULL, "%s", r.err);
  cr_assert(strstr(r.err, bad) != NULL, "%s", r.err);
  harness_run_free(&r);

  /* A flag's bad value is reported as before, and --check-config runs no daemon either way. */
  run(&r, (const char *[]){"--check-config", "--config", good, "--max-depth", "1", NULL});
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--max-depth: '1'") != NULL, "%s", r.err);
  harness_run_free(&r);
  free(good);
}

Test(config, backendd_refuses_to_start_with_a_bad_file) {
  struct hrun r;
  const char *dir = harness_tmpdir();
  char *sock, *missing;
  const char *bad = write_conf("\nsokcet = /tmp/x.sock\n");
  cr_assert_geq(asprintf(&sock, "%s/backendd.sock", dir), 0);
  cr_assert_geq(asprintf(&missing, "%s/missing.conf", dir), 0);
  run(&r, (const char *[]){"--socket", sock, "--config", bad, NULL});
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, ":2: unknown setting 'sokcet' (did you mean 'socket'?)") != NULL, "%s", r.err);
  cr_assert_eq(access(sock, F_OK), -1, "a socket was created");
  harness_run_free(&r);
  run(&r, (const char *[]){"--socket", sock, "--config", missing, NULL});
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, missing) != NULL, "%s", r.err);
  harness_run_free(&r);
  free(sock);
  free(missing);
}

Test(config, a_running_backendd_uses_the_file) {
  char *conf;
  struct hdaemon *d;
  cr_assert_geq(asprintf(&conf, "max-inflight = 7\nmax-depth = 9\nsocket = %s/not-this.sock\n", harness_tmpdir()), 0);
  /* harness_start passes --socket, which beats the file's. */
  d = harness_start(harness_bin("BACKENDD_BIN"), "--config", write_conf(conf), NULL);
  cr_assert_eq(harness_info_u64_new(d, "limits.max_inflight"), 7);
  cr_assert_eq(harness_info_u64_new(d, "limits.max_depth"), 9);
  harness_finish(d);
  free(conf);
}
