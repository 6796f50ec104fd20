/* frame.json: every message type decodes to the given header, type name, field names and CBOR
 * diagnostic, re-encodes byte for byte, and every bad frame fails with exactly its error code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json.h"
#include "mcubus.h"
#include "vectors.h"

typedef struct {
  char *p;
  size_t len, cap;
} sb_t;

static void sb_put(sb_t *s, const char *t) {
  size_t n = strlen(t);
  if (s->len + n + 1 > s->cap) {
    s->cap = (s->len + n + 1) * 2;
    s->p = realloc(s->p, s->cap);
  }
  memcpy(s->p + s->len, t, n + 1);
  s->len += n;
}

/* JavaScript's shortest round-trip form of a double, as the TS diagnostic prints it. */
static void put_double(sb_t *s, double v) {
  char b[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(b, sizeof b, "%.*g", prec, v);
    if (strtod(b, 0) == v) break;
  }
  if (!strchr(b, '.') && !strchr(b, 'e')) strcat(b, ".0");
  sb_put(s, b);
}

/* RFC 8949 diagnostic notation of one item; mirrors protocol/src/cbor/diagnostic.ts. */
static bool diag(mcubus_cbor_reader_t *r, sb_t *s) {
  mcubus_cbor_item_t it;
  char b[64];
  if (!mcubus_cbor_read(r, &it)) return false;
  switch (it.kind) {
  case MCUBUS_CBOR_UINT:
    snprintf(b, sizeof b, "%llu", (unsigned long long)it.u);
    sb_put(s, b);
    return true;
  case MCUBUS_CBOR_NINT:
    snprintf(b, sizeof b, "-%llu", (unsigned long long)it.u + 1ull);
    sb_put(s, b);
    return true;
  case MCUBUS_CBOR_BYTES: {
    char *h = malloc(2 * (size_t)it.u + 1);
    hex_encode(it.ptr, (size_t)it.u, h);
    sb_put(s, "h'");
    sb_put(s, h);
    sb_put(s, "'");
    free(h);
    return true;
  }
  case MCUBUS_CBOR_TEXT:
    sb_put(s, "\"");
    for (uint64_t i = 0; i < it.u; i++) {
      char c = (char)it.ptr[i];
      if (c == '"' || c == '\\') {
        b[0] = '\\', b[1] = c, b[2] = 0;
      } else if ((unsigned char)c < 0x20) {
        snprintf(b, sizeof b, "\\u%04x", (unsigned)c);
      } else {
        b[0] = c, b[1] = 0;
      }
      sb_put(s, b);
    }
    sb_put(s, "\"");
    return true;
  case MCUBUS_CBOR_ARRAY:
    sb_put(s, "[");
    for (uint64_t i = 0; i < it.u; i++) {
      if (i) sb_put(s, ", ");
      if (!diag(r, s)) return false;
    }
    sb_put(s, "]");
    return true;
  case MCUBUS_CBOR_MAP:
    sb_put(s, "{");
    for (uint64_t i = 0; i < it.u; i++) {
      if (i) sb_put(s, ", ");
      if (!diag(r, s)) return false;
      sb_put(s, ": ");
      if (!diag(r, s)) return false;
    }
    sb_put(s, "}");
    return true;
  case MCUBUS_CBOR_FALSE: sb_put(s, "false"); return true;
  case MCUBUS_CBOR_TRUE: sb_put(s, "true"); return true;
  case MCUBUS_CBOR_NULL: sb_put(s, "null"); return true;
  case MCUBUS_CBOR_FLOAT:
    if (it.f == floor(it.f) && fabs(it.f) < 9007199254740992.0) {
      snprintf(b, sizeof b, "%.0f", it.f);
      sb_put(s, b);
    } else {
      put_double(s, it.f);
    }
    return true;
  }
  return false;
}

