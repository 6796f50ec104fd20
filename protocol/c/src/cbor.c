/* The CBOR subset of spec 3: a strict validator, a head reader for walking validated bodies, and a
 * deterministic encoder. No allocation: items are read straight out of the frame buffer. */
#include "mcubus/codec.h"

#include "internal.h"
#include <math.h>

#define MAX_DEPTH 16

/* Reads a head: major type and argument. Rejects what the subset forbids in a head. */
static mcubus_err_t head(mcubus_cbor_reader_t *r, unsigned *major, unsigned *ai, uint64_t *arg) {
  if (r->p >= r->end) return MCUBUS_E_BAD_CBOR;
  uint8_t ib = *r->p++;
  *major = ib >> 5;
  *ai = ib & 31u;
  if (*ai < 24) {
    *arg = *ai;
    return MCUBUS_E_OK;
  }
  if (*ai > 27) return MCUBUS_E_BAD_CBOR; /* 28-30 reserved, 31 indefinite */
  size_t n = (size_t)1 << (*ai - 24);
  if ((size_t)(r->end - r->p) < n) return MCUBUS_E_BAD_CBOR;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = (v << 8) | *r->p++;
  *arg = v;
  return MCUBUS_E_OK;
}

static bool utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

/* Two map keys are the same key when they decode to the same integer or the same text. */
static bool same_key(const uint8_t *a, const uint8_t *b, const uint8_t *end) {
  mcubus_cbor_reader_t ra = {a, end}, rb = {b, end};
  mcubus_cbor_item_t x, y;
  if (!mcubus_cbor_read(&ra, &x) || !mcubus_cbor_read(&rb, &y)) return false;
  if (x.kind != y.kind || x.u != y.u) return false;
  return x.kind != MCUBUS_CBOR_TEXT || memcmp(x.ptr, y.ptr, (size_t)x.u) == 0;
}

static mcubus_err_t check_item(mcubus_cbor_reader_t *r, int depth);

static mcubus_err_t check_map(mcubus_cbor_reader_t *r, uint64_t count, int depth) {
  const uint8_t *first_key = r->p;
  for (uint64_t i = 0; i < count; i++) {
    const uint8_t *key_at = r->p;
    if (r->p >= r->end) return MCUBUS_E_BAD_CBOR;
    unsigned major = *r->p >> 5;
    if (major != 0 && major != 1 && major != 3) return MCUBUS_E_BAD_CBOR; /* keys: integers or text */
    mcubus_err_t e = check_item(r, depth + 1);
    if (e != MCUBUS_E_OK) return e;
    /* Compare with every earlier key of this map: O(n^2), bounded by MCUBUS_CBOR_MAX_MAP; no RAM. */
    mcubus_cbor_reader_t walk = {first_key, r->end};
    for (uint64_t k = 0; k < i; k++) {
      if (same_key(walk.p, key_at, r->end)) return MCUBUS_E_BAD_CBOR;
      mcubus_cbor_skip(&walk); /* key */
      mcubus_cbor_skip(&walk); /* value */
    }
    e = check_item(r, depth + 1);
    if (e != MCUBUS_E_OK) return e;
  }
  return MCUBUS_E_OK;
}

static mcubus_err_t check_item(mcubus_cbor_reader_t *r, int depth) {
  unsigned major, ai;
  uint64_t arg;
  mcubus_err_t e = head(r, &major, &ai, &arg);
  if (e != MCUBUS_E_OK) return e;
  size_t left = (size_t)(r->end - r->p);
  switch (major) {
  case 0:
  case 1:
    return MCUBUS_E_OK;
  case 2:
  case 3:
    if (arg > left) return MCUBUS_E_BAD_CBOR;
    if (major == 3 && !utf8_ok(r->p, (size_t)arg)) return MCUBUS_E_BAD_CBOR;
    r->p += arg;
    return MCUBUS_E_OK;
  case 4:
    if (depth >= MAX_DEPTH || arg > left) return MCUBUS_E_BAD_CBOR; /* every item takes >= 1 byte */
    for (uint64_t i = 0; i < arg; i++) {
      e = check_item(r, depth + 1);
      if (e != MCUBUS_E_OK) return e;
    }
    return MCUBUS_E_OK;
  case 5:
    if (depth >= MAX_DEPTH || arg > left / 2) return MCUBUS_E_BAD_CBOR;
    if (arg > MCUBUS_CBOR_MAX_MAP) return MCUBUS_E_MAP_TOO_LARGE; /* bounds the duplicate-key check */
    return check_map(r, arg, depth);
  case 6:
    return MCUBUS_E_BAD_CBOR; /* tags */
  default:
    /* major 7: false, true, null and the three float widths only */
    if (ai == 20 || ai == 21 || ai == 22 || ai == 25 || ai == 26 || ai == 27) return MCUBUS_E_OK;
    return MCUBUS_E_BAD_CBOR;
  }
}

