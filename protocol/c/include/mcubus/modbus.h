/* Modbus RTU carriage (spec 8): ADU codec for the functions mcubus uses, and the slave side of the
 * FC 0x41 tunnel with a length-based receiver (spec 8.10). */
#ifndef MCUBUS_MODBUS_H
#define MCUBUS_MODBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "errors.h"

#define MCUBUS_MODBUS_FN_TUNNEL 0x41u
#define MCUBUS_MODBUS_MAX_ADU 256u
#define MCUBUS_MODBUS_MAX_TUNNEL_FRAME 251u

uint16_t mcubus_crc16_modbus(const uint8_t *p, size_t n);

typedef enum {
  MCUBUS_MB_READ_REGISTERS,
  MCUBUS_MB_WRITE_SINGLE,
  MCUBUS_MB_WRITE_MULTIPLE,
  MCUBUS_MB_TUNNEL,
  MCUBUS_MB_EXCEPTION
} mcubus_mb_kind_t;

typedef struct {
  uint8_t address, function;
  mcubus_mb_kind_t kind;
  uint16_t start, quantity;   /* read request; write-multiple request/response */
  uint16_t reg, value;        /* write single */
  uint16_t count;             /* registers in `regs` (read response, write-multiple request) */
  const uint8_t *regs;        /* big-endian register values, inside the ADU */
  const uint8_t *frame;       /* tunnel: the mcubus frame (NULL when N = 0) */
  uint8_t frame_len;
  uint8_t exception;          /* exception code */
} mcubus_adu_t;

/* Checks an ADU in the order of spec 8.3; `response` picks the layout. */
mcubus_err_t mcubus_adu_decode(const uint8_t *adu, size_t n, bool response, mcubus_adu_t *out);
/* Encodes an ADU (CRC appended); returns its length, or 0 (bad_value) when a field does not fit. */
size_t mcubus_adu_encode(const mcubus_adu_t *a, bool response, uint8_t out[MCUBUS_MODBUS_MAX_ADU]);

/* Expected total length of an ADU starting with buf[0..n): >0 the length, 0 more bytes needed,
 * <0 not a start (spec 8.10 table). */
int mcubus_adu_expected_length(const uint8_t *buf, size_t n, bool response);

/* The slave's receiver: bytes in, complete ADUs with a good CRC out (requests or other slaves'
 * responses; the caller keeps requests to its own address or 0). */
typedef struct {
  uint8_t buf[2 * MCUBUS_MODBUS_MAX_ADU];
  size_t len;
  mcubus_counters_t *counters;
} mcubus_mb_framer_t;

void mcubus_mb_framer_init(mcubus_mb_framer_t *f, mcubus_counters_t *counters);
/* Appends bytes; then call next until it returns 0. `silence` true = the line fell silent (t3.5):
 * what cannot complete any more is dropped as incomplete. Returns the ADU length (copied to out)
 * and whether it reads as a request. */
size_t mcubus_mb_framer_push(mcubus_mb_framer_t *f, const uint8_t *p, size_t n);
size_t mcubus_mb_framer_next(mcubus_mb_framer_t *f, bool silence, uint8_t out[MCUBUS_MODBUS_MAX_ADU],
                             bool *is_request);

#endif
