/* Device behaviour against a fake port: answers and the answer cache, errors, time-sync stamps,
 * the Modbus tunnel, the update receiver (window, sack, resume, verify, A/B test boot, confirm) and
 * the gateway (TTL, routing errors, forwarding log). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mcubus.h"
#include "units.h"

#define MAXOUT 64
#define MIN_U32(a, b) ((a) < (b) ? (a) : (b))
typedef struct {
  mcubus_us_t now;
  uint8_t out[MAXOUT][2100];
  size_t out_len[MAXOUT];
  unsigned out_link[MAXOUT];
  int n_out;
  int resets;
  /* ECC-style flash (STM32L4/G4/H7): programming a byte that is not erased (0xFF) is refused, as the
   * hardware refuses a second write of a double word. On for every test: a re-program shows up as a
   * flash error instead of hiding behind memcpy. */
  bool ecc;
  int refused;              /* programs refused for that reason */
  long corrupt_at;          /* one programming glitch: flip a bit of the byte written there (-1: none) */
  long fail_erase_at;       /* an erase covering this address fails: a power cut during it (-1: none) */
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
  fake_t *f = c;
  if ((uint64_t)a + n > sizeof f->flash) return false;
  if (f->fail_erase_at >= 0 && (uint32_t)f->fail_erase_at >= a && (uint32_t)f->fail_erase_at < a + n) {
    f->fail_erase_at = -1;
    return false;
  }
  memset(f->flash + a, 0xFF, n);
  return true;
}
static bool f_write_flash(void *c, uint32_t a, const uint8_t *p, uint32_t n) {
  fake_t *f = c;
  if ((uint64_t)a + n > sizeof f->flash) return false;
  if (f->ecc)
    for (uint32_t i = 0; i < n; i++)
      if (f->flash[a + i] != 0xFF) {
        f->refused++;
        return false;
      }
  memcpy(f->flash + a, p, n);
  if (f->corrupt_at >= 0 && (uint32_t)f->corrupt_at >= a && (uint32_t)f->corrupt_at < a + n) {
    f->flash[f->corrupt_at] ^= 0x10;
    f->corrupt_at = -1;
  }
  return true;
}
static bool f_read(void *c, uint32_t a, uint8_t *p, uint32_t n) {
  fake_t *f = c;
  if ((uint64_t)a + n > sizeof f->flash) return false;
  memcpy(p, f->flash + a, n);
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
  F.ecc = true, F.refused = 0, F.corrupt_at = -1, F.fail_erase_at = -1;
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
  CHECK(F.refused == 0, "no byte programmed twice (%d refused)", F.refused);
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

/* ── regressions (review of the update receiver, gateway, CAN stamps, CBOR limits, HELLO) ── */

static uint16_t rseq = 1000;

static void sha_of(const uint8_t *p, size_t n, uint8_t out[32]) {
  mcubus_sha256_t s;
  mcubus_sha256_init(&s);
  mcubus_sha256_update(&s, p, n);
  mcubus_sha256_final(&s, out);
}

/* envelope() with an optional informative key 9 (a newer signing tool): same image, other bytes */
static size_t envelope_x(uint8_t *out, const uint8_t sha[32], uint32_t size, uint32_t sec, bool extra) {
  uint8_t man[200];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, man, sizeof man);
  mcubus_cbor_put_map(&w, 6u + extra);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_cstr(&w, "hw-test");
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, 0);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_array(&w, 3);
  for (int i = 0; i < 3; i++) mcubus_cbor_put_uint(&w, (uint64_t)(i + 2));
  mcubus_cbor_put_uint(&w, 4);
  mcubus_cbor_put_uint(&w, sec);
  mcubus_cbor_put_uint(&w, 5);
  mcubus_cbor_put_bytes(&w, sha, 32);
  mcubus_cbor_put_uint(&w, 6);
  mcubus_cbor_put_uint(&w, size);
  if (extra) {
    mcubus_cbor_put_uint(&w, 9);
    mcubus_cbor_put_cstr(&w, "informative note from a newer signing tool");
  }
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

static void req_begin(uint16_t session, uint32_t size, uint16_t chunk, const uint8_t sha[32], const uint8_t *env,
                      size_t env_len) {
  uint8_t body[600];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, 6);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, session);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, 0);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_uint(&w, size);
  mcubus_cbor_put_uint(&w, 4);
  mcubus_cbor_put_bytes(&w, sha, 32);
  mcubus_cbor_put_uint(&w, 5);
  mcubus_cbor_put_uint(&w, chunk);
  mcubus_cbor_put_uint(&w, 6);
  mcubus_cbor_put_bytes(&w, env, env_len);
  feed(0, 0x04, 0x21, 0x00, MCUBUS_T_UPDATE_BEGIN, ++rseq, body, w.len, 8);
}

