/* backendd: load plugins once, serve them to every process over a Unix socket. */
#include "daemon.h"

int main(int argc, char **argv) { return daemon_main(argc, argv, NULL); }
