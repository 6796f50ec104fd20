/* Minimal test harness: named cases, per-suite pass/fail counts in a line the vitest wrapper parses:
 *   SUITE <name> passed=<n> failed=<m>                                                           */
#ifndef MCUBUS_TEST_HARNESS_H
#define MCUBUS_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  const char *name;
  int passed, failed;
} suite_t;

/* The case being run: a failed CHECK marks it and prints why. */
extern bool case_ok;
extern const char *case_name;

#define CHECK(cond, ...)                                                                                \
  do {                                                                                                  \
    if (!(cond)) {                                                                                      \
      if (case_ok) fprintf(stderr, "FAIL %s: ", case_name);                                            \
      else fprintf(stderr, "     %s: ", case_name);                                                    \
      fprintf(stderr, __VA_ARGS__);                                                                     \
      fprintf(stderr, "  (%s:%d)\n", __FILE__, __LINE__);                                               \
      case_ok = false;                                                                                  \
    }                                                                                                   \
  } while (0)

void case_begin(const char *name);
void case_end(suite_t *s);
void suite_report(const suite_t *s);

/* hex string -> bytes (returns length); bytes -> lowercase hex (out needs 2n+1). */
size_t hex_decode(const char *hex, uint8_t *out, size_t cap);
void hex_encode(const uint8_t *p, size_t n, char *out);

#endif
