/* Every reason the library refuses an input or fails an operation: one code, one counter slot. */
#ifndef MCUBUS_ERRORS_H
#define MCUBUS_ERRORS_H

#include <stdint.h>

#define MCUBUS_ERROR_LIST(X)                                                                             \
  X(OK, "ok")                                                                                            \
  /* frame (spec 2) */                                                                                   \
  X(TRUNCATED, "truncated")                                                                              \
  X(OVERSIZE, "oversize")                                                                                \
  X(UNKNOWN_VERSION, "unknown_version")                                                                  \
  X(BAD_CRC, "bad_crc")                                                                                  \
  X(BAD_CBOR, "bad_cbor")                                                                                \
  X(SCHEMA, "schema")                                                                                    \
  X(UNKNOWN_TYPE, "unknown_type")                                                                        \
  X(MAP_TOO_LARGE, "map_too_large") /* a map beyond MCUBUS_CBOR_MAX_MAP entries (implementation limit) */ \
  /* byte streams (spec 6) */                                                                            \
  X(COBS_OVERRUN, "cobs_overrun")                                                                        \
  X(COBS_ZERO, "cobs_zero")                                                                              \
  X(REPAIRED_BIT, "repaired_bit")                                                                        \
  /* ISO-TP (spec 7.8) */                                                                                \
  X(STANDARD_ID, "standard_id")                                                                          \
  X(FOREIGN_ID, "foreign_id")                                                                            \
  X(NOT_FOR_US, "not_for_us")                                                                            \
  X(FD_DISABLED, "fd_disabled")                                                                          \
  X(INVALID_DLC, "invalid_dlc")                                                                          \
  X(INVALID_PCI, "invalid_pci")                                                                          \
  X(INVALID_LENGTH, "invalid_length")                                                                    \
  X(FUNCTIONAL_NOT_SINGLE, "functional_not_single")                                                      \
  X(UNEXPECTED_CF, "unexpected_cf")                                                                      \
  X(UNEXPECTED_FC, "unexpected_fc")                                                                      \
  X(WRONG_SN, "wrong_sn")                                                                                \
  X(TIMEOUT_CR, "timeout_cr")                                                                            \
  X(INTERRUPTED, "interrupted")                                                                          \
  X(MESSAGE_TOO_LARGE, "message_too_large")                                                              \
  X(TIMEOUT_BS, "timeout_bs")                                                                            \
  X(OVERFLOW, "overflow")                                                                                \
  X(WAIT_LIMIT, "wait_limit")                                                                            \
  X(RESERVED_FLOW_STATUS, "reserved_flow_status")                                                        \
  X(TOO_LARGE_FOR_FUNCTIONAL, "too_large_for_functional")                                                \
  X(EMPTY_PAYLOAD, "empty_payload")                                                                      \
  X(INVALID_ADDRESS, "invalid_address")                                                                  \
  X(INVALID_PRIORITY, "invalid_priority")                                                                \
  X(NO_TX_SLOT, "no_tx_slot")                                                                            \
  /* Modbus (spec 8.3, 8.10) */                                                                          \
  X(RESERVED_ADDRESS, "reserved_address")                                                                \
  X(BROADCAST_RESPONSE, "broadcast_response")                                                            \
  X(UNKNOWN_FUNCTION, "unknown_function")                                                                \
  X(BAD_QUANTITY, "bad_quantity")                                                                        \
  X(BAD_BYTE_COUNT, "bad_byte_count")                                                                    \
  X(BAD_LENGTH, "bad_length")                                                                            \
  X(BAD_EXCEPTION_CODE, "bad_exception_code")                                                            \
  X(INCOMPLETE, "incomplete")                                                                            \
  X(NOT_A_START, "not_a_start")                                                                          \
  X(BAD_VALUE, "bad_value")                                                                              \
  X(QUEUE_FULL, "queue_full")                                                                            \
  /* device and gateway */                                                                               \
  X(DUPLICATE_REQUEST, "duplicate_request")                                                              \
  X(BROADCAST_REQUEST, "broadcast_request") /* a request type sent to 0xFF: not executed (spec 5) */     \
  X(NO_ROUTE, "no_route")                                                                                \
  X(TTL_EXPIRED, "ttl_expired")                                                                          \
  X(TOO_LARGE, "too_large")                                                                              \
  X(TX_FAILED, "tx_failed")                                                                              \
  X(UNEXPECTED_RESPONSE, "unexpected_response")                                                          \
  X(BUFFER, "buffer")                                                                                    \
  /* update receiver drops (spec 5) */                                                                   \
  X(CHUNK_NO_SESSION, "chunk_no_session")                                                                \
  X(CHUNK_OTHER_SESSION, "chunk_other_session")                                                          \
  X(CHUNK_DUPLICATE, "chunk_duplicate")                                                                  \
  X(CHUNK_BEYOND_WINDOW, "chunk_beyond_window")                                                          \
  X(FLASH, "flash")

typedef enum {
#define MCUBUS_X(id, name) MCUBUS_E_##id,
  MCUBUS_ERROR_LIST(MCUBUS_X)
#undef MCUBUS_X
      MCUBUS_E__COUNT
} mcubus_err_t;

/* The wire name of a code ("bad_crc"), as used by the spec and the golden vectors. */
const char *mcubus_err_name(mcubus_err_t e);

/* One counter per code: every refused input is counted, never dropped silently. */
typedef struct {
  uint32_t n[MCUBUS_E__COUNT];
} mcubus_counters_t;

static inline void mcubus_count(mcubus_counters_t *c, mcubus_err_t e) {
  if (c && e < MCUBUS_E__COUNT) c->n[e]++;
}

#endif