static void req_chunk(uint16_t session, uint32_t offset, const uint8_t *data, size_t n) {
  uint8_t body[1100];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, 3);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, session);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, offset);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_bytes(&w, data, n);
  feed(0, 0x0C, 0x21, 0x00, MCUBUS_T_UPDATE_CHUNK, ++rseq, body, w.len, 8);
}

static void req_session(uint8_t type, uint16_t session, int permanent /* -1: absent */) {
  uint8_t body[16];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, permanent >= 0 ? 2 : 1);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, session);
  if (permanent >= 0) {
    mcubus_cbor_put_uint(&w, 2);
    mcubus_cbor_put_bool(&w, permanent != 0);
  }
  feed(0, 0x04, 0x21, 0x00, type, ++rseq, body, w.len, 8);
}

/* The code of the last ERROR written, 0 when the last output is not an ERROR. */
static uint64_t last_error(void) {
  uint8_t buf[2100];
  size_t len;
  mcubus_frame_t f;
  uint64_t code = 0;
  if (F.n_out > 0 && out_frame(F.n_out - 1, buf, &len, &f) && f.type == MCUBUS_T_ERROR)
    mcubus_cbor_map_uint(f.body, f.body_len, 1, &code);
  return code;
}

static void fresh_flash(void) {
  memset(F.flash, 0xFF, sizeof F.flash);
  F.ecc = true, F.refused = 0, F.corrupt_at = -1, F.fail_erase_at = -1, F.resets = 0;
  memset(&D.counters, 0, sizeof D.counters);
}

/* BEGIN .. CHUNKs .. VERIFY (.. ACTIVATE when activate >= 0: 1 permanent, 0 test). */
static void full_update(uint16_t session, const uint8_t *img, uint32_t size, uint16_t chunk, int activate) {
  uint8_t sha[32], env[400];
  sha_of(img, size, sha);
  size_t el = envelope_x(env, sha, size, 1, false);
  req_begin(session, size, chunk, sha, env, el);
  for (uint32_t o = 0; o < size; o += chunk) req_chunk(session, o, img + o, MIN_U32((uint32_t)chunk, size - o));
  req_session(MCUBUS_T_UPDATE_VERIFY, session, -1);
  if (activate >= 0) req_session(MCUBUS_T_UPDATE_ACTIVATE, session, activate);
}

static void chunk_beyond_window(void) {
  fresh_flash();
  boot(false);
  static uint8_t img[60 * 1024];
  memset(img, 0x42, sizeof img);
  uint8_t sha[32], env[400];
  sha_of(img, sizeof img, sha);
  size_t el = envelope_x(env, sha, sizeof img, 1, false);
  req_begin(7, sizeof img, 1, sha, env, el); /* chunkSize 1: index = offset */
  CHECK(D.upd.open && D.upd.state == 1, "BEGIN with chunkSize 1");
  /* An offset whose bitmap byte would lie in frame_buf, filled with ones: reading it would call the
   * chunk a duplicate. It is beyond the window and must be refused as such, without looking. */
  size_t k = offsetof(mcubus_dev_t, frame_buf) + 16 - offsetof(mcubus_dev_t, upd.stored);
  uint32_t off = (uint32_t)(8 * k + 1);
  CHECK(off < sizeof img, "offset inside the image");
  memset(D.frame_buf, 0xFF, sizeof D.frame_buf);
  uint8_t b = 0x42;
  req_chunk(7, off, &b, 1);
  CHECK(D.counters.n[MCUBUS_E_CHUNK_BEYOND_WINDOW] == 1 && D.counters.n[MCUBUS_E_CHUNK_DUPLICATE] == 0,
        "beyond the window (beyond %u, duplicate %u)", D.counters.n[MCUBUS_E_CHUNK_BEYOND_WINDOW],
        D.counters.n[MCUBUS_E_CHUNK_DUPLICATE]);
  CHECK(D.upd.cumulative == 0 && F.refused == 0, "nothing written");
}

static void last_chunk_again(void) {
  fresh_flash();
  boot(false);
  enum { SZ = 3000, CH = 1024 };
  static uint8_t img[SZ];
  for (int i = 0; i < SZ; i++) img[i] = (uint8_t)(i * 7 + 1);
  full_update(7, img, SZ, CH, -1);
  CHECK(D.upd.state == 3, "verified (state %u)", D.upd.state);
  /* the final ACK was lost: the host resends the short last chunk (other bytes, to see a write) */
  uint8_t evil[SZ - 2048];
  memset(evil, 0, sizeof evil);
  F.n_out = 0;
  req_chunk(7, 2048, evil, sizeof evil);
  CHECK(D.upd.state == 3 && D.upd.cumulative == SZ, "still verified (state %u, cumulative %u)", D.upd.state,
        D.upd.cumulative);
  CHECK(D.counters.n[MCUBUS_E_CHUNK_DUPLICATE] == 1 && F.refused == 0, "a duplicate, not written (refused %d)",
        F.refused);
  CHECK(F.flash[layout.slot_addr[D.upd.slot] + 4096 + 2048] == img[2048], "flash keeps the image");
  uint64_t cum = 0;
  uint8_t sack[64];
  size_t sl = 9;
  CHECK(last_ack(&cum, sack, &sl) && cum == SZ, "answered by an ACK of everything");
  req_session(MCUBUS_T_UPDATE_ACTIVATE, 7, 1);
  CHECK(D.upd.state == 5, "activates");
}

