/* isotp.json: replays each vector once per role with the C node under test, exactly as the file's
 * description says (tick at every wake-up <= the next frame's time, own frames must match byte for
 * byte, the other side's frames are fed in), then checks events and counters. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json.h"
#include "mcubus.h"
#include "mcubus/isotp.h"
#include "vectors.h"

typedef struct {
  char sent[1024][300]; /* frames the node emitted, not yet matched */
  int nsent;
  int transmitted, failed, received, rx_errors;
  uint8_t from, priority;
  bool functional;
  uint8_t msg[8192];
  size_t len;
  mcubus_us_t now;
} rec_t;

static void show(char *out, mcubus_us_t at, uint32_t id, bool fd, const uint8_t *d, size_t n) {
  char h[200];
  hex_encode(d, n, h);
  sprintf(out, "%llu 0x%08x fd=%d %s", (unsigned long long)at, id, fd, h);
}

static void can_send(void *ctx, const mcubus_can_frame_t *f) {
  rec_t *r = ctx;
  if (r->nsent < 1024) show(r->sent[r->nsent++], r->now, f->id, f->fd, f->data, f->len);
}
static void received(void *ctx, uint8_t from, uint8_t prio, bool functional, const uint8_t *m, size_t len) {
  rec_t *r = ctx;
  r->received++;
  r->from = from, r->priority = prio, r->functional = functional;
  r->len = len;
  memcpy(r->msg, m, len);
}
static void sent(void *ctx, uint32_t handle, uint8_t to, mcubus_err_t result) {
  rec_t *r = ctx;
  (void)handle, (void)to;
  if (result == MCUBUS_E_OK)
    r->transmitted++;
  else
    r->failed++;
}
static void rx_error(void *ctx, uint8_t from, mcubus_err_t code) {
  (void)from, (void)code;
  ((rec_t *)ctx)->rx_errors++;
}

static void advance(mcubus_isotp_t *node, rec_t *r, mcubus_us_t to) {
  mcubus_us_t wake;
  for (int i = 0; i < 100000 && mcubus_isotp_next_wake(node, &wake) && wake <= to; i++) {
    r->now = wake;
    mcubus_isotp_poll(node, wake);
  }
}

/* Pops the oldest emitted frame. */
static bool pop(rec_t *r, char *out) {
  if (r->nsent == 0) return false;
  strcpy(out, r->sent[0]);
  memmove(r->sent[0], r->sent[1], sizeof r->sent[0] * (size_t)(r->nsent - 1));
  r->nsent--;
  return true;
}

