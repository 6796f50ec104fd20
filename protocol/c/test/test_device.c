/* Device behaviour against a fake port: answers and the answer cache, errors, time-sync stamps,
 * the Modbus tunnel, the update receiver (window, sack, resume, verify, A/B test boot, confirm) and
 * the gateway (TTL, routing errors, forwarding log). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mcubus.h"
#include "units.h"

#define MAXOUT 64
typedef struct {
  mcubus_us_t now;
  uint8_t out[MAXOUT][2100];
  size_t out_len[MAXOUT];
  unsigned out_link[MAXOUT];
  int n_out;
  int resets;
  uint8_t flash[4 * 4096 + 2 * 64 * 1024];
} fake_t;

static fake_t F;
static mcubus_dev_t D;

static mcubus_us_t f_now(void *c) { return ((fake_t *)c)->now; }
static void f_write(void *c, unsigned link, const uint8_t *p, size_t n) {
  fake_t *f = c;
  if (f->n_out >= MAXOUT || n > sizeof f->out[0]) return;
  memcpy(f->out[f->n_out], p, n);
  f->out_len[f->n_out] = n;
  f->out_link[f->n_out++] = link;
}
static mcubus_us_t f_tx_start(void *c, unsigned link) {
  (void)link;
  return ((fake_t *)c)->now + 500; /* 500 us of bytes already queued */
}
static bool f_erase(void *c, uint32_t a, uint32_t n) {
  memset(((fake_t *)c)->flash + a, 0xFF, n);
  return true;
}
static bool f_write_flash(void *c, uint32_t a, const uint8_t *p, uint32_t n) {
  memcpy(((fake_t *)c)->flash + a, p, n);
  return true;
}
static bool f_read(void *c, uint32_t a, uint8_t *p, uint32_t n) {
  memcpy(p, ((fake_t *)c)->flash + a, n);
  return true;
}
static void f_reset(void *c) { ((fake_t *)c)->resets++; }
/* The test "signature": the first byte of the signature equals the first manifest byte ^ 0x5A. */
static bool f_verify(void *c, const uint8_t sig[64], const uint8_t *m, size_t n, const uint8_t pub[32]) {
  (void)c, (void)pub;
  return n > 0 && sig[0] == (uint8_t)(m[0] ^ 0x5A);
}

static const mcubus_port_t port = {&F, f_now, f_write, f_tx_start, 0, f_erase, f_write_flash, f_read, f_reset, f_verify};
static const mcubus_flash_layout_t layout = {4096, 0, {2 * 4096, 2 * 4096 + 64 * 1024}, 64 * 1024, 100};
static mcubus_identity_t ident;

static void boot(bool gateway) {
  memset(&ident, 0, sizeof ident);
  ident.address = 0x21;
  ident.hardware_id = "hw-test";
  ident.factory_version[0] = 1;
  ident.heartbeat_period_ms = 1000;
  mcubus_dev_init(&D, &ident, &port, &layout);
  mcubus_dev_add_uart(&D, 0, "up", 0);
  if (gateway) {
    mcubus_dev_add_uart(&D, 1, "down", 0);
    mcubus_dev_set_gateway(&D, true, 0);
    mcubus_dev_add_route(&D, 0x30, 1, 0x30);
  }
  mcubus_dev_start(&D);
  mcubus_dev_poll(&D); /* first heartbeat */
  F.n_out = 0;
}

/* Decodes output k (a COBS stream piece) into a frame. */
static bool out_frame(int k, uint8_t *buf, size_t *len, mcubus_frame_t *f) {
  const uint8_t *p = F.out[k];
  size_t n = F.out_len[k];
  while (n && p[0] == 0) p++, n--;
  if (!n || p[n - 1] != 0) return false;
  if (mcubus_cobs_decode(p, n - 1, buf, len) != MCUBUS_E_OK) return false;
  return mcubus_frame_decode(buf, *len, 4096, f) == MCUBUS_E_OK;
}

