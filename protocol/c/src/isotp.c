/* ISO-TP per spec 7: SF/FF/CF/FC, CAN FD lengths, padding, BS/STmin, N_Bs/N_Cr, functional SFs. */
#include "mcubus/isotp.h"

#include <string.h>

#include "internal.h"

#define PF_PHYS 0xDAu
#define PF_FUNC 0xDBu

static const uint8_t can_prio_of[4] = {3, 4, 6, 7};
static uint8_t frame_prio_of(uint8_t can_prio) { return can_prio <= 3 ? 0 : can_prio == 4 ? 1 : can_prio <= 6 ? 2 : 3; }

uint32_t mcubus_can_id(uint8_t priority, bool functional, uint8_t target, uint8_t source) {
  return ((uint32_t)can_prio_of[priority & 3u] << 26) | ((uint32_t)(functional ? PF_FUNC : PF_PHYS) << 16) |
         ((uint32_t)target << 8) | source;
}

static uint32_t compose(uint8_t can_prio, uint8_t target, uint8_t source) {
  return ((uint32_t)can_prio << 26) | (PF_PHYS << 16) | ((uint32_t)target << 8) | source;
}

void mcubus_isotp_config_default(mcubus_isotp_config_t *c, uint8_t address) {
  c->address = address;
  c->fd = false;
  c->frame_size = 8;
  c->padding = 0xCC;
  c->block_size = 0;
  c->stmin_us = 0;
  c->max_message = 65535;
  c->n_bs_us = 1000000;
  c->n_cr_us = 1000000;
  c->max_wait_frames = 10;
}

static uint8_t encode_stmin(uint32_t us) {
  if (us == 0) return 0;
  if (us <= 900) return (uint8_t)(0xF0 + (us + 99) / 100);
  if (us > 127000) us = 127000;
  return (uint8_t)((us + 999) / 1000);
}

static uint32_t decode_stmin(uint8_t b) {
  if (b <= 0x7F) return b * 1000u;
  if (b >= 0xF1 && b <= 0xF9) return (b - 0xF0u) * 100u;
  return 127000u; /* reserved: the longest gap (spec 7.5) */
}

static bool fd_length_ok(unsigned n) { return n <= 8 || n == 12 || n == 16 || n == 20 || n == 24 || n == 32 || n == 48 || n == 64; }
static unsigned fd_round(unsigned n) {
  static const uint8_t lens[] = {8, 12, 16, 20, 24, 32, 48, 64};
  if (n <= 8) return n;
  for (unsigned i = 0; i < sizeof lens; i++)
    if (lens[i] >= n) return lens[i];
  return 64;
}

static unsigned sf_capacity(unsigned frame_size) { return frame_size <= 8 ? MCUBUS_MIN(7u, frame_size - 1) : frame_size - 2; }

void mcubus_isotp_init(mcubus_isotp_t *n, const mcubus_isotp_config_t *cfg, const mcubus_isotp_io_t *io,
                       mcubus_counters_t *counters) {
  memset(n, 0, sizeof *n);
  n->cfg = *cfg;
  n->io = *io;
  n->counters = counters;
  /* TX_DL: 8 on classic CAN; on CAN FD one of the FD lengths 8..64 (a value in between goes down to the
   * length below, so a frame never exceeds what the bus was configured for). Corrected and counted. */
  unsigned fs = cfg->frame_size;
  if (!cfg->fd || fs < 8) fs = 8;
  if (fs > 64) fs = 64;
  while (fd_round(fs) != fs) fs--;
  if (fs != cfg->frame_size) mcubus_count(counters, MCUBUS_E_INVALID_DLC);
  n->cfg.frame_size = (uint8_t)fs;
  n->stmin_raw = encode_stmin(cfg->stmin_us);
}

