/* Recursive-descent JSON parser: enough for the vector files (objects, arrays, strings with
 * escapes incl. \uXXXX, numbers, true/false/null). Aborts the test run on malformed input. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *p;
} cur_t;

static void fail(const char *what) {
  fprintf(stderr, "json: %s\n", what);
  exit(2);
}

static void ws(cur_t *c) {
  while (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t') c->p++;
}

static json_t *node(jkind_t k) {
  json_t *j = calloc(1, sizeof *j);
  if (!j) fail("out of memory");
  j->kind = k;
  return j;
}

static void put_utf8(char **o, unsigned cp) {
  char *w = *o;
  if (cp < 0x80) {
    *w++ = (char)cp;
  } else if (cp < 0x800) {
    *w++ = (char)(0xC0 | (cp >> 6));
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *w++ = (char)(0xE0 | (cp >> 12));
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *w++ = (char)(0xF0 | (cp >> 18));
    *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  }
  *o = w;
}

static char *string(cur_t *c) {
  if (*c->p != '"') fail("expected string");
  c->p++;
  const char *start = c->p;
  size_t cap = 1;
  while (*c->p && *c->p != '"') {
    if (*c->p == '\\') c->p++;
    c->p++;
    cap += 4;
  }
  char *out = malloc(cap), *w = out;
  if (!out) fail("out of memory");
  c->p = start;
  while (*c->p != '"') {
    if (*c->p != '\\') {
      *w++ = *c->p++;
      continue;
    }
    c->p++;
    char e = *c->p++;
    switch (e) {
    case 'n': *w++ = '\n'; break;
    case 't': *w++ = '\t'; break;
    case 'r': *w++ = '\r'; break;
    case 'b': *w++ = '\b'; break;
    case 'f': *w++ = '\f'; break;
    case 'u': {
      unsigned cp = (unsigned)strtoul((char[5]){c->p[0], c->p[1], c->p[2], c->p[3], 0}, 0, 16);
      c->p += 4;
      if (cp >= 0xD800 && cp < 0xDC00 && c->p[0] == '\\' && c->p[1] == 'u') {
        unsigned lo = (unsigned)strtoul((char[5]){c->p[2], c->p[3], c->p[4], c->p[5], 0}, 0, 16);
        c->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      put_utf8(&w, cp);
      break;
    }
    default: *w++ = e;
    }
  }
  c->p++;
  *w = 0;
  return out;
}

static json_t *value(cur_t *c);

static void push(json_t *j, json_t *item, char *key) {
  j->items = realloc(j->items, (j->n + 1) * sizeof *j->items);
  if (!j->items) fail("out of memory");
  j->items[j->n] = item;
  if (j->kind == J_OBJ) {
    j->keys = realloc(j->keys, (j->n + 1) * sizeof *j->keys);
    if (!j->keys) fail("out of memory");
    j->keys[j->n] = key;
  }
  j->n++;
}

static json_t *value(cur_t *c) {
  ws(c);
  json_t *j;
  switch (*c->p) {
  case '{':
    j = node(J_OBJ);
    c->p++;
    ws(c);
    if (*c->p == '}') {
      c->p++;
      return j;
    }
    for (;;) {
      ws(c);
      char *k = string(c);
      ws(c);
      if (*c->p++ != ':') fail("expected :");
      push(j, value(c), k);
      ws(c);
      if (*c->p == ',') {
        c->p++;
        continue;
      }
      if (*c->p++ != '}') fail("expected }");
      return j;
    }
  case '[':
    j = node(J_ARR);
    c->p++;
    ws(c);
    if (*c->p == ']') {
      c->p++;
      return j;
    }
    for (;;) {
      push(j, value(c), 0);
      ws(c);
      if (*c->p == ',') {
        c->p++;
        continue;
      }
      if (*c->p++ != ']') fail("expected ]");
      return j;
    }
  case '"':
    j = node(J_STR);
    j->str = string(c);
    return j;
  case 't':
    c->p += 4;
    j = node(J_BOOL);
    j->num = 1;
    return j;
  case 'f':
    c->p += 5;
    return node(J_BOOL);
  case 'n':
    c->p += 4;
    return node(J_NULL);
  default: {
    char *end;
    j = node(J_NUM);
    j->num = strtod(c->p, &end);
    if (end == c->p) fail("bad value");
    j->str = malloc((size_t)(end - c->p) + 1);
    if (!j->str) fail("out of memory");
    memcpy(j->str, c->p, (size_t)(end - c->p));
    j->str[end - c->p] = 0;
    c->p = end;
    return j;
  }
  }
}

json_t *json_parse_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) fail("read");
  text[n] = 0;
  fclose(f);
  cur_t c = {text};
  json_t *j = value(&c);
  free(text);
  return j;
}

const json_t *json_get(const json_t *obj, const char *key) {
  if (!obj || obj->kind != J_OBJ) return 0;
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
  return 0;
}

const char *json_str(const json_t *obj, const char *key) {
  const json_t *v = json_get(obj, key);
  return v && v->kind == J_STR ? v->str : 0;
}

double json_num(const json_t *obj, const char *key, double fallback) {
  const json_t *v = json_get(obj, key);
  return v && (v->kind == J_NUM || v->kind == J_BOOL) ? v->num : fallback;
}

void json_free(json_t *j) {
  if (!j) return;
  for (size_t i = 0; i < j->n; i++) {
    json_free(j->items[i]);
    if (j->keys) free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  free(j->str);
  free(j);
}