/* Sends a request frame into link `link` (COBS-framed), stamped `t`. */
static void feed(unsigned link, uint8_t flags, uint8_t dst, uint8_t src, uint8_t type, uint16_t seq,
                 const uint8_t *body, size_t n, uint8_t ttl) {
  uint8_t fr[2100], enc[2200];
  mcubus_frame_header(fr, flags, dst, src, type, seq);
  fr[4] = ttl;
  memcpy(fr + 8, body, n);
  size_t len = mcubus_frame_seal(fr, sizeof fr, n);
  size_t en = mcubus_cobs_encode(fr, len, enc + 1, sizeof enc - 2);
  enc[0] = 0;
  enc[en + 1] = 0;
  mcubus_dev_uart_rx(&D, link, enc, en + 2, F.now);
}

static void answers_and_cache(void) {
  boot(false);
  uint8_t ping[] = {0xA1, 0x01, 0x07}, buf[2100];
  size_t len;
  mcubus_frame_t f;
  feed(0, 0x08, 0x21, 0x00, MCUBUS_T_PING, 1, ping, sizeof ping, 8);
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f), "one answer");
  CHECK(f.type == MCUBUS_T_PONG && f.flags == (0x08 | MCUBUS_FLAG_RESPONSE) && f.seq == 1 && f.dst == 0,
        "PONG to the host, seq 1");
  CHECK(f.body_len == 3 && memcmp(f.body, ping, 3) == 0, "nonce echoed");
  /* the same request again (RETRANSMIT set): the cached answer, marked RETRANSMIT */
  F.n_out = 0;
  feed(0, 0x08 | MCUBUS_FLAG_RETRANSMIT, 0x21, 0x00, MCUBUS_T_PING, 1, ping, sizeof ping, 8);
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && (f.flags & MCUBUS_FLAG_RETRANSMIT), "resent marked");
  CHECK(D.counters.n[MCUBUS_E_DUPLICATE_REQUEST] == 1, "duplicate counted");
  /* RESET is executed once per seq */
  uint8_t empty[] = {0xA0};
  feed(0, 0x04, 0x21, 0x00, MCUBUS_T_RESET, 9, empty, 1, 8);
  feed(0, 0x04 | MCUBUS_FLAG_RETRANSMIT, 0x21, 0x00, MCUBUS_T_RESET, 9, empty, 1, 8);
  F.now += 20000;
  mcubus_dev_poll(&D);
  F.now += 20000;
  mcubus_dev_poll(&D);
  CHECK(F.resets == 1, "reset executed %d times", F.resets);
  F.resets = 0;
}

static void errors_answered(void) {
  boot(false);
  uint8_t buf[2100], body[] = {0xA1, 0x01, 0x61, 0x31}; /* ping nonce as text: schema */
  size_t len;
  mcubus_frame_t f;
  feed(0, 0x08, 0x21, 0x00, MCUBUS_T_PING, 2, body, sizeof body, 8);
  uint64_t code = 0;
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_ERROR, "ERROR for a schema failure");
  mcubus_cbor_map_uint(f.body, f.body_len, 1, &code);
  CHECK(code == MCUBUS_EC_BAD_REQUEST && D.counters.n[MCUBUS_E_SCHEMA] == 1, "bad_request, schema counted");
  F.n_out = 0;
  uint8_t e[] = {0xA0};
  feed(0, 0x08, 0x21, 0x00, 0xE5, 3, e, 1, 8);
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_ERROR, "ERROR for an unknown type");
  mcubus_cbor_map_uint(f.body, f.body_len, 1, &code);
  CHECK(code == MCUBUS_EC_UNKNOWN_TYPE, "unknown_type");
  /* a frame with a bad CRC: counted, never answered */
  F.n_out = 0;
  uint8_t bad[] = {0x04, 0x01, 0x08, 0x21, 0x04, 0x08, 0x04, 0x01, 0x08, 0xa1, 0x01, 0x07, 0xaf, 0xe1, 0xfd, 0x66, 0x00}; /* two CRC bits flipped: beyond repair */
  mcubus_dev_uart_rx(&D, 0, bad, sizeof bad, F.now);
  CHECK(F.n_out == 0 && D.counters.n[MCUBUS_E_BAD_CRC] == 1, "bad CRC: silent, counted");
}