static void begin_during_test_boot(void) {
  fresh_flash();
  boot(false);
  static uint8_t a[2048], b[2048], c[2048];
  memset(a, 0xA1, sizeof a), memset(b, 0xB2, sizeof b), memset(c, 0xC3, sizeof c);
  full_update(1, a, sizeof a, 1024, 1);
  boot(false);
  CHECK(D.running_slot == 0 && D.boot.confirmed == 0, "A permanent in slot 0");
  full_update(2, b, sizeof b, 1024, 0);
  boot(false);
  CHECK(D.running_slot == 1 && D.boot.pending == 1 && D.boot.confirmed == 0, "B on test in slot 1");
  uint8_t sha[32], env[400];
  sha_of(c, sizeof c, sha);
  size_t el = envelope_x(env, sha, sizeof c, 1, false);
  F.n_out = 0;
  req_begin(3, sizeof c, 1024, sha, env, el);
  CHECK(last_error() == MCUBUS_EC_BAD_STATE && !D.upd.open, "BEGIN refused with bad_state while B is on test");
  CHECK(D.boot.slot[0].valid && F.flash[layout.slot_addr[0] + 4096] == 0xA1, "the confirmed slot is intact");
  boot(false); /* B faults before CONFIRM */
  CHECK(D.running_slot == 0 && D.boot.pending == 0xFF, "reverted to A (running %u)", D.running_slot);
  /* once confirmed, the next update goes to the other slot */
  full_update(4, b, sizeof b, 1024, 0);
  boot(false);
  uint8_t conf[] = {0xA0};
  feed(0, 0x04, 0x21, 0x00, MCUBUS_T_UPDATE_CONFIRM, ++rseq, conf, 1, 8);
  CHECK(D.boot.confirmed == 1 && D.running_slot == 1, "B confirmed");
  F.n_out = 0;
  req_begin(5, sizeof c, 1024, sha, env, el);
  CHECK(D.upd.open && D.upd.slot == 0 && status_field(F.n_out - 1, 2) == 1, "then BEGIN targets slot 0");
  CHECK(F.refused == 0, "no byte programmed twice (%d)", F.refused);
}

static void resume_on_ecc_flash(void) {
  fresh_flash();
  boot(false);
  enum { SZ = 8192, CH = 1024 };
  static uint8_t img[SZ];
  for (int i = 0; i < SZ; i++) img[i] = (uint8_t)(i * 3 + 1);
  uint8_t sha[32], env[400];
  sha_of(img, SZ, sha);
  size_t el = envelope_x(env, sha, SZ, 1, false);
  req_begin(7, SZ, CH, sha, env, el);
  for (uint32_t o = 0; o < 4096 + 2048; o += CH) req_chunk(7, o, img + o, CH);
  req_chunk(7, 7168, img + 7168, CH); /* beyond a hole: in flash, not in the resume point */
  CHECK(D.boot.progress.received == 4096 && D.upd.cumulative == 6144, "persisted at the sector boundary");
  boot(false); /* reset */
  req_begin(8, SZ, CH, sha, env, el);
  CHECK(D.upd.cumulative == 4096, "resumed at %u", D.upd.cumulative);
  for (uint32_t o = D.upd.cumulative; o < SZ; o += CH) req_chunk(8, o, img + o, CH);
  req_session(MCUBUS_T_UPDATE_VERIFY, 8, -1);
  CHECK(D.upd.state == 3 && F.refused == 0, "verified after resume (state %u error %u, refused %d)", D.upd.state,
        D.upd.error, F.refused);
  /* a chunk size that does not divide the sector: resume at a point that is both boundaries */
  fresh_flash();
  boot(false);
  enum { CH2 = 768 };
  req_begin(9, SZ, CH2, sha, env, el);
  for (uint32_t o = 0; o < 6144; o += CH2) req_chunk(9, o, img + o, CH2);
  boot(false);
  req_begin(10, SZ, CH2, sha, env, el);
  CHECK(D.upd.cumulative % CH2 == 0 && D.upd.cumulative % 4096 == 0, "resumed at %u", D.upd.cumulative);
  for (uint32_t o = D.upd.cumulative; o < SZ; o += CH2) req_chunk(10, o, img + o, MIN_U32((uint32_t)CH2, SZ - o));
  req_session(MCUBUS_T_UPDATE_VERIFY, 10, -1);
  CHECK(D.upd.state == 3 && F.refused == 0, "verified (state %u, refused %d)", D.upd.state, F.refused);
}

