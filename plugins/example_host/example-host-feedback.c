/*
 * example-host-feedback: runs example_host's feedback checks against one backend, for that
 * backend's CI (doc/backends.md, "Feedback tests"). Prints a line per function:
 *   compute_score: PASSED
 *   summarize: SKIPPED (not implemented)
 * Exit status: 0 when nothing FAILED, 1 when a check failed, 2 when the backend could not be
 * resolved or the daemon not reached (or a usage error).
 */
#include <stdio.h>
#include <string.h>

#include "example_host.h"

int main(int argc, char **argv) {
  struct backend_feedback_result results[EXAMPLE_HOST_N_CHECKS];
  const char *socket = NULL, *backend;
  example_host *eh;
  char why[512];
  int rc;
  if (argc == 4 && strcmp(argv[1], "--socket") == 0) {
    socket = argv[2];
    backend = argv[3];
  } else if (argc == 2 && argv[1][0] != '-') {
    backend = argv[1];
  } else {
    fputs("usage: example-host-feedback [--socket PATH] BACKEND\n"
          "Runs example_host's feedback checks against BACKEND (a name or alias).\n",
          argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) ? stdout : stderr);
    return argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) ? 0 : 2;
  }
  if (example_host_new(socket, &eh, why, sizeof why) < 0) {
    fprintf(stderr, "example-host-feedback: %s\n", why);
    return 2;
  }
  memset(results, 0, sizeof results);
  rc = example_host_feedback(eh, backend, results, stdout);
  if (rc < 0)
    fprintf(stderr, "example-host-feedback: %s: %s\n", backend,
            results[0].reason[0] != '\0' ? results[0].reason : backend_strerror(rc));
  else if (rc > 0)
    fprintf(stderr, "example-host-feedback: %d check%s FAILED on %s\n", rc, rc == 1 ? "" : "s", backend);
  example_host_free(eh);
  return rc < 0 ? 2 : rc > 0;
}
