/*
 * The plugin scanner: a child process (backendd re-executed with --plugin-scanner) that
 * loads one plugin, reads its descriptor and writes it back as MessagePack, so that a
 * plugin that crashes, aborts or hangs while loading takes only the scanner down.
 * GStreamer's gst-plugin-scanner is the model.
 */
#ifndef BACKENDD_SCANNER_H
#define BACKENDD_SCANNER_H

#define SCANNER_FLAG "--plugin-scanner"

/* Exit status of a scanner that reported a load error (as {"error": text}) rather than a descriptor. */
#define SCANNER_EXIT_LOAD_ERROR 3

/*
 * Child side: argv = {exe, SCANNER_FLAG, "backend"|"variant", FILE, SYMBOL}. Writes one
 * MessagePack map to stdout: the descriptor (scanner_pack_* fields, see scanner.c) and exits
 * 0, or {"error": text} and exits SCANNER_EXIT_LOAD_ERROR. Plugin output on stdout is sent
 * to stderr so it cannot corrupt the answer.
 */
int scanner_main(int argc, char **argv);

#endif
