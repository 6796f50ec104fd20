#include "harness.h"

#include <string.h>

bool case_ok;
const char *case_name;

void case_begin(const char *name) {
  case_name = name;
  case_ok = true;
}

void case_end(suite_t *s) {
  if (case_ok)
    s->passed++;
  else
    s->failed++;
}

void suite_report(const suite_t *s) { printf("SUITE %s passed=%d failed=%d\n", s->name, s->passed, s->failed); }

static int nib(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t hex_decode(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex) / 2;
  if (n > cap) n = cap;
  for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1]));
  return n;
}

void hex_encode(const uint8_t *p, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[p[i] >> 4];
    out[2 * i + 1] = d[p[i] & 15];
  }
  out[2 * n] = 0;
}
