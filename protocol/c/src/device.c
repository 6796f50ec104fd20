/* The device role (spec 5): dispatch of received frames, answers and the answer cache, HELLO,
 * HEARTBEAT, PING, IDENTIFY, RESET and the time-sync exchange with stamps taken at the start of a
 * frame on the wire, over the three carriages. */
#include "mcubus/device.h"

#include <string.h>

#include "internal.h"

#define CAP_TIME_SYNC 0x01u
#define CAP_UPDATE 0x02u
#define CAP_GATEWAY 0x04u
#define CAP_FOLLOWUP 0x40u

static mcubus_us_t now(mcubus_dev_t *d) { return d->port.now_us(d->port.ctx); }

static mcubus_us_t tx_start(mcubus_dev_t *d, unsigned link) {
  return d->port.tx_start_us ? d->port.tx_start_us(d->port.ctx, link) : now(d);
}

/* ── links ─────────────────────────────────────────────────────────────────────────────────────── */

static void on_isotp_received(void *ctx, uint8_t from, uint8_t prio, bool functional, const uint8_t *m, size_t n);
static void on_can_send(void *ctx, const mcubus_can_frame_t *f);

typedef struct {
  mcubus_dev_t *d;
  unsigned link;
} can_ctx_t;
static can_ctx_t can_ctx[MCUBUS_MAX_PORTS]; /* one device per process on a real MCU; see README */

static uint32_t char_us(uint32_t baud) { return baud ? (10000000u + baud - 1) / baud : 0; }

void mcubus_dev_add_uart(mcubus_dev_t *d, unsigned link, const char *name, uint32_t baud) {
  if (link >= MCUBUS_MAX_PORTS) return;
  mcubus_link_t *l = &d->links[link];
  l->kind = MCUBUS_LINK_UART;
  l->char_us = char_us(baud);
  d->link_names[link] = name;
  mcubus_cobs_stream_init(&l->cobs, MCUBUS_MAX_FRAME, &d->counters);
}

void mcubus_dev_add_can(mcubus_dev_t *d, unsigned link, const char *name, const mcubus_isotp_config_t *cfg) {
  if (link >= MCUBUS_MAX_PORTS) return;
  mcubus_link_t *l = &d->links[link];
  l->kind = MCUBUS_LINK_CAN;
  d->link_names[link] = name;
  can_ctx[link].d = d;
  can_ctx[link].link = link;
  mcubus_isotp_io_t io = {&can_ctx[link], on_can_send, on_isotp_received, 0, 0};
  mcubus_isotp_init(&l->isotp, cfg, &io, &d->counters);
}

void mcubus_dev_add_modbus(mcubus_dev_t *d, unsigned link, const char *name, uint8_t slave, uint32_t baud) {
  if (link >= MCUBUS_MAX_PORTS) return;
  mcubus_link_t *l = &d->links[link];
  l->kind = MCUBUS_LINK_MODBUS;
  l->char_us = char_us(baud) * 11 / 10; /* 8E1: 11 bits */
  l->mb_address = slave;
  d->link_names[link] = name;
  mcubus_mb_framer_init(&l->mb, &d->counters);
}

/* ── sending ───────────────────────────────────────────────────────────────────────────────────── */

static void write_stream(mcubus_dev_t *d, unsigned link, const uint8_t *frame, size_t len) {
  mcubus_link_t *l = &d->links[link];
  size_t at = 0;
  /* After a pause a leading delimiter ends whatever noise the receiver collected (spec 6). */
  mcubus_us_t t = now(d);
  if (t >= l->last_tx_end + 10u * (l->char_us ? l->char_us : 1u)) d->tx_buf[at++] = 0;
  size_t n = mcubus_cobs_encode(frame, len, d->tx_buf + at, sizeof d->tx_buf - at - 1);
  if (n == 0) {
    mcubus_count(&d->counters, MCUBUS_E_BUFFER);
    return;
  }
  at += n;
  d->tx_buf[at++] = 0;
  d->port.write(d->port.ctx, link, d->tx_buf, at);
  l->last_tx_end = tx_start(d, link) + (mcubus_us_t)at * l->char_us;
}