/* Pads a frame's content as spec 7.4 says and hands it to the driver. */
static void emit(mcubus_isotp_t *n, uint32_t id, const uint8_t *bytes, unsigned len, bool fd) {
  mcubus_can_frame_t f;
  unsigned out = len;
  if (n->cfg.padding >= 0 && out < 8) out = 8;
  if (fd) out = fd_round(out);
  memset(f.data, n->cfg.padding >= 0 ? n->cfg.padding : 0xCC, sizeof f.data);
  memcpy(f.data, bytes, len);
  f.id = id;
  f.extended = true;
  f.fd = fd;
  f.len = (uint8_t)out;
  n->io.can_send(n->io.ctx, &f);
}

static void send_fc(mcubus_isotp_t *n, uint8_t to, uint8_t can_prio, bool fd, unsigned status) {
  uint8_t b[3] = {(uint8_t)(0x30 | status), 0, 0};
  if (status == 0) b[1] = n->cfg.block_size, b[2] = n->stmin_raw;
  emit(n, compose(can_prio, to, n->cfg.address), b, 3, fd);
}

/* ── transmit ── */

static void tx_finish(mcubus_isotp_t *n, mcubus_isotp_tx_t *t, mcubus_err_t result, mcubus_us_t now);

static void tx_pump(mcubus_isotp_t *n, mcubus_isotp_tx_t *t, mcubus_us_t now) {
  unsigned cap = n->cfg.frame_size - 1u;
  while (t->state == TX_SENDING && t->next_cf_at <= now) {
    uint8_t b[64];
    unsigned take = MCUBUS_MIN(cap, t->len - t->offset);
    b[0] = (uint8_t)(0x20 | (t->sn & 0x0F));
    memcpy(b + 1, t->buf + t->offset, take);
    emit(n, t->id, b, take + 1, n->cfg.fd);
    t->offset += take;
    t->sn = (uint8_t)((t->sn + 1) & 0x0F);
    if (t->offset >= t->len) {
      tx_finish(n, t, MCUBUS_E_OK, now);
      return;
    }
    if (t->block_left > 0 && --t->block_left == 0) { /* BS 0: the block never ends */
      t->state = TX_WAIT_FC;
      t->deadline = now + n->cfg.n_bs_us;
      return;
    }
    t->next_cf_at = now + t->stmin_us;
  }
}

static void tx_start(mcubus_isotp_t *n, mcubus_isotp_tx_t *t, mcubus_us_t now) {
  uint8_t b[64];
  unsigned fs = n->cfg.frame_size;
  if (t->len <= sf_capacity(fs)) {
    unsigned pci = t->len <= 7 ? 1 : 2;
    if (pci == 1)
      b[0] = (uint8_t)t->len;
    else
      b[0] = 0, b[1] = (uint8_t)t->len;
    memcpy(b + pci, t->buf, t->len);
    emit(n, t->id, b, pci + t->len, n->cfg.fd);
    tx_finish(n, t, MCUBUS_E_OK, now);
    return;
  }
  unsigned pci;
  if (t->len <= 4095) {
    b[0] = (uint8_t)(0x10 | (t->len >> 8));
    b[1] = (uint8_t)t->len;
    pci = 2;
  } else {
    b[0] = 0x10, b[1] = 0;
    mcubus__put_be32(b + 2, t->len);
    pci = 6;
  }
  memcpy(b + pci, t->buf, fs - pci);
  emit(n, t->id, b, fs, n->cfg.fd);
  t->offset = fs - pci;
  t->sn = 1;
  t->waits = 0;
  t->state = TX_WAIT_FC;
  t->deadline = now + n->cfg.n_bs_us;
}