static void time_sync_stamps(void) {
  boot(false);
  F.now = 5000000;
  uint8_t body[16], buf[2100];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, 1);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, 1700000000123456ull);
  feed(0, 0x00, 0x21, 0x00, MCUBUS_T_TIME_SYNC_REQ, 4, body, w.len, 8);
  size_t len;
  mcubus_frame_t f;
  uint64_t t1 = 0, t2 = 0, t3 = 0;
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_TIME_SYNC_RESP, "TIME_SYNC_RESP");
  mcubus_cbor_map_uint(f.body, f.body_len, 1, &t1);
  mcubus_cbor_map_uint(f.body, f.body_len, 2, &t2);
  mcubus_cbor_map_uint(f.body, f.body_len, 3, &t3);
  CHECK(t1 == 1700000000123456ull, "t1 echoed");
  /* char time 0 (baud 0 in this test): the piece after the leading delimiter starts at the stamp */
  CHECK(t2 == 5000000, "t2 = request start %llu", (unsigned long long)t2);
  CHECK(t3 == 5000500, "t3 = the port's next wire start %llu", (unsigned long long)t3);
}

static size_t envelope(uint8_t *out, const uint8_t sha[32], uint32_t size, const uint32_t ver[3], uint32_t sec) {
  uint8_t man[200];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, man, sizeof man);
  mcubus_cbor_put_map(&w, 6);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_cstr(&w, "hw-test");
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, 0);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_array(&w, 3);
  for (int i = 0; i < 3; i++) mcubus_cbor_put_uint(&w, ver[i]);
  mcubus_cbor_put_uint(&w, 4);
  mcubus_cbor_put_uint(&w, sec);
  mcubus_cbor_put_uint(&w, 5);
  mcubus_cbor_put_bytes(&w, sha, 32);
  mcubus_cbor_put_uint(&w, 6);
  mcubus_cbor_put_uint(&w, size);
  uint8_t sig[64] = {0};
  sig[0] = (uint8_t)(man[0] ^ 0x5A);
  mcubus_cbor_writer_t e;
  mcubus_cbor_writer_init(&e, out, 400);
  mcubus_cbor_put_map(&e, 2);
  mcubus_cbor_put_uint(&e, 1);
  mcubus_cbor_put_bytes(&e, man, w.len);
  mcubus_cbor_put_uint(&e, 2);
  mcubus_cbor_put_bytes(&e, sig, 64);
  return e.len;
}

static void send_chunk(uint32_t offset, const uint8_t *img, uint32_t n) {
  uint8_t body[600];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, 3);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, 7);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, offset);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_bytes(&w, img + offset, n);
  feed(0, 0x0C, 0x21, 0x00, MCUBUS_T_UPDATE_CHUNK, (uint16_t)(100 + offset / 256), body, w.len, 8);
}

/* The last UPDATE_ACK in the output: cumulative and sack. */
static bool last_ack(uint64_t *cum, uint8_t *sack, size_t *sack_len) {
  uint8_t buf[2100];
  size_t len;
  mcubus_frame_t f;
  for (int k = F.n_out - 1; k >= 0; k--)
    if (out_frame(k, buf, &len, &f) && f.type == MCUBUS_T_UPDATE_ACK) {
      const uint8_t *s;
      *sack_len = 0;
      mcubus_cbor_map_uint(f.body, f.body_len, 2, cum);
      if (mcubus_cbor_map_bytes(f.body, f.body_len, 3, &s, sack_len)) memcpy(sack, s, *sack_len);
      return true;
    }
  return false;
}

static uint64_t status_field(int k, uint64_t key) {
  uint8_t buf[2100];
  size_t len;
  mcubus_frame_t f;
  uint64_t v = 9999;
  if (out_frame(k, buf, &len, &f)) mcubus_cbor_map_uint(f.body, f.body_len, key, &v);
  return v;
}