static bool queue_modbus(mcubus_dev_t *d, mcubus_link_t *l, const uint8_t *frame, size_t len, bool followup,
                         uint64_t t1) {
  if (len > MCUBUS_MODBUS_MAX_TUNNEL_FRAME) {
    mcubus_count(&d->counters, MCUBUS_E_TOO_LARGE);
    return false;
  }
  bool ack = frame[5] == MCUBUS_T_UPDATE_ACK;
  uint64_t session = 0;
  if (ack) mcubus_cbor_map_uint(frame + 8, len - 12, 1, &session);
  if (ack) /* a newer cumulative ack replaces one still waiting (spec 8.7) */
    for (uint8_t i = 0; i < l->mb_n; i++)
      if (l->mb_q[i].is_ack && l->mb_q[i].session == session) {
        memcpy(l->mb_q[i].bytes, frame, len);
        l->mb_q[i].len = (uint8_t)len;
        return true;
      }
  if (l->mb_n >= MCUBUS_MODBUS_TXQ) {
    mcubus_count(&d->counters, MCUBUS_E_QUEUE_FULL);
    return false;
  }
  mcubus_mb_out_t *o = &l->mb_q[l->mb_n++];
  memcpy(o->bytes, frame, len);
  o->len = (uint8_t)len;
  o->is_ack = ack;
  o->session = (uint16_t)session;
  o->followup = followup;
  o->t1 = t1;
  return true;
}

/* Two-step time sync (spec 5): the precise t3 of an answer that has left. */
static void send_followup(mcubus_dev_t *d, uint8_t dst, uint64_t t1, mcubus_us_t t3) {
  uint8_t body[24];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, 2);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, t1);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_uint(&w, t3);
  mcubus_dev_send(d, dst, MCUBUS_T_TIME_SYNC_FOLLOWUP, 0, body, w.len);
}

int mcubus__route(mcubus_dev_t *d, uint8_t dst, uint8_t *next_hop) {
  for (uint8_t i = 0; i < d->n_routes; i++)
    if (d->routes[i].dst == dst) {
      *next_hop = d->routes[i].next_hop;
      return d->routes[i].link;
    }
  *next_hop = dst;
  return d->links[d->default_link].kind != MCUBUS_LINK_NONE ? d->default_link : -1;
}

bool mcubus__send_frame(mcubus_dev_t *d, const uint8_t *frame, size_t len, int link, uint8_t next_hop) {
  if (link < 0) {
    uint8_t hop;
    link = mcubus__route(d, frame[2], &hop);
    next_hop = hop;
    if (link < 0) {
      mcubus_count(&d->counters, MCUBUS_E_NO_ROUTE);
      return false;
    }
  }
  mcubus_link_t *l = &d->links[link];
  switch (l->kind) {
  case MCUBUS_LINK_UART:
    write_stream(d, (unsigned)link, frame, len);
    return true;
  case MCUBUS_LINK_MODBUS:
    return queue_modbus(d, l, frame, len, false, 0);
  case MCUBUS_LINK_CAN: {
    mcubus_err_t e = mcubus_isotp_send(&l->isotp, now(d), 0, next_hop, (frame[1] >> 2) & 3u, next_hop == 0xFF,
                                       frame, len);
    return e == MCUBUS_E_OK; /* refusals are counted by the ISO-TP node */
  }
  default:
    mcubus_count(&d->counters, MCUBUS_E_NO_ROUTE);
    return false;
  }
}

bool mcubus_dev_send(mcubus_dev_t *d, uint8_t dst, uint8_t type, uint8_t priority, const uint8_t *body, size_t n) {
  uint8_t *f = d->frame_buf;
  if (n + MCUBUS_HEADER_SIZE + MCUBUS_CRC_SIZE > sizeof d->frame_buf) {
    mcubus_count(&d->counters, MCUBUS_E_TOO_LARGE);
    return false;
  }
  d->seq = (uint16_t)(d->seq + 1);
  mcubus_frame_header(f, (uint8_t)((priority & 3u) << 2), dst, d->id.address, type, d->seq);
  memmove(f + MCUBUS_HEADER_SIZE, body, n);
  size_t len = mcubus_frame_seal(f, sizeof d->frame_buf, n);
  return len && mcubus__send_frame(d, f, len, -1, 0);
}

/* ── answers and the answer cache (spec 5) ─────────────────────────────────────────────────────── */