static void rehash_restarts_clean(void) {
  fresh_flash();
  boot(false);
  enum { SZ = 4096, CH = 1024 };
  static uint8_t img[SZ];
  for (int i = 0; i < SZ; i++) img[i] = (uint8_t)(i * 7 + 1);
  F.corrupt_at = (long)(layout.slot_addr[0] + 4096 + 100); /* one programming glitch */
  full_update(7, img, SZ, CH, -1);
  CHECK(D.upd.state == 4 && D.upd.error == MCUBUS_EC_HASH_MISMATCH, "hash mismatch (state %u)", D.upd.state);
  CHECK(D.boot.progress.slot == 0xFF, "no resume point left");
  full_update(8, img, SZ, CH, -1);
  CHECK(D.upd.state == 3 && F.refused == 0, "the next BEGIN erases: verified (state %u, refused %d)", D.upd.state,
        F.refused);
}

static void resume_other_envelope(void) {
  fresh_flash();
  boot(false);
  enum { SZ = 8192, CH = 1024 };
  static uint8_t img[SZ];
  for (int i = 0; i < SZ; i++) img[i] = (uint8_t)(i * 3);
  uint8_t sha[32], e1[400], e2[400];
  sha_of(img, SZ, sha);
  size_t l1 = envelope_x(e1, sha, SZ, 1, false), l2 = envelope_x(e2, sha, SZ, 1, true);
  req_begin(7, SZ, CH, sha, e1, l1);
  for (uint32_t o = 0; o < 5120; o += CH) req_chunk(7, o, img + o, CH);
  boot(false);
  req_begin(8, SZ, CH, sha, e2, l2); /* same image, another (valid) envelope */
  CHECK(D.upd.cumulative == 0, "another envelope restarts the transfer (at %u)", D.upd.cumulative);
  for (uint32_t o = 0; o < SZ; o += CH) req_chunk(8, o, img + o, CH);
  req_session(MCUBUS_T_UPDATE_VERIFY, 8, -1);
  CHECK(D.upd.state == 3 && F.refused == 0, "verified with the new envelope (state %u error %u)", D.upd.state,
        D.upd.error);
  /* VERIFY checks that the manifest in the header describes the received image */
  fresh_flash();
  boot(false);
  static uint8_t other[SZ];
  memset(other, 0x55, sizeof other);
  uint8_t osha[32], oenv[400];
  sha_of(other, SZ, osha);
  size_t ol = envelope_x(oenv, osha, SZ, 1, false);
  req_begin(9, SZ, CH, sha, e1, l1);
  for (uint32_t o = 0; o < SZ; o += CH) req_chunk(9, o, img + o, CH);
  CHECK(ol == l1, "same envelope length");
  memcpy(F.flash + layout.slot_addr[D.upd.slot] + 2, oenv, ol); /* the header swapped behind its back */
  req_session(MCUBUS_T_UPDATE_VERIFY, 9, -1);
  CHECK(D.upd.state == 4 && D.upd.error == MCUBUS_EC_HASH_MISMATCH, "manifest of another image refused (%u/%u)",
        D.upd.state, D.upd.error);
}

static void begin_persists_before_erase(void) {
  fresh_flash();
  boot(false);
  static uint8_t a[2048], b[2048], c[2048];
  memset(a, 0xA1, sizeof a), memset(b, 0xB2, sizeof b), memset(c, 0xC3, sizeof c);
  full_update(1, a, sizeof a, 1024, 1);
  boot(false);
  full_update(2, b, sizeof b, 1024, 0);
  boot(false); /* B on test */
  boot(false); /* B not confirmed: reverted, but slot 1 still holds a valid record */
  CHECK(D.running_slot == 0 && D.boot.slot[1].valid, "A runs, B's record valid");
  uint8_t sha[32], env[400];
  sha_of(c, sizeof c, sha);
  size_t el = envelope_x(env, sha, sizeof c, 1, false);
  F.fail_erase_at = (long)layout.slot_addr[1]; /* power cut while slot 1 is erased */
  req_begin(3, sizeof c, 1024, sha, env, el);
  boot(false); /* what the flash says after the cut */
  CHECK(!D.boot.slot[1].valid && D.boot.progress.slot == 1 && memcmp(D.boot.progress.sha256, sha, 32) == 0,
        "the boot state was written first: slot 1 invalid, the new transfer recorded");
  req_begin(4, sizeof c, 1024, sha, env, el); /* the header does not match: erased and restarted */
  for (uint32_t o = 0; o < sizeof c; o += 1024) req_chunk(4, o, c + o, 1024);
  req_session(MCUBUS_T_UPDATE_VERIFY, 4, -1);
  CHECK(D.upd.state == 3 && F.refused == 0, "then the update completes (state %u, refused %d)", D.upd.state,
        F.refused);
}

