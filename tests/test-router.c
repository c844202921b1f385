#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "router.h"

static void handler(struct request *req) { (void)req; }

static const struct method_param params[] = {
  {"name", PARAM_STR, true, NULL},
  {"count", PARAM_INT, false, NULL},
  {"flags", PARAM_ARRAY, false, NULL},
};
static const struct method table_a[] = {
  {"zeta.last", handler, "z", NULL, 0},
  {"alpha.first", handler, "a", params, 3},
  {"mid.dle", handler, "m", NULL, 0},
};
static const struct method table_b[] = {{"beta.two", handler, "b", NULL, 0}};

static struct router r;
static void setup(void) {
  router_init(&r);
  cr_assert_eq(router_add(&r, table_a, 3), 0);
  cr_assert_eq(router_add(&r, table_b, 1), 0);
}
static void teardown(void) { router_free(&r); }

TestSuite(router, .init = setup, .fini = teardown);

Test(router, finds_by_exact_name_only) {
  cr_assert_eq(router_find(&r, "alpha.first", 11), &table_a[1]);
  cr_assert_eq(router_find(&r, "beta.two", 8), &table_b[0]);
  cr_assert_eq(router_find(&r, "zeta.last", 9), &table_a[0]);
  cr_assert_null(router_find(&r, "alpha.firs", 10));
  cr_assert_null(router_find(&r, "alpha.firstx", 12));
  /* name given with a length shorter than the buffer: only the prefix counts */
  cr_assert_eq(router_find(&r, "mid.dle.extra", 7), &table_a[2]);
  cr_assert_null(router_find(&r, "", 0));
}

Test(router, keeps_methods_sorted_for_introspection) {
  cr_assert_eq(r.n, 4);
  for (size_t i = 1; i < r.n; i++)
    cr_assert_lt(strcmp(r.methods[i - 1]->name, r.methods[i]->name), 0);
}

Test(router, refuses_duplicates) {
  cr_assert_eq(router_add(&r, table_b, 1), -EEXIST);
  cr_assert_eq(r.n, 4);
}

/* Builds a map object from alternating key/value objects. */
static msgpack_object map_of(msgpack_object_kv *kv, uint32_t n) {
  msgpack_object o = {.type = MSGPACK_OBJECT_MAP};
  o.via.map.size = n;
  o.via.map.ptr = kv;
  return o;
}
static msgpack_object str(const char *s) {
  msgpack_object o = {.type = MSGPACK_OBJECT_STR};
  o.via.str.ptr = s;
  o.via.str.size = (uint32_t)strlen(s);
  return o;
}
static msgpack_object uint_(uint64_t v) {
  msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
  o.via.u64 = v;
  return o;
}

Test(router, accepts_valid_params) {
  char why[256];
  msgpack_object_kv kv[] = {{str("name"), str("x")}, {str("count"), uint_(3)}};
  msgpack_object m = map_of(kv, 2);
  cr_assert_eq(router_check_params(&table_a[1], &m, why, sizeof why), 0);
  cr_assert_eq(router_check_params(&table_a[0], NULL, why, sizeof why), 0);
}

Test(router, rejects_each_kind_of_bad_params) {
  char why[256];
  msgpack_object_kv unknown[] = {{str("name"), str("x")}, {str("colour"), str("red")}};
  msgpack_object_kv missing[] = {{str("count"), uint_(1)}};
  msgpack_object_kv mistyped[] = {{str("name"), uint_(1)}};
  msgpack_object_kv twice[] = {{str("name"), str("x")}, {str("name"), str("y")}};
  msgpack_object_kv nonstr_key[] = {{uint_(1), str("x")}};
  msgpack_object m;

  m = map_of(unknown, 2);
  cr_assert_eq(router_check_params(&table_a[1], &m, why, sizeof why), -EINVAL);
  cr_assert_str_eq(why, "alpha.first: unknown parameter 'colour'");
  m = map_of(missing, 1);
  cr_assert_eq(router_check_params(&table_a[1], &m, why, sizeof why), -EINVAL);
  cr_assert_str_eq(why, "alpha.first: missing required parameter 'name'");
  m = map_of(mistyped, 1);
  cr_assert_eq(router_check_params(&table_a[1], &m, why, sizeof why), -EINVAL);
  cr_assert_str_eq(why, "alpha.first: parameter 'name' must be a string");
  m = map_of(twice, 2);
  cr_assert_eq(router_check_params(&table_a[1], &m, why, sizeof why), -EINVAL);
  cr_assert_str_eq(why, "alpha.first: parameter 'name' given twice");
  m = map_of(nonstr_key, 1);
  cr_assert_eq(router_check_params(&table_a[1], &m, why, sizeof why), -EINVAL);
  cr_assert_str_eq(why, "alpha.first: parameter names must be strings");
  m = map_of(unknown + 1, 1);
  cr_assert_eq(router_check_params(&table_a[0], &m, why, sizeof why), -EINVAL);
  cr_assert_str_eq(why, "zeta.last: unknown parameter 'colour' (it takes none)");
}
