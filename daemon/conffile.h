/*
 * backendd.conf: the command line's settings as "key = value" lines (doc/configuration.md).
 * Named conffile, not config, because "config.h" is the build's generated header.
 */
#ifndef BACKENDD_CONFFILE_H
#define BACKENDD_CONFFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "options.h"

/*
 * Longest line, without its newline. Debian builds inih with a 200-byte line buffer (text,
 * newline, NUL); a longer line would be cut in two and read as two lines.
 */
#define CONFFILE_MAX_LINE 198
/* Largest file read: far more than every setting with a comment each needs. */
#define CONFFILE_MAX_SIZE (64 * 1024)

/*
 * Applies the settings in the file at path over those in *o, and records path in
 * o->config_path. A missing file is fine (returns 0) unless required. Stops at the first
 * error and prints it to stderr ("backendd: PATH:LINE: ..."); the settings are then half
 * applied, and only good for options_free.
 * Returns 1 (read), 0 (absent, not required), -EINVAL (unreadable or invalid) or -ENOMEM.
 */
int conffile_load(struct options *o, const char *path, bool required);

/* The same for file contents in memory; path only names it in messages. Returns 0 or as above. */
int conffile_parse(struct options *o, const char *path, const char *text);

/*
 * Writes every setting of o, effective values, as "key = value" lines that conffile_parse
 * reads back to the same settings (plugin-path: the whole search path, o->plugin_dirs).
 */
void conffile_write(FILE *out, const struct options *o);

#endif