static void cache_store(mcubus_dev_t *d, const uint8_t *frame, size_t len) {
  if (!d->req || len > MCUBUS_ANSWER_MAX) return; /* too long to keep: a repeat re-executes */
  mcubus_answer_t *slot = &d->answers[0];
  for (unsigned i = 0; i < MCUBUS_ANSWER_CACHE; i++) {
    mcubus_answer_t *a = &d->answers[i];
    if (!a->used) {
      slot = a;
      break;
    }
    if (a->age < slot->age) slot = a;
  }
  slot->used = true;
  slot->src = d->req->src;
  slot->seq = d->req->seq;
  slot->crc = d->req_crc;
  slot->age = ++d->answer_age;
  slot->len = (uint16_t)len;
  memcpy(slot->bytes, frame, len);
}

/* Builds the answer frame to the request being handled around `body` (already in frame_buf + 8
 * when body == NULL). */
static size_t answer_frame(mcubus_dev_t *d, uint8_t type, const uint8_t *body, size_t n) {
  const mcubus_frame_t *r = d->req;
  uint8_t *f = d->frame_buf;
  if (n + MCUBUS_HEADER_SIZE + MCUBUS_CRC_SIZE > sizeof d->frame_buf) return 0;
  if (body) memmove(f + MCUBUS_HEADER_SIZE, body, n);
  mcubus_frame_header(f, (uint8_t)(MCUBUS_FLAG_RESPONSE | (r->flags & 0x0Cu)), r->src, d->id.address, type, r->seq);
  return mcubus_frame_seal(f, sizeof d->frame_buf, n);
}

bool mcubus__reply(mcubus_dev_t *d, uint8_t type, const uint8_t *body, size_t n) {
  if (!d->req || d->req->dst == MCUBUS_ADDR_BROADCAST) return false; /* broadcasts are never answered */
  size_t len = answer_frame(d, type, body, n);
  if (!len) {
    mcubus_count(&d->counters, MCUBUS_E_TOO_LARGE);
    return false;
  }
  cache_store(d, d->frame_buf, len);
  return mcubus__send_frame(d, d->frame_buf, len, -1, 0);
}

bool mcubus__reply_error(mcubus_dev_t *d, uint16_t code, const char *text, bool has_detail, int64_t detail) {
  uint8_t body[160];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, (size_t)(2 + (text != 0) + has_detail));
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, code);
  if (text) {
    mcubus_cbor_put_uint(&w, 2);
    mcubus_cbor_put_text(&w, text, MCUBUS_MIN(strlen(text), (size_t)100));
  }
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_uint(&w, d->req ? d->req->type : 0);
  if (has_detail) {
    mcubus_cbor_put_uint(&w, 5);
    mcubus_cbor_put_int(&w, detail);
  }
  return !w.overflow && mcubus__reply(d, MCUBUS_T_ERROR, body, w.len);
}

/* ── what the device says about itself ────────────────────────────────────────────────────────── */

static uint64_t uptime_ms(mcubus_dev_t *d) { return (now(d) - d->boot_us) / 1000u; }

static void put_version(mcubus_cbor_writer_t *w, const uint32_t v[3]) {
  mcubus_cbor_put_array(w, 3);
  for (int i = 0; i < 3; i++) mcubus_cbor_put_uint(w, v[i]);
}

/* Worst case of a HELLO body within the schema (text ≤ 64 B, uid ≤ 16 B, 32-bit versions, two slots):
 * map 1 + uid 18 + hardwareId 67 + hardwareRev 6 + 2 versions 2x17 + slots 2+2x63 + capabilities 3 +
 * maxFrame 6 + mode 2 + versions 3 + name 67 + clock 9 + periodMs 6 + securityCounter 6 + uptime 10
 * = 366 bytes; 400 leaves room. */
#define HELLO_BODY_MAX 400

/* A text field of at most `max` bytes, cut at a UTF-8 character boundary. */
static void put_text_max(mcubus_cbor_writer_t *w, const char *s, size_t max) {
  size_t n = strlen(s);
  if (n > max) {
    n = max;
    while (n > 0 && ((uint8_t)s[n] & 0xC0u) == 0x80u) n--; /* s[n] continues a character */
  }
  mcubus_cbor_put_text(w, s, n);
}

