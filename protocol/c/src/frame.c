/* The mcubus frame (spec 2): 8-byte header, CBOR body, CRC-32C with the TTL byte masked. */
#include "mcubus/codec.h"

#include "internal.h"

#define OFF_TTL 4u

uint32_t mcubus_frame_crc(const uint8_t *frame, size_t body_end) {
  static const uint8_t zero = 0;
  uint32_t c = mcubus_crc32c_update(MCUBUS_CRC32C_INIT, frame, OFF_TTL);
  c = mcubus_crc32c_update(c, &zero, 1);
  c = mcubus_crc32c_update(c, frame + OFF_TTL + 1, body_end - OFF_TTL - 1);
  return c ^ 0xFFFFFFFFu;
}

mcubus_err_t mcubus_frame_decode(const uint8_t *buf, size_t len, size_t max_len, mcubus_frame_t *out) {
  if (len < MCUBUS_MIN_FRAME) return MCUBUS_E_TRUNCATED;
  if (len > max_len) return MCUBUS_E_OVERSIZE;
  if (buf[0] != 1) return MCUBUS_E_UNKNOWN_VERSION;
  size_t body_end = len - MCUBUS_CRC_SIZE;
  if (mcubus__le32(buf + body_end) != mcubus_frame_crc(buf, body_end)) return MCUBUS_E_BAD_CRC;
  out->version = buf[0];
  out->flags = buf[1];
  out->dst = buf[2];
  out->src = buf[3];
  out->ttl = buf[4];
  out->type = buf[5];
  out->seq = (uint16_t)(buf[6] | (buf[7] << 8));
  out->body = buf + MCUBUS_HEADER_SIZE;
  out->body_len = body_end - MCUBUS_HEADER_SIZE;
  return MCUBUS_E_OK;
}

mcubus_err_t mcubus_frame_decode_full(const uint8_t *buf, size_t len, size_t max_len, mcubus_frame_t *out) {
  mcubus_err_t e = mcubus_frame_decode(buf, len, max_len, out);
  if (e != MCUBUS_E_OK) return e;
  return mcubus_schema_check(out->type, out->body, out->body_len, 0, 0);
}

void mcubus_frame_header(uint8_t *buf, uint8_t flags, uint8_t dst, uint8_t src, uint8_t type, uint16_t seq) {
  buf[0] = 1;
  buf[1] = flags;
  buf[2] = dst;
  buf[3] = src;
  buf[4] = MCUBUS_DEFAULT_TTL;
  buf[5] = type;
  buf[6] = (uint8_t)seq;
  buf[7] = (uint8_t)(seq >> 8);
}

size_t mcubus_frame_seal(uint8_t *buf, size_t cap, size_t body_len) {
  size_t end = MCUBUS_HEADER_SIZE + body_len;
  if (body_len == 0 || end + MCUBUS_CRC_SIZE > cap || end + MCUBUS_CRC_SIZE > MCUBUS_FRAME_LIMIT) return 0;
  mcubus__put_le32(buf + end, mcubus_frame_crc(buf, end));
  return end + MCUBUS_CRC_SIZE;
}

void mcubus_frame_mark_retransmit(uint8_t *frame, size_t len) {
  if (len < MCUBUS_HEADER_SIZE + MCUBUS_CRC_SIZE) return; /* not a frame: left alone */
  frame[1] |= MCUBUS_FLAG_RETRANSMIT;
  mcubus__put_le32(frame + len - MCUBUS_CRC_SIZE, mcubus_frame_crc(frame, len - MCUBUS_CRC_SIZE));
}

uint32_t mcubus_frame_original_crc(const uint8_t *frame, size_t len) {
  if (len < MCUBUS_HEADER_SIZE + MCUBUS_CRC_SIZE) return 0; /* not a frame */
  size_t body_end = len - MCUBUS_CRC_SIZE;
  if (!(frame[1] & MCUBUS_FLAG_RETRANSMIT)) return mcubus__le32(frame + body_end);
  /* The CRC covers the flags: recompute it as if RETRANSMIT were clear, without copying the frame. */
  static const uint8_t zero = 0;
  uint8_t flags = (uint8_t)(frame[1] & ~MCUBUS_FLAG_RETRANSMIT);
  uint32_t c = mcubus_crc32c_update(MCUBUS_CRC32C_INIT, frame, 1);
  c = mcubus_crc32c_update(c, &flags, 1);
  c = mcubus_crc32c_update(c, frame + 2, 2);
  c = mcubus_crc32c_update(c, &zero, 1);
  c = mcubus_crc32c_update(c, frame + 5, body_end - 5);
  return c ^ 0xFFFFFFFFu;
}

/* Syndrome walk (spec 6): flipping bit b of byte i changes the CRC by f^(n-1-i)(T[1<<b]), where f
 * shifts one zero byte through the register. Each single-bit flip has its own syndrome (CRC-32C's
 * Hamming distance is >= 4 at these lengths), so a match is exact. Costs 8 table steps per byte, and
 * only for frames that already failed. */
bool mcubus_frame_repair_bit(uint8_t *frame, size_t len, size_t *byte_at, unsigned *bit_at) {
  if (len < MCUBUS_MIN_FRAME) return false;
  size_t body_end = len - MCUBUS_CRC_SIZE;
  uint32_t syndrome = mcubus_frame_crc(frame, body_end) ^ mcubus__le32(frame + body_end);
  if (syndrome == 0) return false;
  if ((syndrome & (syndrome - 1u)) == 0) { /* one bit of the stored CRC itself */
    unsigned k = 0;
    while (!(syndrome & (1u << k))) k++;
    frame[body_end + (k >> 3)] ^= (uint8_t)(1u << (k & 7u));
    if (byte_at) *byte_at = body_end + (k >> 3);
    if (bit_at) *bit_at = k & 7u;
    return true;
  }
  const uint32_t *t = mcubus__crc32c_table();
  uint32_t reg[8];
  for (unsigned b = 0; b < 8; b++) reg[b] = t[1u << b];
  for (size_t i = body_end; i-- > 0;) {
    if (i != OFF_TTL) { /* the masked TTL never changes the CRC: never "found" */
      for (unsigned b = 0; b < 8; b++) {
        if (reg[b] == syndrome) {
          frame[i] ^= (uint8_t)(1u << b);
          if (byte_at) *byte_at = i;
          if (bit_at) *bit_at = b;
          return true;
        }
      }
    }
    for (unsigned b = 0; b < 8; b++) reg[b] = t[reg[b] & 0xFFu] ^ (reg[b] >> 8);
  }
  return false;
}