/* The oldest queued transmission on `key` starts once the one before it is over. */
static void tx_start_next(mcubus_isotp_t *n, uint16_t key, mcubus_us_t now) {
  for (;;) {
    mcubus_isotp_tx_t *next = 0;
    for (unsigned i = 0; i < MCUBUS_ISOTP_TX_SLOTS; i++) {
      mcubus_isotp_tx_t *t = &n->tx[i];
      if (t->key != key || t->state == TX_FREE) continue;
      if (t->state != TX_QUEUED) return; /* one is in flight already */
      if (!next || t->order < next->order) next = t;
    }
    if (!next) return;
    tx_start(n, next, now);
    if (next->state != TX_FREE) return; /* a segmented one stays in flight */
  }
}

static void tx_finish(mcubus_isotp_t *n, mcubus_isotp_tx_t *t, mcubus_err_t result, mcubus_us_t now) {
  uint16_t key = t->key;
  uint32_t handle = t->handle;
  uint8_t to = t->to;
  t->state = TX_FREE;
  if (result != MCUBUS_E_OK) mcubus_count(n->counters, result);
  if (n->io.sent) n->io.sent(n->io.ctx, handle, to, result);
  tx_start_next(n, key, now);
}

static void service(mcubus_isotp_t *n, mcubus_us_t now) {
  for (unsigned i = 0; i < MCUBUS_ISOTP_TX_SLOTS; i++) {
    mcubus_isotp_tx_t *t = &n->tx[i];
    if (t->state == TX_WAIT_FC && now >= t->deadline)
      tx_finish(n, t, MCUBUS_E_TIMEOUT_BS, now);
    else if (t->state == TX_SENDING)
      tx_pump(n, t, now);
  }
  for (unsigned i = 0; i < MCUBUS_ISOTP_RX_SLOTS; i++) {
    mcubus_isotp_rx_t *r = &n->rx[i];
    if (r->busy && now >= r->deadline) {
      r->busy = false;
      mcubus_count(n->counters, MCUBUS_E_TIMEOUT_CR);
      if (n->io.rx_error) n->io.rx_error(n->io.ctx, r->from, MCUBUS_E_TIMEOUT_CR);
    }
  }
}

static mcubus_err_t reject(mcubus_isotp_t *n, mcubus_err_t e) {
  mcubus_count(n->counters, e);
  return e;
}

mcubus_err_t mcubus_isotp_send(mcubus_isotp_t *n, mcubus_us_t now, uint32_t handle, uint8_t to, uint8_t priority,
                               bool functional, const uint8_t *msg, size_t len) {
  service(n, now);
  functional = functional || to == 0xFF;
  if (to == n->cfg.address || (functional && to != 0xFF)) return reject(n, MCUBUS_E_INVALID_ADDRESS);
  if (priority > 3) return reject(n, MCUBUS_E_INVALID_PRIORITY);
  if (len == 0) return reject(n, MCUBUS_E_EMPTY_PAYLOAD);
  if (functional) {
    unsigned cap = sf_capacity(n->cfg.frame_size);
    if (len > cap) return reject(n, MCUBUS_E_TOO_LARGE_FOR_FUNCTIONAL);
    uint8_t b[64];
    unsigned pci = len <= 7 ? 1 : 2;
    if (pci == 1)
      b[0] = (uint8_t)len;
    else
      b[0] = 0, b[1] = (uint8_t)len;
    memcpy(b + pci, msg, len);
    emit(n, mcubus_can_id(priority, true, 0xFF, n->cfg.address), b, pci + (unsigned)len, n->cfg.fd);
    if (n->io.sent) n->io.sent(n->io.ctx, handle, to, MCUBUS_E_OK);
    return MCUBUS_E_OK;
  }
  if (len > MCUBUS_ISOTP_MAX_MSG || len > 0xFFFFFFFFu) return reject(n, MCUBUS_E_OVERSIZE);
  mcubus_isotp_tx_t *t = 0;
  for (unsigned i = 0; i < MCUBUS_ISOTP_TX_SLOTS && !t; i++)
    if (n->tx[i].state == TX_FREE) t = &n->tx[i];
  if (!t) return reject(n, MCUBUS_E_NO_TX_SLOT);
  t->state = TX_QUEUED;
  t->handle = handle;
  t->order = n->order++;
  t->to = to;
  t->key = (uint16_t)((can_prio_of[priority] << 8) | to);
  t->id = mcubus_can_id(priority, false, to, n->cfg.address);
  t->len = (uint32_t)len;
  memcpy(t->buf, msg, len);
  tx_start_next(n, t->key, now);
  return MCUBUS_E_OK;
}

