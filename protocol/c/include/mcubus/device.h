/* The device role (spec 5): HELLO, heartbeat, PING, IDENTIFY, RESET, time sync with wire-close
 * stamps, the answer cache, the update receiver, and the gateway forwarding role, over UART (COBS),
 * CAN (ISO-TP) and Modbus RTU (FC 0x41 slave) ports. The application supplies mcubus_port_t. */
#ifndef MCUBUS_DEVICE_H
#define MCUBUS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "config.h"
#include "errors.h"
#include "isotp.h"
#include "modbus.h"

/* What the application provides: the hardware below the protocol. */
typedef struct {
  void *ctx;
  /* Microsecond counter (64-bit, monotonic). */
  mcubus_us_t (*now_us)(void *ctx);
  /* Byte streams (UART and Modbus ports): queue bytes for transmission. */
  void (*write)(void *ctx, unsigned link, const uint8_t *p, size_t n);
  /* When the next byte handed to write() will start on the wire (for t3; NULL = now_us). */
  mcubus_us_t (*tx_start_us)(void *ctx, unsigned link);
  /* CAN ports: put one frame on the bus. */
  void (*can_send)(void *ctx, unsigned link, const mcubus_can_frame_t *f);
  /* Flash of the update slots (NULL erase = no update support). Addresses are offsets from 0. */
  bool (*flash_erase)(void *ctx, uint32_t addr, uint32_t len);
  bool (*flash_write)(void *ctx, uint32_t addr, const uint8_t *p, uint32_t n);
  bool (*flash_read)(void *ctx, uint32_t addr, uint8_t *p, uint32_t n);
  /* Reboot now (RESET, and after UPDATE_ACTIVATE); on a real MCU this does not return. */
  void (*reset)(void *ctx);
  /* Ed25519 (RFC 8032) verification of sig over msg with the trusted key; NULL = no signed updates. */
  bool (*ed25519_verify)(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t n, const uint8_t pub[32]);
} mcubus_port_t;

typedef struct {
  uint8_t address;
  const char *hardware_id;
  uint16_t hardware_rev;
  const char *name; /* may be NULL */
  uint8_t uid[16];
  uint8_t uid_len;
  uint32_t bootloader_version[3];
  uint32_t factory_version[3]; /* reported when no slot holds a valid image */
  uint32_t heartbeat_period_ms;
  uint8_t reset_reason; /* ResetReason of this boot */
  uint32_t reset_count;
  uint8_t trusted_key[32]; /* Ed25519 public key images must be signed with */
} mcubus_identity_t;

/* Flash layout of the A/B update slots (spec 5 "Update transfer"; docs in protocol/c/README.md). */
typedef struct {
  uint32_t sector_size;
  uint32_t state_addr; /* two sectors: the boot state, double-buffered */
  uint32_t slot_addr[2];
  uint32_t slot_size; /* header sector + image */
  uint32_t write_us;  /* flash programming time per chunk, reported in UPDATE_STATUS */
} mcubus_flash_layout_t;

typedef enum { MCUBUS_LINK_NONE, MCUBUS_LINK_UART, MCUBUS_LINK_CAN, MCUBUS_LINK_MODBUS } mcubus_link_kind_t;

typedef struct {
  uint8_t len;
  uint16_t session; /* UPDATE_ACK of this session: a newer one replaces it in place (spec 8.7) */
  bool is_ack;
  bool followup;    /* a TIME_SYNC_RESP whose t3 follows when it leaves */
  uint64_t t1;
  uint8_t bytes[MCUBUS_MODBUS_MAX_TUNNEL_FRAME];
} mcubus_mb_out_t;

typedef struct {
  mcubus_link_kind_t kind;
  uint32_t char_us; /* one character on the line (byte streams), for stamps and idle detection */
  mcubus_us_t last_tx_end, piece_t0;
  mcubus_cobs_stream_t cobs;
  mcubus_isotp_t isotp;
  uint8_t mb_address;
  mcubus_mb_framer_t mb;
  mcubus_mb_out_t mb_q[MCUBUS_MODBUS_TXQ];
  uint8_t mb_n;
  mcubus_us_t mb_t0;
  mcubus_us_t can_t0;
} mcubus_link_t;

typedef struct {
  bool used;
  uint8_t src;
  uint16_t seq;
  uint32_t crc, age;
  uint16_t len;
  uint8_t bytes[MCUBUS_ANSWER_MAX];
} mcubus_answer_t;

typedef struct {
  uint8_t dst, link, next_hop;
} mcubus_route_t;

typedef struct {
  uint32_t index;
  uint64_t at, wire_at;
  uint8_t src, dst, type, flags, in_port, out_port, outcome;
  uint16_t seq;
  bool has_out, has_wire;
} mcubus_fwd_record_t;

/* Persistent boot state (both slots, the pending test boot, the resume point). */
typedef struct {
  uint32_t magic, generation;
  uint8_t confirmed, pending, tried, active; /* slot numbers, 0xFF = none */
  uint32_t min_security;
  struct {
    uint8_t valid;
    uint32_t version[3], size, security;
    uint8_t sha256[32];
  } slot[2];
  struct { /* resume point of the transfer in progress */
    uint8_t slot, kind;
    uint32_t size, received, chunk;
    uint8_t sha256[32];
  } progress;
  uint32_t crc;
} mcubus_boot_state_t;