/* Re-encodes a decoded item with the library's encoder: deterministic encoding must reproduce it. */
static bool reencode(mcubus_cbor_reader_t *r, mcubus_cbor_writer_t *w) {
  mcubus_cbor_item_t it;
  if (!mcubus_cbor_read(r, &it)) return false;
  switch (it.kind) {
  case MCUBUS_CBOR_UINT: mcubus_cbor_put_uint(w, it.u); return true;
  case MCUBUS_CBOR_NINT: mcubus_cbor_put_head(w, 1, it.u); return true;
  case MCUBUS_CBOR_BYTES: mcubus_cbor_put_bytes(w, it.ptr, (size_t)it.u); return true;
  case MCUBUS_CBOR_TEXT: mcubus_cbor_put_text(w, (const char *)it.ptr, (size_t)it.u); return true;
  case MCUBUS_CBOR_ARRAY:
    mcubus_cbor_put_array(w, (size_t)it.u);
    for (uint64_t i = 0; i < it.u; i++)
      if (!reencode(r, w)) return false;
    return true;
  case MCUBUS_CBOR_MAP:
    mcubus_cbor_put_map(w, (size_t)it.u);
    for (uint64_t i = 0; i < 2 * it.u; i++)
      if (!reencode(r, w)) return false;
    return true;
  case MCUBUS_CBOR_FALSE: mcubus_cbor_put_bool(w, false); return true;
  case MCUBUS_CBOR_TRUE: mcubus_cbor_put_bool(w, true); return true;
  case MCUBUS_CBOR_NULL: mcubus_cbor_put_null(w); return true;
  case MCUBUS_CBOR_FLOAT: mcubus_cbor_put_double(w, it.f); return true;
  }
  return false;
}

typedef struct {
  char list[512];
} unknown_t;

static void on_unknown(void *ctx, const char *path, uint64_t key) {
  unknown_t *u = ctx;
  char b[96];
  snprintf(b, sizeof b, "%s%s.%llu", u->list[0] ? "," : "", path, (unsigned long long)key);
  strncat(u->list, b, sizeof u->list - strlen(u->list) - 1);
}