static void replay(const json_t *v, bool sender) {
  static mcubus_isotp_t node;
  static rec_t r;
  static uint8_t payload[8192];
  memset(&r, 0, sizeof r);
  mcubus_counters_t counters;
  memset(&counters, 0, sizeof counters);
  const json_t *c = json_get(v, "config");
  mcubus_isotp_config_t cfg;
  uint8_t sender_addr = (uint8_t)json_num(v, "sender", 0), receiver_addr = (uint8_t)json_num(v, "receiver", 0);
  mcubus_isotp_config_default(&cfg, sender ? sender_addr : receiver_addr);
  cfg.fd = json_num(c, "fd", 0) != 0;
  cfg.frame_size = (uint8_t)json_num(c, "frameSize", 8);
  const json_t *pad = json_get(c, "padding");
  cfg.padding = pad && pad->kind == J_NUM ? (int16_t)pad->num : -1;
  cfg.block_size = (uint8_t)json_num(c, "blockSize", 0);
  cfg.stmin_us = (uint32_t)json_num(c, "stMinUs", 0);
  cfg.max_message = (uint32_t)json_num(c, "maxMessageSize", 65535);
  cfg.n_bs_us = (uint32_t)json_num(c, "nBsUs", 1e6);
  cfg.n_cr_us = (uint32_t)json_num(c, "nCrUs", 1e6);
  cfg.max_wait_frames = (uint8_t)json_num(c, "maxWaitFrames", 10);
  mcubus_isotp_io_t io = {&r, can_send, received, sent, rx_error};
  mcubus_isotp_init(&node, &cfg, &io, &counters);
  const char *ph = json_str(v, "payloadHex");
  size_t plen = ph ? hex_decode(ph, payload, sizeof payload) : 0;
  bool functional = json_num(v, "functional", 0) != 0;
  if (sender) {
    r.now = 0;
    mcubus_isotp_send(&node, 0, 1, functional ? 0xFF : receiver_addr, (uint8_t)json_num(v, "priority", 2), functional,
                      payload, plen);
  }
  const json_t *frames = json_get(v, "frames");
  const char *own = sender ? "tx" : "rx";
  for (size_t i = 0; i < frames->n; i++) {
    const json_t *f = frames->items[i];
    mcubus_us_t at = (mcubus_us_t)json_num(f, "atUs", 0);
    advance(&node, &r, at);
    mcubus_can_frame_t cf;
    memset(&cf, 0, sizeof cf);
    cf.id = (uint32_t)strtoul(json_str(f, "id"), 0, 16);
    cf.extended = true;
    cf.fd = json_num(f, "fd", 0) != 0;
    cf.len = (uint8_t)hex_decode(json_str(f, "dataHex"), cf.data, sizeof cf.data);
    char want[300], got[300];
    show(want, at, cf.id, cf.fd, cf.data, cf.len);
    if (strcmp(json_str(f, "dir"), own) == 0) {
      bool have = pop(&r, got);
      CHECK(have && strcmp(got, want) == 0, "frame %zu: got %s, want %s", i, have ? got : "nothing", want);
    } else {
      r.now = at;
      mcubus_isotp_on_frame(&node, at, &cf);
    }
  }
  advance(&node, &r, UINT64_MAX);
  CHECK(r.nsent == 0, "%d frames beyond the vector, first %s", r.nsent, r.nsent ? r.sent[0] : "");
  CHECK(mcubus_isotp_pending(&node) == 0, "transfers left pending");
  const char *error = json_str(v, "error");
  uint32_t total = 0;
  for (int e = 0; e < MCUBUS_E__COUNT; e++) total += counters.n[e];
  if (error) {
    bool one = false;
    for (int e = 0; e < MCUBUS_E__COUNT; e++)
      if (strcmp(mcubus_err_name((mcubus_err_t)e), error) == 0) one = counters.n[e] == 1;
    CHECK(one && total == 1, "want exactly one %s (total %u)", error, total);
    CHECK(r.received == 0 || strcmp(error, "interrupted") == 0, "delivered something incomplete");
    return;
  }
  CHECK(total == 0, "%u counted errors", total);
  if (sender) {
    CHECK(r.transmitted == 1 && r.failed == 0, "transmitted %d failed %d", r.transmitted, r.failed);
  } else {
    CHECK(r.received == 1 && r.len == plen && memcmp(r.msg, payload, plen) == 0, "received %d", r.received);
    CHECK(r.from == sender_addr && r.priority == json_num(v, "priority", -1) && r.functional == functional,
          "from %u prio %u functional %d", r.from, r.priority, r.functional);
  }
}

void vectors_isotp(const char *dir, suite_t *s) {
  char path[512], name[300];
  snprintf(path, sizeof path, "%s/isotp.json", dir);
  json_t *j = json_parse_file(path);
  const json_t *vs = json_get(j, "vectors");
  for (size_t i = 0; i < vs->n; i++) {
    const json_t *roles = json_get(vs->items[i], "roles");
    for (size_t k = 0; k < roles->n; k++) {
      snprintf(name, sizeof name, "%s (%s)", json_str(vs->items[i], "name"), roles->items[k]->str);
      case_begin(name);
      replay(vs->items[i], strcmp(roles->items[k]->str, "sender") == 0);
      case_end(s);
    }
  }
  json_free(j);
}