static size_t hello_body(mcubus_dev_t *d, uint8_t *buf, size_t cap) {
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, buf, cap);
  bool sec = d->running_slot < 2;
  mcubus_cbor_put_map(&w, 14u + sec);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_bytes(&w, d->id.uid, MCUBUS_MIN((size_t)d->id.uid_len, sizeof d->id.uid));
  mcubus_cbor_put_uint(&w, 2);
  put_text_max(&w, d->id.hardware_id ? d->id.hardware_id : "", 64);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_uint(&w, d->id.hardware_rev);
  mcubus_cbor_put_uint(&w, 4);
  put_version(&w, sec ? d->boot.slot[d->running_slot].version : d->id.factory_version);
  mcubus_cbor_put_uint(&w, 5);
  put_version(&w, d->id.bootloader_version);
  mcubus_cbor_put_uint(&w, 6);
  mcubus__update_slots(d, &w);
  mcubus_cbor_put_uint(&w, 7);
  mcubus_cbor_put_uint(&w, CAP_TIME_SYNC | CAP_FOLLOWUP | (d->has_flash ? CAP_UPDATE : 0u) |
                               (d->gateway ? CAP_GATEWAY : 0u));
  mcubus_cbor_put_uint(&w, 8);
  mcubus_cbor_put_uint(&w, MCUBUS_MAX_FRAME);
  mcubus_cbor_put_uint(&w, 9);
  mcubus_cbor_put_uint(&w, 1); /* app */
  mcubus_cbor_put_uint(&w, 10);
  mcubus_cbor_put_array(&w, 1);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, 11);
  put_text_max(&w, d->id.name ? d->id.name : d->id.hardware_id ? d->id.hardware_id : "", 64);
  mcubus_cbor_put_uint(&w, 12);
  mcubus_cbor_put_map(&w, 2);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, 64);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, 1000);
  mcubus_cbor_put_uint(&w, 13);
  mcubus_cbor_put_uint(&w, d->period_ms);
  if (sec) {
    mcubus_cbor_put_uint(&w, 14);
    mcubus_cbor_put_uint(&w, d->boot.slot[d->running_slot].security);
  }
  mcubus_cbor_put_uint(&w, 15);
  mcubus_cbor_put_uint(&w, uptime_ms(d));
  if (w.overflow) mcubus_count(&d->counters, MCUBUS_E_BUFFER); /* never silently: counted */
  return w.overflow ? 0 : w.len;
}

static size_t heartbeat_body(mcubus_dev_t *d, uint8_t *buf, size_t cap) {
  /* ErrorCounter ids (spec 4.2) and the library codes they sum. */
  static const struct {
    uint8_t id;
    uint8_t codes[8];
  } map[] = {
      {1, {MCUBUS_E_BAD_CRC}},
      {2, {MCUBUS_E_COBS_OVERRUN, MCUBUS_E_COBS_ZERO, MCUBUS_E_OVERSIZE, MCUBUS_E_TRUNCATED, MCUBUS_E_UNKNOWN_VERSION,
           MCUBUS_E_BAD_CBOR, MCUBUS_E_SCHEMA, MCUBUS_E_MAP_TOO_LARGE}},
      {4, {MCUBUS_E_WRONG_SN, MCUBUS_E_TIMEOUT_CR, MCUBUS_E_TIMEOUT_BS, MCUBUS_E_INVALID_PCI, MCUBUS_E_INVALID_LENGTH,
           MCUBUS_E_INTERRUPTED, MCUBUS_E_MESSAGE_TOO_LARGE, MCUBUS_E_OVERFLOW}},
      {5, {MCUBUS_E_FLASH}},
      {6, {MCUBUS_E_NO_ROUTE, MCUBUS_E_TTL_EXPIRED}},
      {7, {MCUBUS_E_QUEUE_FULL, MCUBUS_E_TOO_LARGE, MCUBUS_E_NO_TX_SLOT}},
      {8, {MCUBUS_E_NOT_A_START, MCUBUS_E_INCOMPLETE, MCUBUS_E_UNKNOWN_FUNCTION, MCUBUS_E_BAD_LENGTH}},
  };
  uint32_t sums[sizeof map / sizeof map[0]];
  size_t nonzero = 0;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    sums[i] = 0;
    for (size_t k = 0; k < 8 && map[i].codes[k]; k++) sums[i] += d->counters.n[map[i].codes[k]];
    nonzero += sums[i] > 0;
  }
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, buf, cap);
  mcubus_cbor_put_map(&w, 7u + (nonzero > 0));
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, uptime_ms(d));
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_uint(&w, 0);
  mcubus_cbor_put_uint(&w, 4);
  mcubus_cbor_put_uint(&w, d->id.reset_reason);
  mcubus_cbor_put_uint(&w, 5);
  mcubus_cbor_put_uint(&w, d->id.reset_count);
  if (nonzero) {
    mcubus_cbor_put_uint(&w, 6);
    mcubus_cbor_put_map(&w, nonzero);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
      if (sums[i]) {
        mcubus_cbor_put_uint(&w, map[i].id);
        mcubus_cbor_put_uint(&w, sums[i]);
      }
  }
  mcubus_cbor_put_uint(&w, 8);
  mcubus_cbor_put_uint(&w, d->period_ms);
  mcubus_cbor_put_uint(&w, 9);
  mcubus_cbor_put_uint(&w, now(d));
  if (w.overflow) mcubus_count(&d->counters, MCUBUS_E_BUFFER);
  return w.overflow ? 0 : w.len;
}

