#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "options.h"
#include "paths.h"

static struct options o;
static void clear_env(void) {
  unsetenv("BACKENDD_SOCKET");
  unsetenv("BACKENDD_CACHE");
  unsetenv("BACKENDD_PATH");
  unsetenv("CACHE_DIRECTORY");
  setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
}
static void cleanup(void) { options_free(&o); }
TestSuite(options, .init = clear_env, .fini = cleanup);

static int parse_argv(char **argv) {
  int argc = 0;
  while (argv[argc] != NULL)
    argc++;
  return options_parse(&o, argc, argv);
}
/* --no-config: whatever config file this machine has is not these tests' business (test-config.c). */
#define PARSE(...) parse_argv((char *[]){"backendd", "--no-config", __VA_ARGS__, NULL})

Test(options, sizes_take_binary_suffixes) {
  size_t v;
  cr_assert_eq(options_parse_size("123", &v), 0);
  cr_assert_eq(v, 123);
  cr_assert_eq(options_parse_size("64K", &v), 0);
  cr_assert_eq(v, 65536);
  cr_assert_eq(options_parse_size("16M", &v), 0);
  cr_assert_eq(v, (size_t)16 << 20);
  cr_assert_eq(options_parse_size("1g", &v), 0);
  cr_assert_eq(v, (size_t)1 << 30);
  cr_assert_eq(options_parse_size("", &v), -EINVAL);
  cr_assert_eq(options_parse_size("-1", &v), -EINVAL);
  cr_assert_eq(options_parse_size("12Q", &v), -EINVAL);
  cr_assert_eq(options_parse_size("99999999999999999999", &v), -ERANGE);
  cr_assert_eq(options_parse_size("99999999999G", &v), -ERANGE);
}

Test(options, flags_set_every_setting) {
  cr_assert_eq(PARSE("--socket", "/tmp/x.sock", "--cache", "/tmp/c.db", "--log-level", "debug",
                     "--max-message-size", "1M", "--max-depth", "8", "--max-string-length", "4K",
                     "--max-connections", "10", "--max-inflight", "7", "--max-queued-bytes", "64K",
                     "--shutdown-timeout", "0.5", "--allow-insecure-plugins"),
               OPTIONS_RUN);
  cr_assert_str_eq(o.socket_path, "/tmp/x.sock");
  cr_assert_str_eq(o.cache_path, "/tmp/c.db");
  cr_assert_eq(o.log_level, LOG_DEBUG);
  cr_assert_eq(o.limits.max_message_size, (size_t)1 << 20);
  cr_assert_eq(o.limits.max_depth, 8);
  cr_assert_eq(o.limits.max_string_length, 4096);
  cr_assert_eq(o.max_connections, 10);
  cr_assert_eq(o.max_inflight, 7);
  cr_assert_eq(o.max_queued_bytes, 65536);
  cr_assert_float_eq(o.shutdown_timeout, 0.5, 1e-9);
  cr_assert(o.allow_insecure_plugins);
}

Test(options, flags_beat_environment) {
  setenv("BACKENDD_SOCKET", "/tmp/env.sock", 1);
  setenv("BACKENDD_CACHE", "/tmp/env.db", 1);
  cr_assert_eq(PARSE("--socket", "/tmp/flag.sock"), OPTIONS_RUN);
  cr_assert_str_eq(o.socket_path, "/tmp/flag.sock");
  cr_assert_str_eq(o.cache_path, "/tmp/env.db");
}

Test(options, bad_values_are_usage_errors, .init = clear_env) {
  cr_assert_eq(PARSE("--max-depth", "99"), -EINVAL);
  options_free(&o);
  cr_assert_eq(PARSE("--max-depth", "1"), -EINVAL);
  options_free(&o);
  cr_assert_eq(PARSE("--log-level", "loud"), -EINVAL);
  options_free(&o);
  cr_assert_eq(PARSE("--shutdown-timeout", "soon"), -EINVAL);
  options_free(&o);
  cr_assert_eq(PARSE("--max-inflight", "0"), -EINVAL);
  options_free(&o);
  cr_assert_eq(PARSE("stray"), -EINVAL);
}

Test(options, plugin_path_order_flag_env_default) {
  setenv("BACKENDD_PATH", "/env/a::/flag/b:/env/c", 1);
  cr_assert_eq(PARSE("--plugin-path", "/flag/a:/flag/b"), OPTIONS_RUN);
  cr_assert_str_eq(o.plugin_dirs[0], "/flag/a");
  cr_assert_str_eq(o.plugin_dirs[1], "/flag/b");
  cr_assert_str_eq(o.plugin_dirs[2], "/env/a");
  cr_assert_str_eq(o.plugin_dirs[3], "/env/c"); /* empty element and duplicate dropped */
  cr_assert_str_eq(o.plugin_dirs[4], BACKENDD_PLUGINDIR);
  cr_assert_null(o.plugin_dirs[5]);
}

Test(paths, default_cache_follows_systemd_then_xdg) {
  char *p;
  setenv("CACHE_DIRECTORY", "/var/cache/backendd:/other", 1);
  p = paths_default_cache();
  cr_assert_str_eq(p, "/var/cache/backendd/cache.sqlite");
  free(p);
  unsetenv("CACHE_DIRECTORY");
  if (geteuid() != 0) {
    setenv("XDG_CACHE_HOME", "/home/u/.cache", 1);
    p = paths_default_cache();
    cr_assert_str_eq(p, "/home/u/.cache/backendd/cache.sqlite");
    free(p);
  } else {
    p = paths_default_cache();
    cr_assert_str_eq(p, "/var/cache/backendd/cache.sqlite");
    free(p);
  }
}

Test(paths, default_socket_for_root_or_user) {
  char *p = paths_default_socket();
  setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  if (geteuid() == 0)
    cr_assert_str_eq(p, "/run/backendd/backendd.sock");
  else
    cr_assert_str_eq(p, "/run/user/1000/backendd/backendd.sock");
  free(p);
}