static void good_vector(const json_t *v) {
  static uint8_t buf[8192];
  const char *hex = json_str(v, "hex");
  size_t n = hex_decode(hex, buf, sizeof buf);
  mcubus_frame_t f;
  mcubus_err_t e = mcubus_frame_decode(buf, n, MCUBUS_FRAME_LIMIT, &f);
  CHECK(e == MCUBUS_E_OK, "decode: %s", mcubus_err_name(e));
  if (e != MCUBUS_E_OK) return;
  const json_t *h = json_get(v, "header");
  CHECK(f.version == json_num(h, "version", -1), "version");
  CHECK(f.flags == json_num(h, "flags", -1), "flags %u", f.flags);
  CHECK(f.dst == json_num(h, "dst", -1), "dst");
  CHECK(f.src == json_num(h, "src", -1), "src");
  CHECK(f.ttl == json_num(h, "ttl", -1), "ttl");
  CHECK(f.type == json_num(h, "type", -1), "type");
  CHECK(f.seq == json_num(h, "seq", -1), "seq");
  CHECK(!!(f.flags & 1) == (json_num(h, "response", 0) != 0), "response flag");
  CHECK(!!(f.flags & 2) == (json_num(h, "retransmit", 0) != 0), "retransmit flag");
  CHECK(mcubus_frame_priority(&f) == json_num(h, "priority", -1), "priority");

  unknown_t unk = {{0}};
  e = mcubus_schema_check(f.type, f.body, f.body_len, on_unknown, &unk);
  const char *want_name = json_str(v, "message");
  const char *name = mcubus_message_name(f.type);
  if (strcmp(want_name, "unknown") == 0) {
    CHECK(e == MCUBUS_E_UNKNOWN_TYPE && name == 0, "unknown type must be surfaced, got %s", mcubus_err_name(e));
  } else {
    CHECK(e == MCUBUS_E_OK, "schema: %s", mcubus_err_name(e));
    CHECK(name && strcmp(name, want_name) == 0, "message name %s, want %s", name ? name : "(null)", want_name);
  }
  /* unknownKeys: exactly these were reported */
  char want_unknown[512] = "";
  const json_t *uk = json_get(v, "unknownKeys");
  for (size_t i = 0; uk && i < uk->n; i++) {
    if (i) strcat(want_unknown, ",");
    strcat(want_unknown, uk->items[i]->str);
  }
  CHECK(strcmp(unk.list, want_unknown) == 0, "unknown keys [%s], want [%s]", unk.list, want_unknown);

  /* body field names: the known keys present are exactly the JSON body's fields */
  const json_t *body = json_get(v, "body");
  if (name && body && body->kind == J_OBJ) {
    mcubus_cbor_reader_t r = {f.body, f.body + f.body_len};
    mcubus_cbor_item_t m, k;
    size_t known = 0;
    mcubus_cbor_read(&r, &m);
    for (uint64_t i = 0; i < m.u; i++) {
      mcubus_cbor_read(&r, &k);
      const char *field = mcubus_field_name(f.type, k.u);
      if (field) {
        known++;
        CHECK(json_get(body, field) != 0, "field %s (key %llu) not in the vector's body", field,
              (unsigned long long)k.u);
      }
      mcubus_cbor_skip(&r);
    }
    CHECK(known == body->n, "%zu known fields, the vector names %zu", known, body->n);
  }
  const char *want_diag = json_str(v, "bodyDiagnostic");
  if (want_diag) {
    sb_t s = {0, 0, 0};
    sb_put(&s, "");
    mcubus_cbor_reader_t r = {f.body, f.body + f.body_len};
    CHECK(diag(&r, &s) && strcmp(s.p, want_diag) == 0, "diagnostic\n  got  %s\n  want %s", s.p, want_diag);
    free(s.p);
  }
  /* Re-encode: header fields + a re-encoded body + seal gives the same bytes. */
  if (!uk && name) {
    static uint8_t out[8192];
    mcubus_frame_header(out, f.flags, f.dst, f.src, f.type, f.seq);
    out[4] = f.ttl;
    mcubus_cbor_writer_t w;
    mcubus_cbor_writer_init(&w, out + MCUBUS_HEADER_SIZE, sizeof out - MCUBUS_HEADER_SIZE);
    mcubus_cbor_reader_t r = {f.body, f.body + f.body_len};
    bool ok = reencode(&r, &w) && !w.overflow;
    size_t len = ok ? mcubus_frame_seal(out, sizeof out, w.len) : 0;
    CHECK(len == n && memcmp(out, buf, n) == 0, "re-encoding differs");
  }
}

void vectors_frame(const char *dir, suite_t *s) {
  char path[512];
  snprintf(path, sizeof path, "%s/frame.json", dir);
  json_t *j = json_parse_file(path);
  const json_t *crcs = json_get(j, "crc32c");
  for (size_t i = 0; crcs && i < crcs->n; i++) {
    case_begin("crc32c check value");
    const char *ascii = json_str(crcs->items[i], "ascii");
    unsigned long want = strtoul(json_str(crcs->items[i], "crc"), 0, 16);
    uint32_t got = mcubus_crc32c((const uint8_t *)ascii, strlen(ascii));
    CHECK(got == want, "crc 0x%08x want 0x%08lx", got, want);
    case_end(s);
  }
  const json_t *vs = json_get(j, "vectors");
  for (size_t i = 0; i < vs->n; i++) {
    case_begin(json_str(vs->items[i], "name"));
    good_vector(vs->items[i]);
    case_end(s);
  }
  const json_t *es = json_get(j, "errors");
  for (size_t i = 0; i < es->n; i++) {
    const json_t *v = es->items[i];
    static uint8_t buf[8192];
    case_begin(json_str(v, "name"));
    size_t n = hex_decode(json_str(v, "hex"), buf, sizeof buf);
    mcubus_frame_t f;
    mcubus_err_t e = mcubus_frame_decode_full(buf, n, (size_t)json_num(v, "maxFrame", MCUBUS_FRAME_LIMIT), &f);
    CHECK(strcmp(mcubus_err_name(e), json_str(v, "error")) == 0, "got %s, want %s", mcubus_err_name(e),
          json_str(v, "error"));
    case_end(s);
  }
  json_free(j);
}