/* ── requests ──────────────────────────────────────────────────────────────────────────────────── */

static void answer_time_sync(mcubus_dev_t *d, const mcubus_frame_t *f) {
  uint64_t t1 = 0;
  mcubus_cbor_map_uint(f->body, f->body_len, 1, &t1);
  uint64_t t2 = d->req_t0;
  uint8_t next_hop;
  int link = mcubus__route(d, f->src, &next_hop);
  if (link < 0 || f->dst == MCUBUS_ADDR_BROADCAST) return;
  mcubus_link_t *l = &d->links[link];
  uint8_t body[40];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  bool one_step = l->kind == MCUBUS_LINK_UART;
  mcubus_cbor_put_map(&w, one_step ? 3 : 2);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, t1);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, t2);
  if (one_step) {
    /* One-step: the port knows when the next byte starts; a leading delimiter goes first. */
    mcubus_us_t t3 = tx_start(d, (unsigned)link);
    if (now(d) >= l->last_tx_end + 10u * (l->char_us ? l->char_us : 1u)) t3 += l->char_us;
    mcubus_cbor_put_uint(&w, 3);
    mcubus_cbor_put_uint(&w, t3);
    mcubus__reply(d, MCUBUS_T_TIME_SYNC_RESP, body, w.len);
    return;
  }
  size_t len = answer_frame(d, MCUBUS_T_TIME_SYNC_RESP, body, w.len);
  if (!len) return;
  cache_store(d, d->frame_buf, len);
  if (l->kind == MCUBUS_LINK_MODBUS) { /* t3 = when the poll response carrying it starts */
    queue_modbus(d, l, d->frame_buf, len, true, t1);
    return;
  }
  /* CAN: the SF/FF is handed to the controller now (its own identifier is idle: urgent priority). */
  mcubus_us_t t3 = tx_start(d, (unsigned)link);
  if (mcubus__send_frame(d, d->frame_buf, len, link, next_hop)) send_followup(d, f->src, t1, t3);
}

static void execute(mcubus_dev_t *d, const mcubus_frame_t *f) {
  uint8_t body[HELLO_BODY_MAX];
  size_t n;
  switch (f->type) {
  case MCUBUS_T_IDENTIFY: {
    uint64_t p;
    if (mcubus_cbor_map_uint(f->body, f->body_len, 1, &p)) d->period_ms = (uint32_t)(p < 50 ? 50 : p > 60000 ? 60000 : p);
    n = hello_body(d, body, sizeof body);
    if (n) mcubus__reply(d, MCUBUS_T_HELLO, body, n);
    return;
  }
  case MCUBUS_T_PING: {
    uint64_t nonce;
    mcubus_cbor_writer_t w;
    mcubus_cbor_writer_init(&w, body, sizeof body);
    bool has = mcubus_cbor_map_uint(f->body, f->body_len, 1, &nonce);
    mcubus_cbor_put_map(&w, has);
    if (has) {
      mcubus_cbor_put_uint(&w, 1);
      mcubus_cbor_put_uint(&w, nonce);
    }
    mcubus__reply(d, MCUBUS_T_PONG, body, w.len);
    return;
  }
  case MCUBUS_T_TIME_SYNC_REQ:
    answer_time_sync(d, f);
    return;
  case MCUBUS_T_RESET: {
    uint64_t delay = 10;
    mcubus_cbor_map_uint(f->body, f->body_len, 2, &delay);
    body[0] = 0xA0;
    mcubus__reply(d, MCUBUS_T_OK, body, 1);
    d->reset_pending = true; /* after the OK has left */
    d->reset_at = now(d) + delay * 1000u;
    return;
  }
  default:
    if (mcubus__update_handle(d, f) || mcubus__gateway_handle(d, f)) return;
    mcubus__reply_error(d, MCUBUS_EC_NOT_SUPPORTED, "not supported by this device", false, 0);
  }
}