static void integral_floats(void) {
  fresh_flash();
  boot(false);
  enum { SZ = 2048, CH = 1024 };
  static uint8_t img[SZ];
  for (int i = 0; i < SZ; i++) img[i] = (uint8_t)(i < CH ? 0xAA : 0xBB);
  uint8_t sha[32], env[400];
  sha_of(img, SZ, sha);
  size_t el = envelope_x(env, sha, SZ, 1, false);
  req_begin(7, SZ, CH, sha, env, el);
  /* {1: 7, 2: 1024.0 (float16), 3: chunk 1} */
  static uint8_t b[1100];
  size_t n = 0;
  b[n++] = 0xA3, b[n++] = 0x01, b[n++] = 0x07, b[n++] = 0x02, b[n++] = 0xF9, b[n++] = 0x64, b[n++] = 0x00;
  b[n++] = 0x03, b[n++] = 0x59, b[n++] = 0x04, b[n++] = 0x00;
  memcpy(b + n, img + CH, CH);
  n += CH;
  CHECK(mcubus_schema_check(MCUBUS_T_UPDATE_CHUNK, b, n, 0, 0) == MCUBUS_E_OK, "schema accepts an integral float");
  feed(0, 0x0C, 0x21, 0x00, MCUBUS_T_UPDATE_CHUNK, ++rseq, b, n, 8);
  CHECK(D.upd.cumulative == 0 && D.upd.stored[0] == 1 && F.flash[layout.slot_addr[0] + 4096] == 0xFF &&
            F.flash[layout.slot_addr[0] + 4096 + CH] == 0xBB,
        "the chunk landed at 1024");
  F.n_out = 0;
  uint8_t p[] = {0xA1, 0x01, 0xF9, 0x47, 0x00}; /* PING {1: 7.0} */
  feed(0, 0x08, 0x21, 0x00, MCUBUS_T_PING, ++rseq, p, sizeof p, 8);
  uint8_t buf[2100];
  size_t len;
  mcubus_frame_t f;
  uint64_t nonce = 0;
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_PONG &&
            mcubus_cbor_map_uint(f.body, f.body_len, 1, &nonce) && nonce == 7,
        "PONG echoes nonce 7");
  uint8_t half[] = {0xA1, 0x01, 0xF9, 0x3C, 0x00}; /* 1.0 */
  uint8_t frac[] = {0xA1, 0x01, 0xF9, 0x3E, 0x00}; /* 1.5 */
  uint8_t neg[] = {0xA1, 0x01, 0xF9, 0xBC, 0x00};  /* -1.0 */
  uint64_t v = 0;
  CHECK(mcubus_cbor_map_uint(half, sizeof half, 1, &v) && v == 1, "1.0 reads as 1");
  CHECK(!mcubus_cbor_map_uint(frac, sizeof frac, 1, &v) && !mcubus_cbor_map_uint(neg, sizeof neg, 1, &v),
        "1.5 and -1.0 are not unsigned integers");
  CHECK(mcubus_schema_check(MCUBUS_T_PING, frac, sizeof frac, 0, 0) == MCUBUS_E_SCHEMA, "schema refuses 1.5");
}

static mcubus_can_frame_t can_out[32];
static int n_can;
static void f_can(void *c, unsigned link, const mcubus_can_frame_t *f) {
  (void)c, (void)link;
  if (n_can < 32) can_out[n_can++] = *f;
}

