/* Modbus RTU ADUs (spec 8.2-8.6) and the length-based receiver (spec 8.10). */
#include "mcubus/modbus.h"

#include <string.h>

#include "internal.h"

uint16_t mcubus_crc16_modbus(const uint8_t *p, size_t n) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0xA001u) : (uint16_t)(crc >> 1);
  }
  return crc;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static void put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* "exactly k data bytes": fewer is truncated, more is bad_length. */
static mcubus_err_t exactly(size_t have, size_t k) {
  return have < k ? MCUBUS_E_TRUNCATED : have > k ? MCUBUS_E_BAD_LENGTH : MCUBUS_E_OK;
}

static mcubus_err_t tunnel(const uint8_t *d, size_t dn, mcubus_adu_t *out) {
  if (dn < 1) return MCUBUS_E_TRUNCATED;
  if (d[0] > MCUBUS_MODBUS_MAX_TUNNEL_FRAME) return MCUBUS_E_BAD_BYTE_COUNT;
  mcubus_err_t e = exactly(dn, 1u + d[0]);
  if (e != MCUBUS_E_OK) return e;
  out->kind = MCUBUS_MB_TUNNEL;
  out->frame_len = d[0];
  out->frame = d[0] ? d + 1 : 0;
  return MCUBUS_E_OK;
}

mcubus_err_t mcubus_adu_decode(const uint8_t *adu, size_t n, bool response, mcubus_adu_t *out) {
  if (n < 4) return MCUBUS_E_TRUNCATED;
  if (n > MCUBUS_MODBUS_MAX_ADU) return MCUBUS_E_OVERSIZE;
  uint16_t crc = mcubus_crc16_modbus(adu, n - 2);
  if (adu[n - 2] != (uint8_t)crc || adu[n - 1] != (uint8_t)(crc >> 8)) return MCUBUS_E_BAD_CRC;
  if (adu[0] >= 248) return MCUBUS_E_RESERVED_ADDRESS;
  memset(out, 0, sizeof *out);
  out->address = adu[0];
  out->function = adu[1];
  const uint8_t *d = adu + 2;
  size_t dn = n - 4;
  mcubus_err_t e;
  if (!response) {
    switch (adu[1]) {
    case 0x03:
    case 0x04:
      if ((e = exactly(dn, 4)) != MCUBUS_E_OK) return e;
      out->kind = MCUBUS_MB_READ_REGISTERS;
      out->start = be16(d);
      out->quantity = be16(d + 2);
      return out->quantity >= 1 && out->quantity <= 125 ? MCUBUS_E_OK : MCUBUS_E_BAD_QUANTITY;
    case 0x06:
      if ((e = exactly(dn, 4)) != MCUBUS_E_OK) return e;
      out->kind = MCUBUS_MB_WRITE_SINGLE;
      out->reg = be16(d);
      out->value = be16(d + 2);
      return MCUBUS_E_OK;
    case 0x10:
      if (dn < 5) return MCUBUS_E_TRUNCATED;
      out->kind = MCUBUS_MB_WRITE_MULTIPLE;
      out->start = be16(d);
      out->quantity = be16(d + 2);
      if (out->quantity < 1 || out->quantity > 123) return MCUBUS_E_BAD_QUANTITY;
      if (d[4] != 2u * out->quantity) return MCUBUS_E_BAD_BYTE_COUNT;
      if ((e = exactly(dn, 5u + d[4])) != MCUBUS_E_OK) return e;
      out->count = out->quantity;
      out->regs = d + 5;
      return MCUBUS_E_OK;
    case MCUBUS_MODBUS_FN_TUNNEL:
      return tunnel(d, dn, out);
    default:
      return MCUBUS_E_UNKNOWN_FUNCTION;
    }
  }
  if (adu[0] == 0) return MCUBUS_E_BROADCAST_RESPONSE;
  if (adu[1] >= 0x81) {
    if ((e = exactly(dn, 1)) != MCUBUS_E_OK) return e;
    out->kind = MCUBUS_MB_EXCEPTION;
    out->exception = d[0];
    return d[0] ? MCUBUS_E_OK : MCUBUS_E_BAD_EXCEPTION_CODE;
  }
  switch (adu[1]) {
  case 0x03:
  case 0x04:
    if (dn < 1) return MCUBUS_E_TRUNCATED;
    if (d[0] < 2 || d[0] > 250 || (d[0] & 1u)) return MCUBUS_E_BAD_BYTE_COUNT;
    if ((e = exactly(dn, 1u + d[0])) != MCUBUS_E_OK) return e;
    out->kind = MCUBUS_MB_READ_REGISTERS;
    out->count = d[0] / 2u;
    out->regs = d + 1;
    return MCUBUS_E_OK;
  case 0x06:
    if ((e = exactly(dn, 4)) != MCUBUS_E_OK) return e;
    out->kind = MCUBUS_MB_WRITE_SINGLE;
    out->reg = be16(d);
    out->value = be16(d + 2);
    return MCUBUS_E_OK;
  case 0x10:
    if ((e = exactly(dn, 4)) != MCUBUS_E_OK) return e;
    out->kind = MCUBUS_MB_WRITE_MULTIPLE;
    out->start = be16(d);
    out->quantity = be16(d + 2);
    return out->quantity >= 1 && out->quantity <= 123 ? MCUBUS_E_OK : MCUBUS_E_BAD_QUANTITY;
  case MCUBUS_MODBUS_FN_TUNNEL:
    return tunnel(d, dn, out);
  default:
    return MCUBUS_E_UNKNOWN_FUNCTION;
  }
}