/* One complete frame from a link; t0 = when it started arriving. The buffer may be modified. */
static void on_frame(mcubus_dev_t *d, unsigned link, uint8_t *buf, size_t len, mcubus_us_t t0) {
  mcubus_frame_t f;
  mcubus_err_t e = mcubus_frame_decode(buf, len, MCUBUS_MAX_FRAME, &f);
  if (e != MCUBUS_E_OK) { /* bad_crc and earlier: never answered, the source is not trustworthy */
    mcubus_count(&d->counters, e);
    return;
  }
  if (f.dst != d->id.address && f.dst != MCUBUS_ADDR_BROADCAST) {
    if (d->gateway)
      mcubus__forward(d, link, buf, len, &f);
    else
      mcubus_count(&d->counters, MCUBUS_E_NOT_FOR_US);
    return;
  }
  if (f.dst == MCUBUS_ADDR_BROADCAST && d->gateway) mcubus__forward(d, link, buf, len, &f);
  bool unicast_request = !(f.flags & MCUBUS_FLAG_RESPONSE) && f.dst == d->id.address;
  d->req = &f;
  d->req_link = link;
  d->req_t0 = t0;
  d->req_crc = mcubus_frame_original_crc(buf, len);
  e = mcubus_schema_check(f.type, f.body, f.body_len, 0, 0);
  if (e != MCUBUS_E_OK) {
    mcubus_count(&d->counters, e);
    if (unicast_request)
      mcubus__reply_error(d, e == MCUBUS_E_UNKNOWN_TYPE ? MCUBUS_EC_UNKNOWN_TYPE : MCUBUS_EC_BAD_REQUEST,
                          mcubus_err_name(e), false, 0);
  } else if (f.flags & MCUBUS_FLAG_RESPONSE) {
    mcubus_count(&d->counters, MCUBUS_E_UNEXPECTED_RESPONSE); /* this device sends no requests */
  } else if (!mcubus_is_request(f.type) && f.type != MCUBUS_T_UPDATE_CHUNK) {
    /* an event addressed to us (HELLO of a peer...): nothing to answer */
  } else if (f.dst == MCUBUS_ADDR_BROADCAST && f.type != MCUBUS_T_UPDATE_CHUNK) {
    /* A request is a unicast frame (spec 5): a broadcast of a request type is not executed, so one frame
     * cannot reset, update or reconfigure every device at once. Counted. */
    mcubus_count(&d->counters, MCUBUS_E_BROADCAST_REQUEST);
  } else {
    bool replayed = false;
    if (f.dst != MCUBUS_ADDR_BROADCAST)
      for (unsigned i = 0; i < MCUBUS_ANSWER_CACHE; i++) {
        mcubus_answer_t *a = &d->answers[i];
        if (a->used && a->src == f.src && a->seq == f.seq && a->crc == d->req_crc) {
          /* The same request again: resend the answer marked RETRANSMIT, do not execute twice. */
          mcubus_count(&d->counters, MCUBUS_E_DUPLICATE_REQUEST);
          memcpy(d->frame_buf, a->bytes, a->len);
          mcubus_frame_mark_retransmit(d->frame_buf, a->len);
          mcubus__send_frame(d, d->frame_buf, a->len, -1, 0);
          replayed = true;
          break;
        }
      }
    if (!replayed) execute(d, &f);
  }
  d->req = 0;
}

/* ── receive paths ────────────────────────────────────────────────────────────────────────────── */

void mcubus_dev_uart_rx(mcubus_dev_t *d, unsigned link, const uint8_t *p, size_t n, mcubus_us_t t_first) {
  if (link >= MCUBUS_MAX_PORTS) return;
  mcubus_link_t *l = &d->links[link];
  for (size_t i = 0; i < n; i++) {
    /* t2 is the start of the frame's first byte (spec 5): note it when a piece begins. */
    if (l->cobs.len == 0 && !l->cobs.discarding && p[i] != 0) l->piece_t0 = t_first + i * l->char_us;
    size_t pos = 0;
    mcubus_piece_t piece = mcubus_cobs_stream_push(&l->cobs, p + i, 1, &pos);
    if (piece.kind == MCUBUS_PIECE_FRAME) on_frame(d, link, (uint8_t *)piece.frame, piece.len, l->piece_t0);
  }
}

static void on_can_send(void *ctx, const mcubus_can_frame_t *f) {
  can_ctx_t *c = ctx;
  c->d->port.can_send(c->d->port.ctx, c->link, f);
}