/* ── receive ── */

static mcubus_isotp_tx_t *tx_on(mcubus_isotp_t *n, uint16_t key) {
  for (unsigned i = 0; i < MCUBUS_ISOTP_TX_SLOTS; i++)
    if (n->tx[i].key == key && (n->tx[i].state == TX_WAIT_FC || n->tx[i].state == TX_SENDING)) return &n->tx[i];
  return 0;
}

static mcubus_isotp_rx_t *rx_on(mcubus_isotp_t *n, uint16_t key) {
  for (unsigned i = 0; i < MCUBUS_ISOTP_RX_SLOTS; i++)
    if (n->rx[i].busy && n->rx[i].key == key) return &n->rx[i];
  return 0;
}

static void interrupt(mcubus_isotp_t *n, uint16_t key) {
  mcubus_isotp_rx_t *r = rx_on(n, key);
  if (!r) return;
  r->busy = false;
  mcubus_count(n->counters, MCUBUS_E_INTERRUPTED);
  if (n->io.rx_error) n->io.rx_error(n->io.ctx, r->from, MCUBUS_E_INTERRUPTED);
}

static bool acceptable(mcubus_isotp_t *n, uint8_t from, uint32_t len) {
  if (len <= n->cfg.max_message && len <= MCUBUS_ISOTP_MAX_MSG) return true;
  mcubus_count(n->counters, MCUBUS_E_MESSAGE_TOO_LARGE);
  if (n->io.rx_error) n->io.rx_error(n->io.ctx, from, MCUBUS_E_MESSAGE_TOO_LARGE);
  return false;
}

static void on_fc(mcubus_isotp_t *n, mcubus_isotp_tx_t *t, const uint8_t *d, mcubus_us_t now) {
  unsigned fs = d[0] & 0x0Fu;
  if (t->state != TX_WAIT_FC) { /* a FC while sending CFs is ignored */
    mcubus_count(n->counters, MCUBUS_E_UNEXPECTED_FC);
    return;
  }
  if (fs == 0) {
    t->waits = 0;
    t->block_left = d[1];
    t->stmin_us = decode_stmin(d[2]);
    t->state = TX_SENDING;
    t->next_cf_at = now;
    tx_pump(n, t, now);
  } else if (fs == 1) {
    if (++t->waits > n->cfg.max_wait_frames)
      tx_finish(n, t, MCUBUS_E_WAIT_LIMIT, now);
    else
      t->deadline = now + n->cfg.n_bs_us;
  } else {
    tx_finish(n, t, MCUBUS_E_OVERFLOW, now);
  }
}

static void on_cf(mcubus_isotp_t *n, mcubus_isotp_rx_t *r, const uint8_t *d, unsigned dl, mcubus_us_t now) {
  uint32_t remaining = r->len - r->offset;
  bool full = remaining >= (uint32_t)r->rx_dl - 1u;
  if (dl > r->rx_dl || (full ? dl != r->rx_dl : dl < remaining + 1)) {
    mcubus_count(n->counters, MCUBUS_E_INVALID_LENGTH); /* ignored; ends by wrong_sn or timeout */
    return;
  }
  if ((d[0] & 0x0Fu) != r->next_sn) {
    r->busy = false;
    mcubus_count(n->counters, MCUBUS_E_WRONG_SN);
    if (n->io.rx_error) n->io.rx_error(n->io.ctx, r->from, MCUBUS_E_WRONG_SN);
    return;
  }
  uint32_t take = MCUBUS_MIN(remaining, (uint32_t)dl - 1u);
  memcpy(r->buf + r->offset, d + 1, take);
  r->offset += take;
  r->next_sn = (uint8_t)((r->next_sn + 1) & 0x0F);
  if (r->offset == r->len) {
    r->busy = false;
    n->rx_sof = r->t_first;
    n->io.received(n->io.ctx, r->from, frame_prio_of(r->can_priority), false, r->buf, r->len);
    return;
  }
  r->deadline = now + n->cfg.n_cr_us;
  if (n->cfg.block_size > 0 && ++r->block_count == n->cfg.block_size) {
    r->block_count = 0;
    send_fc(n, r->from, r->can_priority, r->fd, 0);
  }
}