static void update_flow(void) {
  memset(F.flash, 0xFF, sizeof F.flash);
  boot(false);
  static uint8_t img[1000];
  for (unsigned i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 13);
  uint8_t sha[32], env[400], body[600];
  mcubus_sha256_t s;
  mcubus_sha256_init(&s);
  mcubus_sha256_update(&s, img, sizeof img);
  mcubus_sha256_final(&s, sha);
  uint32_t ver[3] = {2, 0, 1};
  size_t env_len = envelope(env, sha, sizeof img, ver, 3);
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, 6);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, 7);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, 0);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_uint(&w, sizeof img);
  mcubus_cbor_put_uint(&w, 4);
  mcubus_cbor_put_bytes(&w, sha, 32);
  mcubus_cbor_put_uint(&w, 5);
  mcubus_cbor_put_uint(&w, 256);
  mcubus_cbor_put_uint(&w, 6);
  mcubus_cbor_put_bytes(&w, env, env_len);
  feed(0, 0x04, 0x21, 0x00, MCUBUS_T_UPDATE_BEGIN, 50, body, w.len, 8);
  CHECK(F.n_out == 1 && status_field(0, 2) == 1 && status_field(0, 5) == 0, "BEGIN: receiving from 0");
  /* chunk 1 before chunk 0: a gap, reported at once with a sack bit */
  F.n_out = 0;
  send_chunk(256, img, 256);
  uint64_t cum = 1;
  uint8_t sack[64];
  size_t sl = 0;
  CHECK(last_ack(&cum, sack, &sl) && cum == 0 && sl == 1 && sack[0] == 1, "gap ack: cum %llu sack %zu",
        (unsigned long long)cum, sl);
  send_chunk(0, img, 256);
  CHECK(last_ack(&cum, sack, &sl) && cum == 512 && sl == 0, "cumulative over the hole: %llu", (unsigned long long)cum);
  /* the device "resets" mid-transfer: the resume point is in flash (persisted at the 1000-byte end
   * only, so a reset now resumes from 0 with a sector-aligned persistence) */
  send_chunk(512, img, 256);
  boot(false);
  feed(0, 0x04, 0x21, 0x00, MCUBUS_T_UPDATE_BEGIN, 51, body, w.len, 8);
  uint64_t resumed = status_field(0, 5);
  CHECK(resumed == 0 || resumed == 768, "resume point %llu", (unsigned long long)resumed);
  for (uint32_t off = (uint32_t)resumed; off < sizeof img; off += 256)
    send_chunk(off, img, off + 256 <= sizeof img ? 256 : (uint32_t)sizeof img - off);
  CHECK(last_ack(&cum, sack, &sl) && cum == sizeof img, "all acknowledged: %llu", (unsigned long long)cum);
  F.n_out = 0;
  uint8_t sess[] = {0xA1, 0x01, 0x07};
  feed(0, 0x04, 0x21, 0x00, MCUBUS_T_UPDATE_VERIFY, 60, sess, 3, 8);
  CHECK(F.n_out == 1 && status_field(0, 2) == 3, "verified (state %llu)", (unsigned long long)status_field(0, 2));
  F.n_out = 0;
  feed(0, 0x04, 0x21, 0x00, MCUBUS_T_UPDATE_ACTIVATE, 61, sess, 3, 8);
  F.now += 30000;
  mcubus_dev_poll(&D);
  CHECK(F.resets == 1, "ACTIVATE resets into the new image");
  F.resets = 0;
  boot(false);
  CHECK(D.running_slot == 0 && D.boot.pending == 0 && D.boot.tried == 1, "test boot of slot A (the factory image ran from neither)");
  /* not confirmed: the next boot reverts to the factory image */
  boot(false);
  CHECK(D.running_slot == 0xFF && D.boot.pending == 0xFF, "unconfirmed test image reverted");
}