static void can_t2_per_reception(void) {
  mcubus_port_t p = port;
  p.can_send = f_can;
  memset(&ident, 0, sizeof ident);
  ident.address = 0x21;
  ident.hardware_id = "hw";
  ident.heartbeat_period_ms = 1000;
  F.now = 0;
  mcubus_dev_init(&D, &ident, &p, 0);
  mcubus_isotp_config_t cfg;
  mcubus_isotp_config_default(&cfg, 0x21);
  mcubus_dev_add_can(&D, 0, "can0", &cfg);
  n_can = 0;
  uint8_t fr[64], body[] = {0xA1, 0x01, 0x1B, 0, 0, 0, 0, 0, 0, 0x30, 0x39}; /* {1: t1} as a uint64 */
  mcubus_frame_header(fr, 0x00, 0x21, 0x00, MCUBUS_T_TIME_SYNC_REQ, 5);
  memcpy(fr + 8, body, sizeof body);
  size_t len = mcubus_frame_seal(fr, sizeof fr, sizeof body);
  mcubus_can_frame_t c;
  memset(&c, 0, sizeof c);
  c.extended = true, c.len = 8, c.id = mcubus_can_id(0, false, 0x21, 0x00);
  c.data[0] = (uint8_t)(0x10 | (len >> 8)), c.data[1] = (uint8_t)len;
  memcpy(c.data + 2, fr, 6);
  F.now = 1000;
  mcubus_dev_can_rx(&D, 0, &c, 1000); /* FF at 1000 */
  mcubus_can_frame_t other;
  memset(&other, 0, sizeof other);
  other.extended = true, other.len = 8, other.id = mcubus_can_id(2, false, 0x40, 0x30);
  other.data[0] = 0x03;
  F.now = 1200;
  mcubus_dev_can_rx(&D, 0, &other, 1200); /* a SF between two other nodes */
  size_t off = 6;
  uint8_t sn = 1;
  while (off < len) {
    mcubus_can_frame_t cf = c;
    memset(cf.data, 0xCC, 8);
    cf.data[0] = (uint8_t)(0x20 | sn++);
    size_t t = len - off < 7 ? len - off : 7;
    memcpy(cf.data + 1, fr + off, t);
    off += t;
    F.now += 150;
    mcubus_dev_can_rx(&D, 0, &cf, F.now);
  }
  /* the answer: FC (to our FF) then FF of TIME_SYNC_RESP; let it flow and reassemble it */
  int ff = -1;
  for (int k = 0; k < n_can; k++)
    if ((can_out[k].data[0] >> 4) == 1) ff = k;
  CHECK(ff >= 0, "the answer starts (%d CAN frames)", n_can);
  if (ff < 0) return;
  mcubus_can_frame_t fc;
  memset(&fc, 0, sizeof fc);
  fc.extended = true, fc.len = 3, fc.id = mcubus_can_id(0, false, 0x21, 0x00);
  fc.data[0] = 0x30;
  F.now += 100;
  mcubus_dev_can_rx(&D, 0, &fc, F.now);
  for (int i = 0; i < 20; i++) {
    F.now += 1000;
    mcubus_dev_poll(&D);
  }
  uint8_t m[64];
  size_t ml = (size_t)(((can_out[ff].data[0] & 15) << 8) | can_out[ff].data[1]), o = 6;
  memcpy(m, can_out[ff].data + 2, 6);
  for (int k = ff + 1; k < n_can && o < ml && ml <= sizeof m; k++)
    if ((can_out[k].data[0] >> 4) == 2) {
      size_t t = ml - o < 7 ? ml - o : 7;
      memcpy(m + o, can_out[k].data + 1, t);
      o += t;
    }
  mcubus_frame_t f;
  uint64_t t2 = 0;
  CHECK(o == ml && mcubus_frame_decode(m, ml, 4096, &f) == MCUBUS_E_OK && f.type == MCUBUS_T_TIME_SYNC_RESP,
        "TIME_SYNC_RESP reassembled (%zu/%zu)", o, ml);
  mcubus_cbor_map_uint(f.body, f.body_len, 2, &t2);
  CHECK(t2 == 1000, "t2 = SOF of the request's FF (%llu)", (unsigned long long)t2);
}

static void gateway_events_not_answered(void) {
  boot(true);
  uint8_t hb[] = {0xA5, 0x01, 0x00, 0x02, 0x01, 0x03, 0x00, 0x04, 0x00, 0x05, 0x00};
  feed(1, 0x00, 0x00, 0x30, MCUBUS_T_HEARTBEAT, 9, hb, sizeof hb, 1); /* TTL 1 from downstream */
  CHECK(F.n_out == 0 && D.counters.n[MCUBUS_E_TTL_EXPIRED] == 1, "event with TTL 1: counted, no ERROR (%d out)",
        F.n_out);
  uint8_t ack[] = {0xA2, 0x01, 0x07, 0x02, 0x00};
  feed(0, 0x0C, 0x44, 0x00, MCUBUS_T_UPDATE_ACK, 10, ack, sizeof ack, 8); /* no route, an event */
  CHECK(F.n_out == 0 && D.counters.n[MCUBUS_E_NO_ROUTE] == 1, "event without a route: counted, no ERROR");
  uint8_t ping[] = {0xA1, 0x01, 0x07};
  feed(0, 0x08, 0x44, 0x00, MCUBUS_T_PING, 11, ping, 3, 8);
  CHECK(F.n_out == 1 && last_error() == MCUBUS_EC_NO_ROUTE, "a request without a route: ERROR no_route");
}

static void trace_small_budget(void) {
  /* TRACE_RECORDS never exceeds the frame limit, whatever the log holds (the small-frame build of this
   * check is test_small.c) */
  boot(true);
  uint8_t ping[] = {0xA1, 0x01, 0x07};
  for (int i = 0; i < 300; i++) feed(0, 0x08, 0x30, 0x00, MCUBUS_T_PING, (uint16_t)(2000 + i), ping, 3, 8);
  F.n_out = 0;
  uint8_t tr[] = {0xA2, 0x01, 0x00, 0x02, 0x18, 0x40};
  feed(0, 0x08, 0x21, 0x00, MCUBUS_T_TRACE_REQ, 8, tr, sizeof tr, 8);
  uint8_t buf[4200];
  size_t len = 0;
  mcubus_frame_t f;
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_TRACE_RECORDS && len <= MCUBUS_MAX_FRAME,
        "TRACE_RECORDS within the frame limit (%zu)", len);
  CHECK(mcubus_schema_check(f.type, f.body, f.body_len, 0, 0) == MCUBUS_E_OK, "and valid");
}

