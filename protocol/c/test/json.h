/* A small JSON reader for the golden vectors (test code: it allocates, the library never does). */
#ifndef MCUBUS_TEST_JSON_H
#define MCUBUS_TEST_JSON_H

#include <stddef.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jkind_t;

typedef struct json {
  jkind_t kind;
  double num;     /* J_NUM, J_BOOL (0/1) */
  char *str;      /* J_STR (NUL-terminated, unescaped); J_NUM: the literal text */
  size_t n;       /* J_ARR, J_OBJ: entries */
  struct json **items;
  char **keys; /* J_OBJ */
} json_t;

json_t *json_parse_file(const char *path);
const json_t *json_get(const json_t *obj, const char *key);
const char *json_str(const json_t *obj, const char *key); /* NULL when absent or not a string */
double json_num(const json_t *obj, const char *key, double fallback);
void json_free(json_t *j);

#endif