static void gateway_role(void) {
  boot(true);
  uint8_t ping[] = {0xA1, 0x01, 0x07}, buf[2100];
  size_t len;
  mcubus_frame_t f;
  feed(0, 0x08, 0x30, 0x00, MCUBUS_T_PING, 5, ping, 3, 8);
  CHECK(F.n_out == 1 && F.out_link[0] == 1 && out_frame(0, buf, &len, &f) && f.ttl == 7 && f.dst == 0x30,
        "forwarded downstream with TTL 7");
  F.n_out = 0;
  feed(0, 0x08, 0x30, 0x00, MCUBUS_T_PING, 6, ping, 3, 1);
  uint64_t code = 0, reporter = 0;
  CHECK(F.n_out == 1 && F.out_link[0] == 0 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_ERROR, "TTL 1: ERROR");
  mcubus_cbor_map_uint(f.body, f.body_len, 1, &code);
  mcubus_cbor_map_uint(f.body, f.body_len, 4, &reporter);
  CHECK(code == MCUBUS_EC_TTL_EXPIRED && reporter == 0x21, "ttl_expired reported by the gateway");
  F.n_out = 0;
  feed(0, 0x08, 0x44, 0x00, MCUBUS_T_PING, 7, ping, 3, 8);
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_ERROR, "no route: ERROR");
  F.n_out = 0;
  uint8_t tr[] = {0xA1, 0x01, 0x00};
  feed(0, 0x08, 0x21, 0x00, MCUBUS_T_TRACE_REQ, 8, tr, 3, 8);
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_TRACE_RECORDS, "TRACE_RECORDS");
  CHECK(mcubus_schema_check(f.type, f.body, f.body_len, 0, 0) == MCUBUS_E_OK, "TRACE_RECORDS matches its schema");
  mcubus_cbor_item_t it;
  mcubus_cbor_map_find(f.body, f.body_len, 4, &it, 0);
  CHECK(it.kind == MCUBUS_CBOR_ARRAY && it.u == 3, "3 records (forwarded, ttl_expired, no_route): %llu",
        (unsigned long long)it.u);
}

static void modbus_tunnel(void) {
  memset(&ident, 0, sizeof ident);
  ident.address = 0x21;
  ident.hardware_id = "hw-test";
  mcubus_dev_init(&D, &ident, &port, 0);
  mcubus_dev_add_modbus(&D, 0, "rs485", 0x11, 19200);
  mcubus_dev_start(&D); /* HELLO waits in the queue for a poll */
  F.n_out = 0;
  uint8_t poll[] = {0x11, 0x41, 0x00, 0x11, 0x95};
  mcubus_dev_modbus_rx(&D, 0, poll, sizeof poll, F.now);
  mcubus_adu_t a;
  CHECK(F.n_out == 1 && mcubus_adu_decode(F.out[0], F.out_len[0], true, &a) == MCUBUS_E_OK && a.frame_len > 0 &&
            a.frame[5] == MCUBUS_T_HELLO,
        "first poll brings HELLO");
  /* PING in a poll: answered empty or with the PONG in this or the next poll */
  uint8_t adu[MCUBUS_MODBUS_MAX_ADU];
  size_t n = hex_decode("11410f0108210008040100a10107afe1fde7", adu, sizeof adu);
  uint16_t crc = mcubus_crc16_modbus(adu, n);
  adu[n++] = (uint8_t)crc, adu[n++] = (uint8_t)(crc >> 8);
  F.n_out = 0;
  mcubus_dev_modbus_rx(&D, 0, adu, n, F.now);
  CHECK(F.n_out == 1 && mcubus_adu_decode(F.out[0], F.out_len[0], true, &a) == MCUBUS_E_OK && a.frame_len > 0 &&
            a.frame[5] == MCUBUS_T_PONG,
        "the answer to the PING rides in the same response");
  F.n_out = 0;
  uint8_t read[] = {0x11, 0x03, 0x00, 0x6b, 0x00, 0x03, 0x76, 0x87};
  mcubus_dev_modbus_rx(&D, 0, read, sizeof read, F.now);
  CHECK(F.n_out == 1 && mcubus_adu_decode(F.out[0], F.out_len[0], true, &a) == MCUBUS_E_OK &&
            a.kind == MCUBUS_MB_EXCEPTION && a.exception == 1,
        "registers: exception 01");
}

void units_device(suite_t *s) {
  case_begin("PING answered; a retransmission gets the cached answer marked RETRANSMIT; RESET once");
  answers_and_cache();
  case_end(s);
  case_begin("schema and unknown-type errors answered; bad CRC silent and counted");
  errors_answered();
  case_end(s);
  case_begin("time sync: t2 at the request's start, t3 at the answer's wire start");
  time_sync_stamps();
  case_end(s);
  case_begin("update: gap ack with sack, resume, verify, activate, test boot, revert when unconfirmed");
  update_flow();
  case_end(s);
  case_begin("gateway: forward with TTL-1, ttl_expired/no_route with reporter, TRACE_RECORDS");
  gateway_role();
  case_end(s);
  case_begin("modbus tunnel slave: polls carry the queue, registers refused");
  modbus_tunnel();
  case_end(s);
}