void mcubus_isotp_on_frame(mcubus_isotp_t *n, mcubus_us_t now, const mcubus_can_frame_t *f) {
  service(n, now); /* timers first: a late FC does not rescue an expired transfer */
  if (!f->extended) {
    mcubus_count(n->counters, MCUBUS_E_STANDARD_ID);
    return;
  }
  uint8_t pf = (uint8_t)(f->id >> 16);
  if (((f->id >> 24) & 3u) || (pf != PF_PHYS && pf != PF_FUNC) || f->id > 0x1FFFFFFFu) {
    mcubus_count(n->counters, MCUBUS_E_FOREIGN_ID);
    return;
  }
  if (f->fd && !n->cfg.fd) {
    mcubus_count(n->counters, MCUBUS_E_FD_DISABLED);
    return;
  }
  bool functional = pf == PF_FUNC;
  uint8_t target = (uint8_t)(f->id >> 8), source = (uint8_t)f->id, can_prio = (uint8_t)((f->id >> 26) & 7u);
  if (source == n->cfg.address || target != (functional ? 0xFF : n->cfg.address)) {
    mcubus_count(n->counters, MCUBUS_E_NOT_FOR_US);
    return;
  }
  uint16_t key = (uint16_t)((can_prio << 8) | source);
  const uint8_t *d = f->data;
  unsigned dl = f->len;
  if (f->fd ? !fd_length_ok(dl) : dl > 8) {
    mcubus_count(n->counters, MCUBUS_E_INVALID_DLC);
    return;
  }
  if (dl == 0 || (d[0] >> 4) > 3) {
    mcubus_count(n->counters, MCUBUS_E_INVALID_PCI);
    return;
  }
  unsigned type = d[0] >> 4, low = d[0] & 0x0Fu;
  /* Decode and validate the PCI (spec 7.2) before acting on it. */
  const uint8_t *data = 0;
  uint32_t length = 0;
  if (type == 0) {
    if (dl <= 8) {
      if (low == 0 || low > dl - 1) goto invalid_length;
      length = low, data = d + 1;
    } else {
      if (low != 0 || d[1] == 0 || d[1] > dl - 2) goto invalid_length;
      length = d[1], data = d + 2;
    }
  } else if (type == 1) {
    if (dl < 8) goto invalid_length;
    uint32_t l12 = (low << 8) | d[1];
    if (l12 != 0) {
      if (l12 < sf_capacity(dl) + 1) goto invalid_length;
      length = l12, data = d + 2;
    } else {
      length = mcubus__be32(d + 2);
      if (length <= 4095) goto invalid_length;
      data = d + 6;
    }
  } else if (type == 2) {
    if (dl < 2) goto invalid_length;
  } else {
    if (dl < 3) goto invalid_length;
    if (low > 2) {
      /* Fails the transfer waiting for this FC (counted there), or is counted on its own. */
      mcubus_isotp_tx_t *t = functional ? 0 : tx_on(n, key);
      if (t && t->state == TX_WAIT_FC)
        tx_finish(n, t, MCUBUS_E_RESERVED_FLOW_STATUS, now);
      else
        mcubus_count(n->counters, MCUBUS_E_RESERVED_FLOW_STATUS);
      return;
    }
  }
  if (functional) {
    if (type != 0)
      mcubus_count(n->counters, MCUBUS_E_FUNCTIONAL_NOT_SINGLE);
    else if (acceptable(n, source, length)) {
      n->rx_sof = now;
      n->io.received(n->io.ctx, source, frame_prio_of(can_prio), true, data, length);
    }
    return;
  }
  switch (type) {
  case 0:
    interrupt(n, key);
    if (acceptable(n, source, length)) {
      n->rx_sof = now;
      n->io.received(n->io.ctx, source, frame_prio_of(can_prio), false, data, length);
    }
    return;
  case 1: {
    interrupt(n, key);
    if (!acceptable(n, source, length)) {
      send_fc(n, source, can_prio, f->fd, 2);
      return;
    }
    mcubus_isotp_rx_t *r = 0;
    for (unsigned i = 0; i < MCUBUS_ISOTP_RX_SLOTS && !r; i++)
      if (!n->rx[i].busy) r = &n->rx[i];
    if (!r) { /* no buffer free: refuse like a too-long message, so the sender fails fast */
      mcubus_count(n->counters, MCUBUS_E_BUFFER);
      send_fc(n, source, can_prio, f->fd, 2);
      return;
    }
    r->busy = true;
    r->key = key;
    r->from = source;
    r->can_priority = can_prio;
    r->fd = f->fd;
    r->rx_dl = (uint8_t)dl;
    r->len = length;
    r->offset = (uint32_t)(d + dl - data);
    memcpy(r->buf, data, r->offset);
    r->next_sn = 1;
    r->block_count = 0;
    r->deadline = now + n->cfg.n_cr_us;
    r->t_first = now;
    send_fc(n, source, can_prio, f->fd, 0);
    return;
  }
  case 2: {
    mcubus_isotp_rx_t *r = rx_on(n, key);
    if (!r) {
      mcubus_count(n->counters, MCUBUS_E_UNEXPECTED_CF);
      return;
    }
    on_cf(n, r, d, dl, now);
    return;
  }
  default: {
    mcubus_isotp_tx_t *t = tx_on(n, key);
    if (!t) {
      mcubus_count(n->counters, MCUBUS_E_UNEXPECTED_FC);
      return;
    }
    on_fc(n, t, d, now);
    return;
  }
  }
invalid_length:
  mcubus_count(n->counters, MCUBUS_E_INVALID_LENGTH);
}

