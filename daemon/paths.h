/* Default locations of DESIGN §2: socket, cache and plugin search path. */
#ifndef BACKENDD_PATHS_H
#define BACKENDD_PATHS_H

/*
 * The socket when none is configured: /run/backendd/backendd.sock for root,
 * $XDG_RUNTIME_DIR/backendd/backendd.sock for anyone else. NULL (with a logged reason)
 * when neither applies. Caller frees.
 */
char *paths_default_socket(void);

/* $CACHE_DIRECTORY/cache.sqlite, else $XDG_CACHE_HOME (or ~/.cache) /backendd/cache.sqlite for
 * users, else /var/cache/backendd/cache.sqlite. Caller frees. */
char *paths_default_cache(void);

/*
 * The plugin search path: the --plugin-path directories, then BACKENDD_PATH's, then the
 * built-in default (the install prefix's plugin directory). Empty elements are skipped and
 * duplicates dropped. NULL-terminated array of strings; NULL on allocation failure.
 */
char **paths_plugin_dirs(const char *flag, const char *env);

#endif
