/* cobs.json: encode/decode pairs, the two decode errors, and the stream vectors fed both byte by
 * byte and in one chunk. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json.h"
#include "mcubus.h"
#include "vectors.h"

static void stream_case(const json_t *v, size_t chunk) {
  static uint8_t data[8192];
  static mcubus_cobs_stream_t st;
  mcubus_counters_t counters;
  memset(&counters, 0, sizeof counters);
  size_t n = hex_decode(json_str(v, "streamHex"), data, sizeof data);
  mcubus_cobs_stream_init(&st, (size_t)json_num(v, "maxFrame", 4096), &counters);
  const json_t *expect = json_get(v, "expect");
  size_t got = 0;
  for (size_t off = 0; off < n; off += chunk) {
    size_t len = off + chunk > n ? n - off : chunk, pos = 0;
    while (pos < len) {
      mcubus_piece_t p = mcubus_cobs_stream_push(&st, data + off, len, &pos);
      if (p.kind == MCUBUS_PIECE_NONE) continue;
      char line[9000];
      if (p.kind == MCUBUS_PIECE_FRAME) {
        strcpy(line, "frame ");
        hex_encode(p.frame, p.len, line + 6);
      } else {
        strcpy(line, mcubus_err_name(p.error));
      }
      CHECK(got < expect->n, "unexpected extra output %s", line);
      if (got < expect->n)
        CHECK(strcmp(line, expect->items[got]->str) == 0, "output %zu (chunk %zu): %s, want %s", got, chunk, line,
              expect->items[got]->str);
      got++;
    }
  }
  CHECK(got == expect->n, "%zu outputs, want %zu (chunk %zu)", got, expect->n, chunk);
}

void vectors_cobs(const char *dir, suite_t *s) {
  char path[512];
  snprintf(path, sizeof path, "%s/cobs.json", dir);
  json_t *j = json_parse_file(path);
  const json_t *vs = json_get(j, "vectors");
  for (size_t i = 0; i < vs->n; i++) {
    const json_t *v = vs->items[i];
    static uint8_t dec[4096], enc[4200], out[4200];
    case_begin(json_str(v, "name"));
    size_t dn = hex_decode(json_str(v, "decodedHex"), dec, sizeof dec);
    size_t en = hex_decode(json_str(v, "encodedHex"), enc, sizeof enc);
    size_t n = mcubus_cobs_encode(dec, dn, out, sizeof out);
    CHECK(n == en && memcmp(out, enc, n) == 0, "encode differs");
    size_t m = 0;
    mcubus_err_t e = mcubus_cobs_decode(enc, en, out, &m);
    CHECK(e == MCUBUS_E_OK && m == dn && memcmp(out, dec, m) == 0, "decode differs (%s)", mcubus_err_name(e));
    case_end(s);
  }
  const json_t *es = json_get(j, "errors");
  for (size_t i = 0; i < es->n; i++) {
    const json_t *v = es->items[i];
    static uint8_t enc[512], out[512];
    case_begin(json_str(v, "name"));
    size_t en = hex_decode(json_str(v, "encodedHex"), enc, sizeof enc), m;
    mcubus_err_t e = mcubus_cobs_decode(enc, en, out, &m);
    CHECK(strcmp(mcubus_err_name(e), json_str(v, "error")) == 0, "got %s", mcubus_err_name(e));
    case_end(s);
  }
  const json_t *ss = json_get(j, "streams");
  for (size_t i = 0; i < ss->n; i++) {
    case_begin(json_str(ss->items[i], "name"));
    stream_case(ss->items[i], 1);
    stream_case(ss->items[i], 7);
    stream_case(ss->items[i], 100000);
    case_end(s);
  }
  json_free(j);
}