typedef struct {
  bool open;
  uint16_t id, chunk;
  uint8_t state; /* UpdateState: 1 receiving, 2 received, 3 verified, 4 failed, 5 activated */
  uint8_t slot, error;
  uint32_t size, cumulative, security;
  uint32_t version[3];
  uint8_t sha256[32];
  uint8_t stored[(MCUBUS_UPDATE_WINDOW * 8 + 7) / 8]; /* chunks beyond cumulative already stored */
  uint16_t since_ack;
  bool gap_reported;
  uint8_t ack_dst, ack_link_src;
  uint16_t envelope_len;
} mcubus_update_t;

typedef struct mcubus_dev {
  mcubus_identity_t id;
  mcubus_port_t port;
  mcubus_flash_layout_t flash;
  bool has_flash;
  mcubus_counters_t counters;
  mcubus_link_t links[MCUBUS_MAX_PORTS];
  const char *link_names[MCUBUS_MAX_PORTS];
  uint16_t seq;
  mcubus_us_t boot_us, next_heartbeat;
  uint32_t period_ms;
  bool reset_pending;
  mcubus_us_t reset_at;
  mcubus_answer_t answers[MCUBUS_ANSWER_CACHE];
  uint32_t answer_age;
  /* The request being handled: its answer goes to the cache. */
  const mcubus_frame_t *req;
  uint32_t req_crc;
  unsigned req_link;
  mcubus_us_t req_t0;
  /* gateway role */
  bool gateway;
  uint8_t default_link; /* where frames to the host go */
  mcubus_route_t routes[MCUBUS_ROUTES];
  uint8_t n_routes;
  mcubus_fwd_record_t fwd[MCUBUS_FWD_LOG];
  uint32_t fwd_next, bulk_forwarded;
  /* update receiver */
  mcubus_boot_state_t boot;
  mcubus_update_t upd;
  uint8_t running_slot; /* 0xFF: the factory image */
  uint8_t frame_buf[MCUBUS_MAX_FRAME];
  uint8_t tx_buf[MCUBUS_COBS_MAX(MCUBUS_MAX_FRAME) + 2];
} mcubus_dev_t;

/* Boots the device: the boot decision for the A/B slots (test boot, revert), then HELLO. Links must be
 * added before mcubus_dev_start. */
void mcubus_dev_init(mcubus_dev_t *d, const mcubus_identity_t *id, const mcubus_port_t *port,
                     const mcubus_flash_layout_t *flash /* NULL: no updates */);
void mcubus_dev_add_uart(mcubus_dev_t *d, unsigned link, const char *name, uint32_t baud);
void mcubus_dev_add_can(mcubus_dev_t *d, unsigned link, const char *name, const mcubus_isotp_config_t *cfg);
void mcubus_dev_add_modbus(mcubus_dev_t *d, unsigned link, const char *name, uint8_t slave, uint32_t baud);
/* Gateway role: forward frames not for us; a route says which link (and next hop) leads to dst. */
void mcubus_dev_set_gateway(mcubus_dev_t *d, bool on, unsigned host_link);
bool mcubus_dev_add_route(mcubus_dev_t *d, uint8_t dst, unsigned link, uint8_t next_hop);
void mcubus_dev_start(mcubus_dev_t *d);

/* Received bytes on a byte-stream link; t_first = when the first of them started arriving. */
void mcubus_dev_uart_rx(mcubus_dev_t *d, unsigned link, const uint8_t *p, size_t n, mcubus_us_t t_first);
void mcubus_dev_modbus_rx(mcubus_dev_t *d, unsigned link, const uint8_t *p, size_t n, mcubus_us_t t_first);
/* The Modbus line fell silent for t3.5 (frames ADUs that could not be completed). */
void mcubus_dev_modbus_silence(mcubus_dev_t *d, unsigned link);
/* One CAN frame; t_sof = its start-of-frame timestamp. */
void mcubus_dev_can_rx(mcubus_dev_t *d, unsigned link, const mcubus_can_frame_t *f, mcubus_us_t t_sof);
/* Timers: heartbeats, ISO-TP, delayed reset. Call at least every millisecond or so. */
void mcubus_dev_poll(mcubus_dev_t *d);

/* Sends a message the device originates (LOG, TELEMETRY...) to dst: body is the CBOR body. */
bool mcubus_dev_send(mcubus_dev_t *d, uint8_t dst, uint8_t type, uint8_t priority, const uint8_t *body, size_t n);

/* internal, shared by device.c, update.c and gateway.c */
bool mcubus__reply(mcubus_dev_t *d, uint8_t type, const uint8_t *body, size_t n);
bool mcubus__reply_error(mcubus_dev_t *d, uint16_t code, const char *text, bool has_detail, int64_t detail);
bool mcubus__send_frame(mcubus_dev_t *d, const uint8_t *frame, size_t len, int link, uint8_t next_hop);
bool mcubus__update_handle(mcubus_dev_t *d, const mcubus_frame_t *f);
void mcubus__update_boot(mcubus_dev_t *d);
void mcubus__update_slots(mcubus_dev_t *d, mcubus_cbor_writer_t *w);
bool mcubus__gateway_handle(mcubus_dev_t *d, const mcubus_frame_t *f);
void mcubus__forward(mcubus_dev_t *d, unsigned in_link, uint8_t *frame, size_t len, const mcubus_frame_t *f);
int mcubus__route(mcubus_dev_t *d, uint8_t dst, uint8_t *next_hop);

#endif