void mcubus_isotp_poll(mcubus_isotp_t *n, mcubus_us_t now) { service(n, now); }

bool mcubus_isotp_next_wake(const mcubus_isotp_t *n, mcubus_us_t *at) {
  bool any = false;
  mcubus_us_t best = 0;
  for (unsigned i = 0; i < MCUBUS_ISOTP_TX_SLOTS; i++) {
    const mcubus_isotp_tx_t *t = &n->tx[i];
    mcubus_us_t w;
    if (t->state == TX_WAIT_FC)
      w = t->deadline;
    else if (t->state == TX_SENDING)
      w = t->next_cf_at;
    else
      continue;
    if (!any || w < best) best = w, any = true;
  }
  for (unsigned i = 0; i < MCUBUS_ISOTP_RX_SLOTS; i++)
    if (n->rx[i].busy && (!any || n->rx[i].deadline < best)) best = n->rx[i].deadline, any = true;
  if (any) *at = best;
  return any;
}

unsigned mcubus_isotp_pending(const mcubus_isotp_t *n) {
  unsigned c = 0;
  for (unsigned i = 0; i < MCUBUS_ISOTP_TX_SLOTS; i++) c += n->tx[i].state != TX_FREE;
  for (unsigned i = 0; i < MCUBUS_ISOTP_RX_SLOTS; i++) c += n->rx[i].busy;
  return c;
}
