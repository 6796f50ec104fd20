/* ISO 15765-2 transport for one node address on one CAN bus (spec 7), sans-IO: feed it CAN frames,
 * send requests and the time; it calls back with CAN frames to put on the bus and messages received.
 * Static slots only: MCUBUS_ISOTP_RX_SLOTS receptions and MCUBUS_ISOTP_TX_SLOTS transmissions. */
#ifndef MCUBUS_ISOTP_H
#define MCUBUS_ISOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "errors.h"

typedef uint64_t mcubus_us_t; /* microseconds, monotonic */

typedef struct {
  uint32_t id; /* 29-bit extended identifier */
  bool extended;
  bool fd;
  uint8_t len; /* CAN_DL */
  uint8_t data[64];
} mcubus_can_frame_t;

typedef struct {
  uint8_t address;
  bool fd;            /* send CAN FD frames */
  uint8_t frame_size; /* TX_DL: 8 on classic CAN; 8..64 on FD */
  int16_t padding;    /* padding byte, or -1 for off */
  uint8_t block_size; /* what we advertise as receiver */
  uint32_t stmin_us;  /* what we advertise as receiver (rounded up to an encodable value) */
  uint32_t max_message;
  uint32_t n_bs_us, n_cr_us;
  uint8_t max_wait_frames;
} mcubus_isotp_config_t;

/* Defaults of spec 7: classic CAN, padding 0xCC, BS 0, STmin 0, 1 s timeouts, 10 waits. */
void mcubus_isotp_config_default(mcubus_isotp_config_t *c, uint8_t address);

typedef struct {
  void *ctx;
  void (*can_send)(void *ctx, const mcubus_can_frame_t *f);
  void (*received)(void *ctx, uint8_t from, uint8_t priority, bool functional, const uint8_t *msg, size_t len);
  /* A transmission finished: MCUBUS_E_OK, or why it failed. May be NULL. */
  void (*sent)(void *ctx, uint32_t handle, uint8_t to, mcubus_err_t result);
  /* A reception was abandoned (wrong_sn, timeout_cr, interrupted, message_too_large). May be NULL. */
  void (*rx_error)(void *ctx, uint8_t from, mcubus_err_t code);
} mcubus_isotp_io_t;

typedef enum { TX_FREE, TX_QUEUED, TX_WAIT_FC, TX_SENDING } mcubus_isotp_tx_state_t;

typedef struct {
  mcubus_isotp_tx_state_t state;
  uint32_t handle, order, id;
  uint16_t key; /* CAN priority << 8 | peer: one transfer per identifier */
  uint8_t to;
  uint32_t len, offset;
  uint8_t sn, block_left, waits;
  uint32_t stmin_us;
  mcubus_us_t deadline, next_cf_at;
  uint8_t buf[MCUBUS_ISOTP_MAX_MSG];
} mcubus_isotp_tx_t;

typedef struct {
  bool busy;
  uint16_t key;
  uint8_t from, can_priority, rx_dl, next_sn, block_count;
  bool fd;
  uint32_t len, offset;
  mcubus_us_t deadline;
  mcubus_us_t t_first; /* the `now` (SOF stamp) of the FF that opened this reception */
  uint8_t buf[MCUBUS_ISOTP_MAX_MSG];
} mcubus_isotp_rx_t;

typedef struct {
  mcubus_isotp_config_t cfg;
  mcubus_isotp_io_t io;
  mcubus_counters_t *counters;
  uint8_t stmin_raw;
  uint32_t order;
  mcubus_isotp_tx_t tx[MCUBUS_ISOTP_TX_SLOTS];
  mcubus_isotp_rx_t rx[MCUBUS_ISOTP_RX_SLOTS];
  /* While io.received runs: the stamp (`now` of mcubus_isotp_on_frame) of the SF or FF that started
   * the message being delivered, not of whatever frame arrived last. */
  mcubus_us_t rx_sof;
} mcubus_isotp_t;

void mcubus_isotp_init(mcubus_isotp_t *n, const mcubus_isotp_config_t *cfg, const mcubus_isotp_io_t *io,
                       mcubus_counters_t *counters);
/* Queues a message (copied) to `to` (0xFF with functional) at frame priority 0-3. Errors are returned
 * and counted: invalid_address, invalid_priority, empty_payload, too_large_for_functional, oversize
 * (longer than a slot), no_tx_slot. */
mcubus_err_t mcubus_isotp_send(mcubus_isotp_t *n, mcubus_us_t now, uint32_t handle, uint8_t to, uint8_t priority,
                               bool functional, const uint8_t *msg, size_t len);
/* One CAN frame from the bus. */
void mcubus_isotp_on_frame(mcubus_isotp_t *n, mcubus_us_t now, const mcubus_can_frame_t *f);
/* Runs the timers (N_Bs, N_Cr, STmin). */
void mcubus_isotp_poll(mcubus_isotp_t *n, mcubus_us_t now);
/* Earliest time a poll is due; false when nothing is in progress. */
bool mcubus_isotp_next_wake(const mcubus_isotp_t *n, mcubus_us_t *at);
/* Transfers in progress (transmitting + queued + receiving). */
unsigned mcubus_isotp_pending(const mcubus_isotp_t *n);

/* CAN identifier helpers (spec 7.1). */
uint32_t mcubus_can_id(uint8_t priority, bool functional, uint8_t target, uint8_t source);

#endif