static void on_isotp_received(void *ctx, uint8_t from, uint8_t prio, bool functional, const uint8_t *m, size_t n) {
  can_ctx_t *c = ctx;
  (void)from, (void)prio, (void)functional;
  if (n > MCUBUS_MAX_FRAME) {
    mcubus_count(&c->d->counters, MCUBUS_E_OVERSIZE);
    return;
  }
  /* Decode from a copy: the ISO-TP buffer is reused, and answers are built in frame_buf. */
  static uint8_t copy[MCUBUS_MAX_FRAME];
  memcpy(copy, m, n);
  /* t2 = SOF of this message's own SF/FF, kept by its ISO-TP reception (frames of other transfers
   * that arrived in between do not move it). */
  mcubus_link_t *l = &c->d->links[c->link];
  l->can_t0 = l->isotp.rx_sof;
  on_frame(c->d, c->link, copy, n, l->can_t0);
}

void mcubus_dev_can_rx(mcubus_dev_t *d, unsigned link, const mcubus_can_frame_t *f, mcubus_us_t t_sof) {
  if (link >= MCUBUS_MAX_PORTS || d->links[link].kind != MCUBUS_LINK_CAN) return;
  mcubus_link_t *l = &d->links[link];
  /* The ISO-TP node notes t_sof of the SF/FF that starts each reception (its rx_sof). */
  mcubus_isotp_on_frame(&l->isotp, t_sof, f);
}

static void modbus_answer(mcubus_dev_t *d, unsigned link, const mcubus_adu_t *req) {
  mcubus_link_t *l = &d->links[link];
  uint8_t out[MCUBUS_MODBUS_MAX_ADU];
  mcubus_adu_t a;
  memset(&a, 0, sizeof a);
  a.address = l->mb_address;
  a.function = req->function;
  a.kind = MCUBUS_MB_TUNNEL;
  mcubus_mb_out_t head;
  bool have = l->mb_n > 0;
  if (have) {
    head = l->mb_q[0];
    memmove(&l->mb_q[0], &l->mb_q[1], sizeof l->mb_q[0] * (size_t)(l->mb_n - 1));
    l->mb_n--;
    a.frame = head.bytes;
    a.frame_len = head.len;
  }
  size_t n = mcubus_adu_encode(&a, true, out);
  mcubus_us_t t3 = tx_start(d, link);
  d->port.write(d->port.ctx, link, out, n);
  if (have && head.followup) send_followup(d, head.bytes[2], head.t1, t3);
}

static void modbus_adu(mcubus_dev_t *d, unsigned link, const uint8_t *adu, size_t n) {
  mcubus_link_t *l = &d->links[link];
  mcubus_adu_t a;
  mcubus_err_t e = mcubus_adu_decode(adu, n, false, &a);
  if (adu[0] != l->mb_address && adu[0] != 0) return; /* another slave's request */
  bool unicast = adu[0] == l->mb_address;
  if (e != MCUBUS_E_OK) {
    mcubus_count(&d->counters, e);
    if (unicast && e != MCUBUS_E_BAD_CRC) {
      uint8_t out[MCUBUS_MODBUS_MAX_ADU];
      mcubus_adu_t x = {l->mb_address, (uint8_t)(adu[1] | 0x80), MCUBUS_MB_EXCEPTION, 0, 0, 0, 0, 0, 0, 0, 0,
                        e == MCUBUS_E_UNKNOWN_FUNCTION ? 1 : 3};
      size_t m = mcubus_adu_encode(&x, true, out);
      if (m) d->port.write(d->port.ctx, link, out, m);
    }
    return;
  }
  if (a.kind != MCUBUS_MB_TUNNEL) { /* no register map: illegal function */
    if (unicast) {
      uint8_t out[MCUBUS_MODBUS_MAX_ADU];
      mcubus_adu_t x = {l->mb_address, (uint8_t)(a.function | 0x80), MCUBUS_MB_EXCEPTION, 0, 0, 0, 0, 0, 0, 0, 0, 1};
      size_t m = mcubus_adu_encode(&x, true, out);
      if (m) d->port.write(d->port.ctx, link, out, m);
    }
    return;
  }
  if (a.frame_len) {
    static uint8_t copy[MCUBUS_MODBUS_MAX_TUNNEL_FRAME];
    memcpy(copy, a.frame, a.frame_len);
    on_frame(d, link, copy, a.frame_len, l->mb_t0 + 3u * l->char_us);
  }
  if (unicast) modbus_answer(d, link, &a);
}