size_t mcubus_adu_encode(const mcubus_adu_t *a, bool response, uint8_t out[MCUBUS_MODBUS_MAX_ADU]) {
  size_t n = 2;
  if (a->address >= 248) return 0;
  out[0] = a->address;
  out[1] = a->function;
  switch (a->kind) {
  case MCUBUS_MB_READ_REGISTERS:
    if (!response) {
      put_be16(out + 2, a->start);
      put_be16(out + 4, a->quantity);
      n = 6;
    } else {
      if (a->count < 1 || a->count > 125) return 0;
      out[2] = (uint8_t)(2u * a->count);
      memcpy(out + 3, a->regs, 2u * a->count);
      n = 3u + 2u * a->count;
    }
    break;
  case MCUBUS_MB_WRITE_SINGLE:
    put_be16(out + 2, a->reg);
    put_be16(out + 4, a->value);
    n = 6;
    break;
  case MCUBUS_MB_WRITE_MULTIPLE:
    put_be16(out + 2, a->start);
    put_be16(out + 4, response ? a->quantity : a->count);
    n = 6;
    if (!response) {
      if (a->count < 1 || a->count > 123) return 0;
      out[6] = (uint8_t)(2u * a->count);
      memcpy(out + 7, a->regs, 2u * a->count);
      n = 7u + 2u * a->count;
    }
    break;
  case MCUBUS_MB_TUNNEL:
    if (a->frame_len > MCUBUS_MODBUS_MAX_TUNNEL_FRAME) return 0;
    out[2] = a->frame_len;
    if (a->frame_len) memcpy(out + 3, a->frame, a->frame_len);
    n = 3u + a->frame_len;
    break;
  case MCUBUS_MB_EXCEPTION:
    if (a->exception == 0) return 0;
    out[2] = a->exception;
    n = 3;
    break;
  }
  uint16_t crc = mcubus_crc16_modbus(out, n);
  out[n] = (uint8_t)crc;
  out[n + 1] = (uint8_t)(crc >> 8);
  return n + 2;
}

int mcubus_adu_expected_length(const uint8_t *b, size_t n, bool response) {
  if (n < 1) return 0;
  if (b[0] >= 248 || (response && b[0] == 0)) return -1;
  if (n < 2) return 0;
  uint8_t fn = b[1];
  switch (fn) {
  case 0x03:
  case 0x04:
    if (!response) return 8;
    if (n < 3) return 0;
    return (b[2] & 1u) == 0 && b[2] >= 2 && b[2] <= 250 ? 5 + b[2] : -1;
  case 0x06:
    return 8;
  case 0x10:
    if (response) return 8;
    if (n < 7) return 0;
    {
      uint16_t q = be16(b + 4);
      return q >= 1 && q <= 123 && b[6] == 2 * q ? 9 + b[6] : -1;
    }
  case MCUBUS_MODBUS_FN_TUNNEL:
    if (n < 3) return 0;
    return b[2] <= MCUBUS_MODBUS_MAX_TUNNEL_FRAME ? 5 + b[2] : -1;
  default:
    return response && fn >= 0x81 ? 5 : -1;
  }
}

void mcubus_mb_framer_init(mcubus_mb_framer_t *f, mcubus_counters_t *counters) {
  f->len = 0;
  f->counters = counters;
}

size_t mcubus_mb_framer_push(mcubus_mb_framer_t *f, const uint8_t *p, size_t n) {
  size_t room = sizeof f->buf - f->len, take = n < room ? n : room;
  memcpy(f->buf + f->len, p, take);
  f->len += take;
  if (take < n) mcubus_count(f->counters, MCUBUS_E_OVERSIZE); /* cannot happen while next() is drained */
  return take;
}

static void drop_first(mcubus_mb_framer_t *f, mcubus_err_t why) {
  memmove(f->buf, f->buf + 1, f->len - 1);
  f->len--;
  mcubus_count(f->counters, why);
}

static bool crc_ok(const uint8_t *b, int len) {
  uint16_t crc = mcubus_crc16_modbus(b, (size_t)len - 2);
  return b[len - 2] == (uint8_t)crc && b[len - 1] == (uint8_t)(crc >> 8);
}

/* A slave hears requests and the other slaves' responses: it tries both readings (request first)
 * and waits while either may still complete (spec 8.10). */
size_t mcubus_mb_framer_next(mcubus_mb_framer_t *f, bool silence, uint8_t out[MCUBUS_MODBUS_MAX_ADU],
                             bool *is_request) {
  while (f->len > 0) {
    int req = mcubus_adu_expected_length(f->buf, f->len, false);
    int rsp = mcubus_adu_expected_length(f->buf, f->len, true);
    if (req < 0 && rsp < 0) {
      drop_first(f, MCUBUS_E_NOT_A_START);
      continue;
    }
    bool waiting = false;
    for (int k = 0; k < 2; k++) {
      int L = k == 0 ? req : rsp;
      if (L < 0) continue;
      if (L == 0 || (size_t)L > f->len) {
        waiting = true;
        continue;
      }
      if (crc_ok(f->buf, L)) {
        memcpy(out, f->buf, (size_t)L);
        memmove(f->buf, f->buf + L, f->len - (size_t)L);
        f->len -= (size_t)L;
        *is_request = k == 0;
        return (size_t)L;
      }
    }
    if (waiting && !silence) return 0;
    drop_first(f, waiting ? MCUBUS_E_INCOMPLETE : MCUBUS_E_BAD_CRC);
  }
  return 0;
}
