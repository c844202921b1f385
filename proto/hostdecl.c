#include "hostdecl.h"

#include <stddef.h>
#include <string.h>

#include <backend/param.h>

static bool is_alnum(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool is_sep(char ch) { return ch == '-' || ch == '_' || ch == '.'; }

const char *hostdecl_check_backend_name(const char *name) {
  size_t len = name != NULL ? strlen(name) : 0;
  if (len == 0)
    return "a backend name must not be empty";
  if (len > HOSTDECL_BACKEND_NAME_MAX)
    return "a backend name must be at most 128 characters";
  if (!is_alnum(name[0]))
    return "a backend name must start with an ASCII letter or digit";
  for (size_t i = 0; i < len; i++)
    if (!is_alnum(name[i]) && !is_sep(name[i]))
      return "a backend name may only hold ASCII letters, digits, '.', '_' and '-'";
  if (name[len - 1] == '.' || name[len - 1] == '-')
    return "a backend name must not end with '.' or '-'";
  return NULL;
}

const char *hostdecl_check_declared_name(const char *name) {
  const char *bad = hostdecl_check_backend_name(name);
  if (bad == NULL && strcmp(name, "cpu") == 0)
    return "'cpu' is reserved for the host's own implementation";
  return bad;
}

const char *hostdecl_check_order(struct hostdecl_order *o, uint32_t kind, bool has_default) {
  if (kind == BACKEND_PARAM_KEYWORD_ONLY)
    o->keyword_only = true;
  if (kind != BACKEND_PARAM_POSITIONAL)
    return NULL;
  if (o->keyword_only)
    return "a positional parameter cannot follow keyword-only ones";
  if (o->positional_default && !has_default)
    return "a positional parameter without a default cannot follow one with a default";
  o->positional_default |= has_default;
  return NULL;
}

bool hostdecl_is_identifier(const char *s) {
  if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return false;
  for (s++; *s != '\0'; s++)
    if (!is_alnum(*s) && *s != '_')
      return false;
  return true;
}