static void cbor_map_cap(void) {
  static uint8_t b[1200];
  mcubus_cbor_writer_t w;
  for (unsigned n = MCUBUS_CBOR_MAX_MAP; n <= MCUBUS_CBOR_MAX_MAP + 1; n++) {
    mcubus_cbor_writer_init(&w, b, sizeof b);
    mcubus_cbor_put_map(&w, n);
    for (unsigned k = 0; k < n; k++) mcubus_cbor_put_uint(&w, k), mcubus_cbor_put_uint(&w, 0);
    mcubus_err_t e = mcubus_cbor_check(b, w.len);
    CHECK(e == (n > MCUBUS_CBOR_MAX_MAP ? MCUBUS_E_MAP_TOO_LARGE : MCUBUS_E_OK), "map of %u: %s", n, mcubus_err_name(e));
  }
  /* the largest map a 4 KiB body holds: refused at once, not after 2^20 key comparisons */
  static uint8_t big[4096];
  mcubus_cbor_writer_init(&w, big, sizeof big);
  mcubus_cbor_put_map(&w, 1000);
  for (unsigned k = 0; k < 1000; k++) mcubus_cbor_put_uint(&w, k + 100), mcubus_cbor_put_uint(&w, 0);
  CHECK(!w.overflow && mcubus_cbor_check(big, w.len) == MCUBUS_E_MAP_TOO_LARGE, "1000 entries: map_too_large");
}

static void hello_at_maximum_sizes(void) {
  memset(&ident, 0, sizeof ident);
  ident.address = 0x21;
  ident.hardware_id = "acme-industrial-controller-rev-c-with-a-long-board-identifier-64";
  ident.name = "production line 7, cabinet 3, conveyor drive controller, left...";
  ident.uid_len = 16;
  ident.hardware_rev = 0xFFFF;
  ident.factory_version[0] = 0xFFFFFFFFu;
  ident.heartbeat_period_ms = 60000;
  memset(F.flash, 0xFF, sizeof F.flash);
  F.ecc = false;
  mcubus_dev_init(&D, &ident, &port, &layout);
  for (int s = 0; s < 2; s++) {
    D.boot.slot[s].valid = 1;
    D.boot.slot[s].size = 0xFFFFFFFFu;
    for (int i = 0; i < 3; i++) D.boot.slot[s].version[i] = 0xFFFFFFFFu;
  }
  D.boot.confirmed = 0, D.boot.pending = 1, D.running_slot = 0, D.boot.slot[0].security = 0xFFFFFFFFu;
  D.boot_us = 0;
  F.now = 1ull << 60;
  mcubus_dev_add_uart(&D, 0, "up", 0);
  F.n_out = 0;
  mcubus_dev_start(&D);
  uint8_t buf[2100];
  size_t len;
  mcubus_frame_t f;
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_HELLO, "HELLO at start");
  CHECK(mcubus_schema_check(f.type, f.body, f.body_len, 0, 0) == MCUBUS_E_OK, "HELLO valid (%zu bytes)", f.body_len);
  F.n_out = 0;
  uint8_t e[] = {0xA0};
  feed(0, 0x08, 0x21, 0x00, MCUBUS_T_IDENTIFY, ++rseq, e, 1, 8);
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_HELLO, "HELLO answers IDENTIFY");
  CHECK(D.counters.n[MCUBUS_E_BUFFER] == 0, "no overflow");
  /* a text beyond the schema limit is cut at a character boundary, never sent invalid */
  ident.name = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\xc3\xa9"; /* 65 bytes */
  ident.uid_len = 200;
  D.id = ident;
  F.n_out = 0;
  mcubus_dev_start(&D);
  CHECK(F.n_out == 1 && out_frame(0, buf, &len, &f) && f.type == MCUBUS_T_HELLO &&
            mcubus_schema_check(f.type, f.body, f.body_len, 0, 0) == MCUBUS_E_OK,
        "over-long name and uid_len: still a valid HELLO");
  F.now = 0;
}

