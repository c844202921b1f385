/* Who may have written a plugin: a root daemon loads only files no other user could change. */
#ifndef BACKENDD_SECURITY_H
#define BACKENDD_SECURITY_H

#include <stddef.h>

/*
 * Checks path and every directory above it: none may be writable by group or others
 * (except root-owned sticky directories such as /tmp, where others cannot replace our
 * entries) or owned by a user other than root and the daemon's own. Returns 0, or -EPERM
 * with the reason in why ("/opt/p/x.so is writable by group"), or another -errno.
 */
int security_check_path(const char *path, char *why, size_t why_len);

#endif
