#include "names.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool is_sep(char c) { return c == '-' || c == '_' || c == '.'; }

char *names_normalize_dist(const char *name) {
  char *out = malloc(strlen(name) + 1), *o = out;
  if (out == NULL)
    return NULL;
  for (const char *p = name; *p != '\0'; p++) {
    if (is_sep(*p)) {
      if (o == out || o[-1] != '-')
        *o++ = '-';
    } else {
      *o++ = (char)tolower((unsigned char)*p);
    }
  }
  *o = '\0';
  return out;
}

const char *names_check_variant(const char *name) {
  if (*name == '\0')
    return "must not be empty";
  for (const char *p = name; *p != '\0'; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return "may only hold a-z, 0-9 and '_'";
  return NULL;
}

/* Length of the C identifier at s, or 0. */
static size_t identifier_len(const char *s) {
  size_t n = 0;
  if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
    return 0;
  while (isalnum((unsigned char)s[n]) || s[n] == '_')
    n++;
  return n;
}

const char *names_parse_object_ref(const char *ref, char **module, char **attr) {
  const char *p = ref, *colon;
  size_t n;
  *module = *attr = NULL;
  for (;;) {
    if ((n = identifier_len(p)) == 0)
      return "an object reference is dotted identifiers ('pkg.module'), optionally ':attr'";
    p += n;
    if (*p != '.')
      break;
    p++;
  }
  colon = p;
  if (*p == ':') {
    p++;
    if ((n = identifier_len(p)) == 0 || p[n] != '\0')
      return "the attribute after ':' must be one identifier (an exported symbol)";
  } else if (*p != '\0') {
    return "an object reference is dotted identifiers ('pkg.module'), optionally ':attr'";
  }
  *module = strndup(ref, (size_t)(colon - ref));
  if (*colon == ':')
    *attr = strdup(colon + 1);
  if (*module == NULL || (*colon == ':' && *attr == NULL)) {
    free(*module);
    free(*attr);
    *module = *attr = NULL;
    return "out of memory";
  }
  return NULL;
}