static void broadcast_requests_not_executed(void) {
  fresh_flash();
  boot(false);
  uint8_t empty[] = {0xA0};
  feed(0, 0x04, 0xFF, 0x00, MCUBUS_T_RESET, ++rseq, empty, 1, 8);
  F.now += 100000;
  mcubus_dev_poll(&D);
  CHECK(F.resets == 0 && D.counters.n[MCUBUS_E_BROADCAST_REQUEST] == 1, "broadcast RESET: not executed, counted");
  static uint8_t img[1024];
  uint8_t sha[32], env[400], body[600];
  sha_of(img, sizeof img, sha);
  size_t el = envelope_x(env, sha, sizeof img, 1, false);
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, 6);
  mcubus_cbor_put_uint(&w, 1), mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, 2), mcubus_cbor_put_uint(&w, 0);
  mcubus_cbor_put_uint(&w, 3), mcubus_cbor_put_uint(&w, sizeof img);
  mcubus_cbor_put_uint(&w, 4), mcubus_cbor_put_bytes(&w, sha, 32);
  mcubus_cbor_put_uint(&w, 5), mcubus_cbor_put_uint(&w, 1024);
  mcubus_cbor_put_uint(&w, 6), mcubus_cbor_put_bytes(&w, env, el);
  F.n_out = 0;
  feed(0, 0x04, 0xFF, 0x00, MCUBUS_T_UPDATE_BEGIN, ++rseq, body, w.len, 8);
  CHECK(!D.upd.open && F.n_out == 0 && D.boot.progress.slot == 0xFF, "broadcast UPDATE_BEGIN: nothing erased");
}

static void defensive_inputs(void) {
  mcubus_isotp_config_t cfg;
  mcubus_isotp_config_default(&cfg, 0x21);
  mcubus_isotp_t n;
  mcubus_isotp_io_t io = {0, 0, 0, 0, 0};
  mcubus_counters_t cnt;
  memset(&cnt, 0, sizeof cnt);
  cfg.frame_size = 200;
  mcubus_isotp_init(&n, &cfg, &io, &cnt);
  CHECK(n.cfg.frame_size == 8 && cnt.n[MCUBUS_E_INVALID_DLC] == 1, "classic CAN: frame size 8 (%u)", n.cfg.frame_size);
  cfg.fd = true, cfg.frame_size = 40;
  mcubus_isotp_init(&n, &cfg, &io, &cnt);
  CHECK(n.cfg.frame_size == 32, "FD 40 -> 32 (%u)", n.cfg.frame_size);
  cfg.frame_size = 3;
  mcubus_isotp_init(&n, &cfg, &io, &cnt);
  CHECK(n.cfg.frame_size == 8, "FD 3 -> 8 (%u)", n.cfg.frame_size);
  uint8_t tiny[3] = {1, 2, 3};
  mcubus_frame_mark_retransmit(tiny, sizeof tiny);
  CHECK(tiny[1] == 2 && mcubus_frame_original_crc(tiny, sizeof tiny) == 0, "short input left alone");
  boot(false);
  CHECK(!mcubus_dev_add_route(&D, 0x30, MCUBUS_MAX_PORTS, 0x30) && D.n_routes == 0, "route to a link out of range refused");
}

void units_device(suite_t *s) {
  F.corrupt_at = -1, F.fail_erase_at = -1;
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
  case_begin("update: a chunk far beyond the window is refused before the sack bitmap is read");
  chunk_beyond_window();
  case_end(s);
  case_begin("update: the short last chunk again after VERIFY is a duplicate, the state stays");
  last_chunk_again();
  case_end(s);
  case_begin("update: BEGIN while a test image runs is bad_state; the confirmed slot is never erased");
  begin_during_test_boot();
  case_end(s);
  case_begin("update: resume on ECC flash re-erases past the resume point (never programs a byte twice)");
  resume_on_ecc_flash();
  case_end(s);
  case_begin("update: after a hash mismatch the next BEGIN erases and starts at 0");
  rehash_restarts_clean();
  case_end(s);
  case_begin("update: resume needs the same envelope; VERIFY checks the manifest describes the image");
  resume_other_envelope();
  case_end(s);
  case_begin("update: BEGIN persists the boot state before erasing (power cut during the erase)");
  begin_persists_before_erase();
  case_end(s);
  case_begin("integral floats in uint fields: accepted by the schema and read as integers by handlers");
  integral_floats();
  case_end(s);
  case_begin("CAN: t2 is the SOF of the request's own FF, not of a frame in between");
  can_t2_per_reception();
  case_end(s);
  case_begin("gateway: events get no routing ERROR (counted); requests do");
  gateway_events_not_answered();
  case_end(s);
  case_begin("gateway: TRACE_RECORDS within the frame limit");
  trace_small_budget();
  case_end(s);
  case_begin("CBOR: maps beyond MCUBUS_CBOR_MAX_MAP entries are map_too_large");
  cbor_map_cap();
  case_end(s);
  case_begin("HELLO at the schema's maximum sizes is sent (at start and to IDENTIFY)");
  hello_at_maximum_sizes();
  case_end(s);
  case_begin("broadcast RESET / UPDATE_BEGIN are not executed");
  broadcast_requests_not_executed();
  case_end(s);
  case_begin("defensive inputs: ISO-TP frame size, short frames, route link range");
  defensive_inputs();
  case_end(s);
}
