/* COBS and the UART receive stream (spec 6): 0x00 delimits frames; garbage spoils only its piece. */
#include "mcubus/codec.h"

#include "internal.h"

size_t mcubus_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
  if (cap < MCUBUS_COBS_MAX(n)) return 0;
  size_t code_at = 0, w = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < n; i++) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = w++;
      code = 1;
      continue;
    }
    out[w++] = in[i];
    if (++code == 0xFF) {
      /* A full block of 254: a new block starts only when data follows, so exactly 254 non-zero
       * bytes encode as FF + 254 bytes with no trailing 01 (spec 6 table). */
      out[code_at] = code;
      code = 1;
      if (i + 1 < n)
        code_at = w++;
      else
        return w;
    }
  }
  out[code_at] = code;
  return w;
}

mcubus_err_t mcubus_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len) {
  size_t w = 0, i = 0;
  while (i < n) {
    uint8_t code = in[i];
    if (code == 0) return MCUBUS_E_COBS_ZERO;
    size_t end = i + code;
    if (end > n) return MCUBUS_E_COBS_OVERRUN;
    for (size_t k = i + 1; k < end; k++) {
      if (in[k] == 0) return MCUBUS_E_COBS_ZERO;
      out[w++] = in[k]; /* w < k always: decoding in place is safe */
    }
    i = end;
    if (code < 0xFF && i < n) out[w++] = 0;
  }
  *out_len = w;
  return MCUBUS_E_OK;
}

void mcubus_cobs_stream_init(mcubus_cobs_stream_t *s, size_t max_frame, mcubus_counters_t *counters) {
  s->max_frame = max_frame > MCUBUS_MAX_FRAME ? MCUBUS_MAX_FRAME : max_frame;
  s->len = 0;
  s->discarding = false;
  s->repair = true;
  s->counters = counters;
}

static mcubus_piece_t finish(mcubus_cobs_stream_t *s) {
  mcubus_piece_t p = {MCUBUS_PIECE_NONE, MCUBUS_E_OK, 0, 0, 0, false, false};
  if (s->discarding) { /* the oversize piece was reported when it overflowed */
    s->discarding = false;
    s->len = 0;
    return p;
  }
  if (s->len == 0) return p; /* empty piece: a flush delimiter, not an error */
  size_t out_len = 0;
  mcubus_err_t e = mcubus_cobs_decode(s->buf, s->len, s->buf, &out_len);
  s->len = 0;
  if (e != MCUBUS_E_OK) {
    mcubus_count(s->counters, e);
    p.kind = MCUBUS_PIECE_ERROR;
    p.error = e;
    return p;
  }
  p.kind = MCUBUS_PIECE_FRAME;
  p.frame = s->buf;
  p.len = out_len;
  if (s->repair && out_len <= s->max_frame && mcubus_frame_repair_bit(s->buf, out_len, 0, 0)) {
    p.repaired = true;
    mcubus_count(s->counters, MCUBUS_E_REPAIRED_BIT);
  }
  return p;
}

mcubus_piece_t mcubus_cobs_stream_push(mcubus_cobs_stream_t *s, const uint8_t *data, size_t n, size_t *pos) {
  mcubus_piece_t none = {MCUBUS_PIECE_NONE, MCUBUS_E_OK, 0, 0, 0, false, false};
  size_t cap = MCUBUS_COBS_MAX(s->max_frame);
  size_t piece_start = *pos;
  bool earlier = s->len > 0 || s->discarding;
  while (*pos < n) {
    uint8_t b = data[(*pos)++];
    if (b == 0) {
      mcubus_piece_t p = finish(s);
      if (p.kind != MCUBUS_PIECE_NONE) {
        p.start = piece_start;
        p.started_earlier = earlier;
        return p;
      }
      piece_start = *pos;
      earlier = false;
      continue;
    }
    if (s->discarding) continue;
    if (s->len >= cap) {
      s->discarding = true;
      s->len = 0;
      mcubus_count(s->counters, MCUBUS_E_OVERSIZE);
      mcubus_piece_t p = none;
      p.kind = MCUBUS_PIECE_ERROR;
      p.error = MCUBUS_E_OVERSIZE;
      p.start = piece_start;
      p.started_earlier = earlier;
      return p;
    }
    if (s->len == 0) {
      piece_start = *pos - 1;
      earlier = false;
    }
    s->buf[s->len++] = b;
  }
  return none;
}