mcubus_err_t mcubus_cbor_check(const uint8_t *p, size_t n) {
  mcubus_cbor_reader_t r = {p, p + n};
  mcubus_err_t e = check_item(&r, 0);
  if (e != MCUBUS_E_OK) return e;
  return r.p == r.end ? MCUBUS_E_OK : MCUBUS_E_BAD_CBOR; /* bytes after the item */
}

static double half_to_double(uint16_t h) {
  int exp = (h >> 10) & 0x1F;
  double mant = h & 0x3FF;
  double v;
  if (exp == 0)
    v = mant / 16777216.0; /* 2^-24 */
  else if (exp == 31)
    v = mant == 0 ? HUGE_VAL : (double)NAN;
  else {
    v = (mant + 1024.0);
    int e = exp - 25;
    while (e > 0) v *= 2, e--;
    while (e < 0) v /= 2, e++;
  }
  return (h & 0x8000) ? -v : v;
}

bool mcubus_cbor_read(mcubus_cbor_reader_t *r, mcubus_cbor_item_t *it) {
  unsigned major, ai;
  uint64_t arg;
  if (head(r, &major, &ai, &arg) != MCUBUS_E_OK) return false;
  it->u = arg;
  it->ptr = 0;
  it->f = 0;
  switch (major) {
  case 0:
    it->kind = MCUBUS_CBOR_UINT;
    return true;
  case 1:
    it->kind = MCUBUS_CBOR_NINT;
    return true;
  case 2:
  case 3:
    if (arg > (uint64_t)(r->end - r->p)) return false;
    it->kind = major == 2 ? MCUBUS_CBOR_BYTES : MCUBUS_CBOR_TEXT;
    it->ptr = r->p;
    r->p += arg;
    return true;
  case 4:
    it->kind = MCUBUS_CBOR_ARRAY;
    return true;
  case 5:
    it->kind = MCUBUS_CBOR_MAP;
    return true;
  case 7:
    switch (ai) {
    case 20:
      it->kind = MCUBUS_CBOR_FALSE;
      return true;
    case 21:
      it->kind = MCUBUS_CBOR_TRUE;
      return true;
    case 22:
      it->kind = MCUBUS_CBOR_NULL;
      return true;
    case 25:
      it->kind = MCUBUS_CBOR_FLOAT;
      it->f = half_to_double((uint16_t)arg);
      return true;
    case 26: {
      uint32_t bits = (uint32_t)arg;
      float f;
      memcpy(&f, &bits, sizeof f);
      it->kind = MCUBUS_CBOR_FLOAT;
      it->f = f;
      return true;
    }
    case 27:
      it->kind = MCUBUS_CBOR_FLOAT;
      memcpy(&it->f, &arg, sizeof it->f);
      return true;
    default:
      return false;
    }
  default:
    return false;
  }
}

bool mcubus_cbor_skip(mcubus_cbor_reader_t *r) {
  mcubus_cbor_item_t it;
  if (!mcubus_cbor_read(r, &it)) return false;
  if (it.kind == MCUBUS_CBOR_ARRAY || it.kind == MCUBUS_CBOR_MAP) {
    uint64_t n = it.kind == MCUBUS_CBOR_MAP ? it.u * 2 : it.u;
    if (n > (uint64_t)(r->end - r->p)) return false;
    for (uint64_t i = 0; i < n; i++)
      if (!mcubus_cbor_skip(r)) return false;
  }
  return true;
}

bool mcubus_cbor_map_find(const uint8_t *body, size_t n, uint64_t key, mcubus_cbor_item_t *it,
                          mcubus_cbor_reader_t *after) {
  mcubus_cbor_reader_t r = {body, body + n};
  mcubus_cbor_item_t m, k;
  if (!mcubus_cbor_read(&r, &m) || m.kind != MCUBUS_CBOR_MAP) return false;
  for (uint64_t i = 0; i < m.u; i++) {
    if (!mcubus_cbor_read(&r, &k)) return false;
    if (k.kind == MCUBUS_CBOR_UINT && k.u == key) {
      if (!mcubus_cbor_read(&r, it)) return false;
      if (after) *after = r;
      return true;
    }
    if (!mcubus_cbor_skip(&r)) return false;
  }
  return false;
}

/* An unsigned integer, or a float holding one exactly (spec 3: decoders are liberal, and a number is a
 * number whatever its encoding; the schema accepts the same, so a handler never sees 0 instead). */
bool mcubus_cbor_map_uint(const uint8_t *body, size_t n, uint64_t key, uint64_t *v) {
  mcubus_cbor_item_t it;
  if (!mcubus_cbor_map_find(body, n, key, &it, 0)) return false;
  if (it.kind == MCUBUS_CBOR_FLOAT) {
    /* integral, in [0, 2^53 - 1]: every such double converts to uint64_t exactly */
    if (!(it.f >= 0.0 && it.f <= 9007199254740991.0) || it.f != (double)(uint64_t)it.f) return false;
    *v = (uint64_t)it.f;
    return true;
  }
  if (it.kind != MCUBUS_CBOR_UINT) return false;
  *v = it.u;
  return true;
}