void mcubus_dev_modbus_rx(mcubus_dev_t *d, unsigned link, const uint8_t *p, size_t n, mcubus_us_t t_first) {
  if (link >= MCUBUS_MAX_PORTS || d->links[link].kind != MCUBUS_LINK_MODBUS) return;
  mcubus_link_t *l = &d->links[link];
  uint8_t adu[MCUBUS_MODBUS_MAX_ADU];
  bool is_request;
  while (n > 0) {
    if (l->mb.len == 0) l->mb_t0 = t_first;
    size_t took = mcubus_mb_framer_push(&l->mb, p, n);
    p += took, n -= took;
    t_first += took * l->char_us;
    size_t m;
    while ((m = mcubus_mb_framer_next(&l->mb, false, adu, &is_request)) > 0)
      if (is_request) modbus_adu(d, link, adu, m);
  }
}

void mcubus_dev_modbus_silence(mcubus_dev_t *d, unsigned link) {
  if (link >= MCUBUS_MAX_PORTS || d->links[link].kind != MCUBUS_LINK_MODBUS) return;
  uint8_t adu[MCUBUS_MODBUS_MAX_ADU];
  bool is_request;
  size_t m;
  while ((m = mcubus_mb_framer_next(&d->links[link].mb, true, adu, &is_request)) > 0)
    if (is_request) modbus_adu(d, link, adu, m);
}

/* ── lifecycle ─────────────────────────────────────────────────────────────────────────────────── */

void mcubus_dev_init(mcubus_dev_t *d, const mcubus_identity_t *id, const mcubus_port_t *port,
                     const mcubus_flash_layout_t *flash) {
  memset(d, 0, sizeof *d);
  d->id = *id;
  d->port = *port;
  d->period_ms = id->heartbeat_period_ms ? id->heartbeat_period_ms : 1000;
  d->running_slot = 0xFF;
  if (flash && port->flash_erase && port->flash_write && port->flash_read) {
    d->flash = *flash;
    d->has_flash = true;
  }
  d->boot_us = now(d);
  mcubus__update_boot(d);
}

void mcubus_dev_set_gateway(mcubus_dev_t *d, bool on, unsigned host_link) {
  if (host_link >= MCUBUS_MAX_PORTS) host_link = 0; /* out of range: the first link */
  d->gateway = on;
  d->default_link = (uint8_t)host_link;
}

bool mcubus_dev_add_route(mcubus_dev_t *d, uint8_t dst, unsigned link, uint8_t next_hop) {
  if (link >= MCUBUS_MAX_PORTS) return false;
  for (uint8_t i = 0; i < d->n_routes; i++)
    if (d->routes[i].dst == dst) {
      d->routes[i].link = (uint8_t)link;
      d->routes[i].next_hop = next_hop;
      return true;
    }
  if (d->n_routes >= MCUBUS_ROUTES) return false;
  d->routes[d->n_routes].dst = dst;
  d->routes[d->n_routes].link = (uint8_t)link;
  d->routes[d->n_routes].next_hop = next_hop;
  d->n_routes++;
  return true;
}

void mcubus_dev_start(mcubus_dev_t *d) {
  uint8_t body[HELLO_BODY_MAX];
  size_t n = hello_body(d, body, sizeof body);
  if (n) mcubus_dev_send(d, MCUBUS_ADDR_HOST, MCUBUS_T_HELLO, 2, body, n);
  d->next_heartbeat = now(d);
}

void mcubus_dev_poll(mcubus_dev_t *d) {
  mcubus_us_t t = now(d);
  for (unsigned i = 0; i < MCUBUS_MAX_PORTS; i++)
    if (d->links[i].kind == MCUBUS_LINK_CAN) mcubus_isotp_poll(&d->links[i].isotp, t);
  if (t >= d->next_heartbeat) {
    uint8_t body[160];
    size_t n = heartbeat_body(d, body, sizeof body);
    if (n) mcubus_dev_send(d, MCUBUS_ADDR_HOST, MCUBUS_T_HEARTBEAT, 0, body, n);
    d->next_heartbeat = t + (mcubus_us_t)d->period_ms * 1000u;
  }
  if (d->reset_pending && t >= d->reset_at) {
    d->reset_pending = false;
    if (d->port.reset) d->port.reset(d->port.ctx);
  }
}
