#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vprop.h"

static void expect_parsed(const char *text, const char *ns, const char *feature, const char *value) {
  struct vprop p;
  const char *why = NULL;
  cr_assert_eq(vprop_parse(text, strlen(text), &p, &why), 0, "'%s' did not parse: %s", text, why);
  cr_expect_str_eq(p.ns, ns);
  cr_expect_str_eq(p.feature, feature);
  cr_expect_str_eq(p.value, value);
  vprop_free(&p);
}

static void expect_refused(const char *text, size_t len, const char *reason) {
  struct vprop p;
  const char *why = NULL;
  cr_assert_eq(vprop_parse(text, len, &p, &why), -EINVAL, "'%s' parsed", text);
  cr_expect_str_eq(why, reason, "'%s'", text);
  cr_expect_null(p.ns);
}

/* Literal with its exact length (it may hold a NUL). */
#define REFUSED(lit, reason) expect_refused((lit), sizeof(lit) - 1, (reason))

#define SYNTAX "a property is written 'namespace :: feature :: value'"
#define NAME_CHARS "namespace and feature names may only hold a-z, 0-9 and '_'"
#define VALUE_CHARS "values may only hold a-z, 0-9 and _ . , ! > ~ < ="

Test(vprop, every_spacing_form_parses_the_same) {
  expect_parsed("x86_64 :: level :: v3", "x86_64", "level", "v3");
  expect_parsed("x86_64::level::v3", "x86_64", "level", "v3");
  expect_parsed("x86_64 ::level:: v3", "x86_64", "level", "v3");
  expect_parsed("  x86_64 :: level :: v3\t", "x86_64", "level", "v3");
  expect_parsed("x86_64\t::\tlevel\t::\tv3", "x86_64", "level", "v3");
}

Test(vprop, values_take_version_specifiers) {
  expect_parsed("glibc :: version :: >=2.28,<3", "glibc", "version", ">=2.28,<3");
  expect_parsed("glibc :: version :: ~=2.28", "glibc", "version", "~=2.28");
  expect_parsed("glibc :: version :: !=2.30", "glibc", "version", "!=2.30");
  expect_parsed("a_1 :: b_2 :: 0.9_rc", "a_1", "b_2", "0.9_rc");
}

Test(vprop, the_shape_must_be_three_parts) {
  REFUSED("x86_64 :: level", SYNTAX);
  REFUSED("x86_64", SYNTAX);
  REFUSED("a :: b :: c :: d", SYNTAX);
  REFUSED("a : b : c", SYNTAX);
  REFUSED("", SYNTAX);
  REFUSED(":: b :: c", "namespace and feature names must not be empty");
  REFUSED("a :: :: c", "namespace and feature names must not be empty");
  REFUSED("a :: b ::", "values must not be empty");
  REFUSED("a :: b :: c\0d", "a property must not contain a NUL byte");
}

Test(vprop, each_invalid_character_class_is_refused) {
  /* names: upper case, '-', '.', space inside, punctuation, non-ASCII */
  REFUSED("X86 :: level :: v3", NAME_CHARS);
  REFUSED("x86-64 :: level :: v3", NAME_CHARS);
  REFUSED("x86.64 :: level :: v3", NAME_CHARS);
  REFUSED("x86 64 :: level :: v3", NAME_CHARS);
  REFUSED("x86 :: lev>el :: v3", NAME_CHARS);
  REFUSED("x86 :: l\xc3\xa9vel :: v3", NAME_CHARS);
  /* values: upper case, space inside, '-', '/', '+', '*', ':', '"' */
  REFUSED("x86 :: level :: V3", VALUE_CHARS);
  REFUSED("x86 :: level :: v 3", VALUE_CHARS);
  REFUSED("x86 :: level :: v-3", VALUE_CHARS);
  REFUSED("x86 :: level :: v/3", VALUE_CHARS);
  REFUSED("x86 :: level :: v+3", VALUE_CHARS);
  REFUSED("x86 :: level :: v*", VALUE_CHARS);
  REFUSED("x86 :: level :: v:3", VALUE_CHARS);
  REFUSED("x86 :: level :: \"v3\"", VALUE_CHARS);
}

Test(vprop, name_and_value_checks_alone) {
  cr_expect_null(vprop_check_name("abc_123"));
  cr_expect_str_eq(vprop_check_name(""), "namespace and feature names must not be empty");
  cr_expect_str_eq(vprop_check_name("aBc"), NAME_CHARS);
  cr_expect_null(vprop_check_value(">=1.2,<2,!=1.5,~=1.3"));
  cr_expect_str_eq(vprop_check_value(""), "values must not be empty");
  cr_expect_str_eq(vprop_check_value("1;2"), VALUE_CHARS);
}
