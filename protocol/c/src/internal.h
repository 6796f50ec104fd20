/* Helpers shared by the library's own files; not part of the public API. */
#ifndef MCUBUS_INTERNAL_H
#define MCUBUS_INTERNAL_H

#include <stdint.h>
#include <string.h>

const uint32_t *mcubus__crc32c_table(void);

static inline uint32_t mcubus__le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void mcubus__put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t mcubus__be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void mcubus__put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
#define MCUBUS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MCUBUS_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
