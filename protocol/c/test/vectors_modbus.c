/* modbus.json: each ADU decodes to the given fields (and re-encodes to the same bytes) or fails
 * with exactly the given code, in the direction the vector names. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json.h"
#include "mcubus.h"
#include "mcubus/modbus.h"
#include "vectors.h"

static const char *kind_name(mcubus_mb_kind_t k) {
  switch (k) {
  case MCUBUS_MB_READ_REGISTERS: return "read_registers";
  case MCUBUS_MB_WRITE_SINGLE: return "write_single_register";
  case MCUBUS_MB_WRITE_MULTIPLE: return "write_multiple_registers";
  case MCUBUS_MB_TUNNEL: return "mcubus";
  case MCUBUS_MB_EXCEPTION: return "exception";
  }
  return "?";
}

static void check_regs(const json_t *list, const mcubus_adu_t *a) {
  CHECK(list && list->n == a->count, "register count %u", a->count);
  for (size_t i = 0; list && i < list->n && i < a->count; i++) {
    unsigned v = (unsigned)(a->regs[2 * i] << 8 | a->regs[2 * i + 1]);
    CHECK(v == (unsigned)list->items[i]->num, "register %zu = %u", i, v);
  }
}

static void one(const json_t *v) {
  static uint8_t adu[600], again[MCUBUS_MODBUS_MAX_ADU];
  size_t n = hex_decode(json_str(v, "hex"), adu, sizeof adu);
  bool response = strcmp(json_str(v, "direction"), "response") == 0;
  mcubus_adu_t a;
  mcubus_err_t e = mcubus_adu_decode(adu, n, response, &a);
  const char *error = json_str(v, "error");
  if (error) {
    CHECK(strcmp(mcubus_err_name(e), error) == 0, "got %s, want %s", mcubus_err_name(e), error);
    return;
  }
  CHECK(e == MCUBUS_E_OK, "decode: %s", mcubus_err_name(e));
  if (e != MCUBUS_E_OK) return;
  const json_t *d = json_get(v, "decoded");
  CHECK(a.address == json_num(d, "address", -1) && a.function == json_num(d, "function", -1), "address/function");
  CHECK(strcmp(kind_name(a.kind), json_str(d, "kind")) == 0, "kind %s", kind_name(a.kind));
  switch (a.kind) {
  case MCUBUS_MB_READ_REGISTERS:
    if (response)
      check_regs(json_get(d, "registers"), &a);
    else
      CHECK(a.start == json_num(d, "start", -1) && a.quantity == json_num(d, "quantity", -1), "start/quantity");
    break;
  case MCUBUS_MB_WRITE_SINGLE:
    CHECK(a.reg == json_num(d, "register", -1) && a.value == json_num(d, "value", -1), "register/value");
    break;
  case MCUBUS_MB_WRITE_MULTIPLE:
    CHECK(a.start == json_num(d, "start", -1), "start");
    if (response)
      CHECK(a.quantity == json_num(d, "quantity", -1), "quantity");
    else
      check_regs(json_get(d, "values"), &a);
    break;
  case MCUBUS_MB_TUNNEL: {
    const json_t *fr = json_get(d, "frame");
    if (!fr || fr->kind == J_NULL) {
      CHECK(a.frame == 0 && a.frame_len == 0, "frame should be null");
    } else {
      static uint8_t want[300];
      size_t wn = hex_decode(json_str(fr, "$hex"), want, sizeof want);
      CHECK(a.frame_len == wn && memcmp(a.frame, want, wn) == 0, "frame differs");
    }
    break;
  }
  case MCUBUS_MB_EXCEPTION:
    CHECK(a.exception == json_num(d, "code", -1), "exception code");
    break;
  }
  size_t m = mcubus_adu_encode(&a, response, again);
  CHECK(m == n && memcmp(again, adu, n) == 0, "re-encoding differs");
}

void vectors_modbus(const char *dir, suite_t *s) {
  char path[512];
  snprintf(path, sizeof path, "%s/modbus.json", dir);
  json_t *j = json_parse_file(path);
  const json_t *vs = json_get(j, "vectors");
  for (size_t i = 0; i < vs->n; i++) {
    case_begin(json_str(vs->items[i], "name"));
    one(vs->items[i]);
    case_end(s);
  }
  json_free(j);
}
