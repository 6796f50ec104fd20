/* The library built with the smallest frame limit a device may announce (MCUBUS_MAX_FRAME=64, HELLO
 * maxFrame >= 64): buffers derived from it must not wrap or overflow. Run under ASan/UBSan by
 * `make check` as its own binary (suite "small"). */
#include <string.h>

#include "harness.h"
#include "mcubus.h"

#if MCUBUS_MAX_FRAME != 64
#error "test_small.c is built with -DMCUBUS_MAX_FRAME=64"
#endif

static mcubus_us_t now_us;
static int n_out;
static uint8_t out[8][200];
static size_t out_len[8];
static unsigned out_link[8];

static mcubus_us_t f_now(void *c) {
  (void)c;
  return now_us;
}
static void f_write(void *c, unsigned link, const uint8_t *p, size_t n) {
  (void)c;
  if (n_out < 8 && n <= sizeof out[0]) {
    memcpy(out[n_out], p, n);
    out_len[n_out] = n;
    out_link[n_out] = link;
  }
  n_out++;
}

static mcubus_dev_t D;

static void feed(unsigned link, uint8_t dst, uint8_t type, uint16_t seq, const uint8_t *body, size_t n) {
  uint8_t fr[64], enc[80];
  mcubus_frame_header(fr, 0x08, dst, 0x00, type, seq);
  memcpy(fr + 8, body, n);
  size_t len = mcubus_frame_seal(fr, sizeof fr, n);
  size_t m = mcubus_cobs_encode(fr, len, enc + 1, sizeof enc - 2);
  enc[0] = 0;
  enc[m + 1] = 0;
  mcubus_dev_uart_rx(&D, link, enc, m + 2, now_us);
}

static bool out_frame(int k, uint8_t *buf, mcubus_frame_t *f) {
  const uint8_t *p = out[k];
  size_t n = out_len[k], len;
  while (n && p[0] == 0) p++, n--;
  if (!n || p[n - 1] != 0) return false;
  if (mcubus_cobs_decode(p, n - 1, buf, &len) != MCUBUS_E_OK) return false;
  return mcubus_frame_decode(buf, len, 64, f) == MCUBUS_E_OK;
}

static void trace_at_64(void) {
  static const mcubus_port_t port = {0, f_now, f_write, 0, 0, 0, 0, 0, 0, 0};
  mcubus_identity_t id;
  memset(&id, 0, sizeof id);
  id.address = 0x21;
  id.hardware_id = "hw";
  mcubus_dev_init(&D, &id, &port, 0);
  mcubus_dev_add_uart(&D, 0, "up", 0);
  mcubus_dev_add_uart(&D, 1, "down", 0);
  mcubus_dev_set_gateway(&D, true, 0);
  mcubus_dev_add_route(&D, 0x30, 1, 0x30);
  uint8_t ping[] = {0xA0};
  for (int i = 0; i < 10; i++) feed(0, 0x30, MCUBUS_T_PING, (uint16_t)i, ping, 1);
  CHECK(D.fwd_next == 10, "forwarded %u", D.fwd_next);
  n_out = 0;
  uint8_t tr[] = {0xA1, 0x01, 0x00};
  feed(0, 0x21, MCUBUS_T_TRACE_REQ, 99, tr, sizeof tr);
  uint8_t buf[64];
  mcubus_frame_t f;
  CHECK(n_out == 1 && out_frame(0, buf, &f) && f.type == MCUBUS_T_TRACE_RECORDS, "TRACE_RECORDS fits in 64 bytes");
  CHECK(mcubus_schema_check(f.type, f.body, f.body_len, 0, 0) == MCUBUS_E_OK, "and is valid");
  mcubus_cbor_item_t it;
  CHECK(mcubus_cbor_map_find(f.body, f.body_len, 4, &it, 0) && it.kind == MCUBUS_CBOR_ARRAY && it.u == 0,
        "no record fits: an empty list, the host asks again from `next`");
  /* HELLO with a long name does not fit 64 bytes: counted, not written half */
  D.id.name = "a name long enough that HELLO cannot fit in a 64-byte frame";
  n_out = 0;
  mcubus_dev_start(&D);
  CHECK(n_out == 0 && D.counters.n[MCUBUS_E_TOO_LARGE] >= 1, "HELLO too large for this build: counted (%d out)",
        n_out);
}

int main(void) {
  suite_t s = {"small", 0, 0};
  case_begin("MCUBUS_MAX_FRAME=64: TRACE_REQ answered within the limit (no wrap, no overflow)");
  trace_at_64();
  case_end(&s);
  suite_report(&s);
  return s.failed > 0;
}