bool mcubus_cbor_map_bytes(const uint8_t *body, size_t n, uint64_t key, const uint8_t **p, size_t *len) {
  mcubus_cbor_item_t it;
  if (!mcubus_cbor_map_find(body, n, key, &it, 0) || it.kind != MCUBUS_CBOR_BYTES) return false;
  *p = it.ptr;
  *len = (size_t)it.u;
  return true;
}

bool mcubus_cbor_map_bool(const uint8_t *body, size_t n, uint64_t key, bool *v) {
  mcubus_cbor_item_t it;
  if (!mcubus_cbor_map_find(body, n, key, &it, 0)) return false;
  if (it.kind != MCUBUS_CBOR_TRUE && it.kind != MCUBUS_CBOR_FALSE) return false;
  *v = it.kind == MCUBUS_CBOR_TRUE;
  return true;
}

/* ── encoder ───────────────────────────────────────────────────────────────────────────────────── */

void mcubus_cbor_writer_init(mcubus_cbor_writer_t *w, uint8_t *buf, size_t cap) {
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
  w->overflow = false;
}

static void put(mcubus_cbor_writer_t *w, const uint8_t *p, size_t n) {
  if (w->overflow || w->cap - w->len < n) {
    w->overflow = true;
    return;
  }
  memcpy(w->buf + w->len, p, n);
  w->len += n;
}

void mcubus_cbor_put_head(mcubus_cbor_writer_t *w, unsigned major, uint64_t v) {
  uint8_t b[9];
  size_t n;
  uint8_t mt = (uint8_t)(major << 5);
  if (v < 24) {
    b[0] = (uint8_t)(mt | v), n = 1;
  } else if (v <= 0xFF) {
    b[0] = mt | 24u, b[1] = (uint8_t)v, n = 2;
  } else if (v <= 0xFFFF) {
    b[0] = mt | 25u, b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)v, n = 3;
  } else if (v <= 0xFFFFFFFFu) {
    b[0] = mt | 26u;
    mcubus__put_be32(b + 1, (uint32_t)v);
    n = 5;
  } else {
    b[0] = mt | 27u;
    mcubus__put_be32(b + 1, (uint32_t)(v >> 32));
    mcubus__put_be32(b + 5, (uint32_t)v);
    n = 9;
  }
  put(w, b, n);
}

void mcubus_cbor_put_uint(mcubus_cbor_writer_t *w, uint64_t v) { mcubus_cbor_put_head(w, 0, v); }
void mcubus_cbor_put_int(mcubus_cbor_writer_t *w, int64_t v) {
  if (v >= 0)
    mcubus_cbor_put_head(w, 0, (uint64_t)v);
  else
    mcubus_cbor_put_head(w, 1, (uint64_t)(-(v + 1)));
}
void mcubus_cbor_put_bytes(mcubus_cbor_writer_t *w, const uint8_t *p, size_t n) {
  mcubus_cbor_put_head(w, 2, n);
  put(w, p, n);
}
void mcubus_cbor_put_text(mcubus_cbor_writer_t *w, const char *s, size_t n) {
  mcubus_cbor_put_head(w, 3, n);
  put(w, (const uint8_t *)s, n);
}
void mcubus_cbor_put_cstr(mcubus_cbor_writer_t *w, const char *s) { mcubus_cbor_put_text(w, s, strlen(s)); }
void mcubus_cbor_put_array(mcubus_cbor_writer_t *w, size_t n) { mcubus_cbor_put_head(w, 4, n); }
void mcubus_cbor_put_map(mcubus_cbor_writer_t *w, size_t n) { mcubus_cbor_put_head(w, 5, n); }
void mcubus_cbor_put_bool(mcubus_cbor_writer_t *w, bool v) {
  uint8_t b = v ? 0xF5 : 0xF4;
  put(w, &b, 1);
}
void mcubus_cbor_put_null(mcubus_cbor_writer_t *w) {
  uint8_t b = 0xF6;
  put(w, &b, 1);
}
void mcubus_cbor_put_double(mcubus_cbor_writer_t *w, double v) {
  /* 2^64 bounds what an integer head can say; anything integral inside it goes as an integer. */
  if (v == v && v >= -9223372036854775808.0 && v < 9223372036854775808.0 && v == (double)(int64_t)v) {
    mcubus_cbor_put_int(w, (int64_t)v);
    return;
  }
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  uint8_t b[9];
  b[0] = 0xFB;
  mcubus__put_be32(b + 1, (uint32_t)(bits >> 32));
  mcubus__put_be32(b + 5, (uint32_t)bits);
  put(w, b, 9);
}
