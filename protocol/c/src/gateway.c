/* The gateway role (spec 9): forwarding by route with the TTL rule, routing errors with `reporter`,
 * the forwarding log answered by TRACE_REQ, and TOPOLOGY. */
#include <string.h>

#include "internal.h"
#include "mcubus/device.h"

enum { OUT_FORWARDED, OUT_NO_ROUTE, OUT_TTL_EXPIRED, OUT_TOO_LARGE, OUT_TX_FAILED, OUT_QUEUE_FULL };

static size_t link_mtu(const mcubus_dev_t *d, unsigned link) {
  return d->links[link].kind == MCUBUS_LINK_MODBUS ? MCUBUS_MODBUS_MAX_TUNNEL_FRAME : MCUBUS_MAX_FRAME;
}

static void log_record(mcubus_dev_t *d, const mcubus_frame_t *f, unsigned in, int out, uint8_t outcome) {
  if (mcubus_frame_priority(f) == 3 && outcome == OUT_FORWARDED) { /* bulk: counted, not recorded */
    d->bulk_forwarded++;
    return;
  }
  mcubus_fwd_record_t *r = &d->fwd[d->fwd_next % MCUBUS_FWD_LOG];
  memset(r, 0, sizeof *r);
  r->index = d->fwd_next++;
  r->at = d->port.now_us(d->port.ctx);
  r->src = f->src, r->dst = f->dst, r->seq = f->seq, r->type = f->type, r->flags = f->flags;
  r->in_port = (uint8_t)in;
  r->has_out = out >= 0;
  r->out_port = (uint8_t)(out >= 0 ? out : 0);
  r->outcome = outcome;
  if (outcome == OUT_FORWARDED && d->links[out].kind == MCUBUS_LINK_UART) { /* written at once */
    r->has_wire = true;
    r->wire_at = r->at;
  }
}

static void routing_error(mcubus_dev_t *d, const mcubus_frame_t *f, uint16_t code, const char *text, bool has_detail,
                          int64_t detail) {
  /* Only requests get a routing error (spec 5): unicast, no RESPONSE flag, and a type with an
   * "answered by" entry in the catalogue. Events (HEARTBEAT, LOG, UPDATE_ACK...) and unknown types are
   * counted and logged only. */
  if ((f->flags & MCUBUS_FLAG_RESPONSE) || f->dst == MCUBUS_ADDR_BROADCAST || !mcubus_is_request(f->type)) return;
  uint8_t body[96];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, 4u + has_detail);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, code);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_cstr(&w, text);
  mcubus_cbor_put_uint(&w, 3);
  mcubus_cbor_put_uint(&w, f->type);
  mcubus_cbor_put_uint(&w, 4);
  mcubus_cbor_put_uint(&w, d->id.address);
  if (has_detail) {
    mcubus_cbor_put_uint(&w, 5);
    mcubus_cbor_put_int(&w, detail);
  }
  uint8_t *out = d->frame_buf;
  memmove(out + MCUBUS_HEADER_SIZE, body, w.len);
  mcubus_frame_header(out, MCUBUS_FLAG_RESPONSE | (f->flags & 0x0Cu), f->src, d->id.address, MCUBUS_T_ERROR, f->seq);
  size_t len = mcubus_frame_seal(out, sizeof d->frame_buf, w.len);
  if (len) mcubus__send_frame(d, out, len, -1, 0);
}

void mcubus__forward(mcubus_dev_t *d, unsigned in_link, uint8_t *frame, size_t len, const mcubus_frame_t *f) {
  /* Learn where a node sits from its HELLO (spec 9). */
  if (f->type == MCUBUS_T_HELLO && f->src != MCUBUS_ADDR_HOST) {
    uint8_t hop;
    int known = mcubus__route(d, f->src, &hop);
    if (known != (int)in_link || hop != f->src) mcubus_dev_add_route(d, f->src, in_link, f->src);
  }
  if (f->ttl <= 1) {
    log_record(d, f, in_link, -1, OUT_TTL_EXPIRED);
    mcubus_count(&d->counters, MCUBUS_E_TTL_EXPIRED);
    routing_error(d, f, MCUBUS_EC_TTL_EXPIRED, "TTL expired", false, 0);
    return;
  }
  frame[4] = (uint8_t)(f->ttl - 1); /* the CRC masks the TTL: still valid */
  if (f->dst == MCUBUS_ADDR_BROADCAST) {
    for (unsigned l = 0; l < MCUBUS_MAX_PORTS; l++)
      if (l != in_link && d->links[l].kind != MCUBUS_LINK_NONE && len <= link_mtu(d, l))
        mcubus__send_frame(d, frame, len, (int)l, 0xFF);
    return;
  }
  uint8_t hop;
  int out = mcubus__route(d, f->dst, &hop);
  if (out < 0 || out == (int)in_link) {
    log_record(d, f, in_link, -1, OUT_NO_ROUTE);
    mcubus_count(&d->counters, MCUBUS_E_NO_ROUTE);
    routing_error(d, f, MCUBUS_EC_NO_ROUTE, "no route", false, 0);
    return;
  }
  if (len > link_mtu(d, (unsigned)out)) {
    log_record(d, f, in_link, out, OUT_TOO_LARGE);
    mcubus_count(&d->counters, MCUBUS_E_TOO_LARGE);
    routing_error(d, f, MCUBUS_EC_TOO_LARGE, "frame too large for the next link", true,
                  (int64_t)link_mtu(d, (unsigned)out));
    return;
  }
  bool sent = mcubus__send_frame(d, frame, len, out, hop);
  log_record(d, f, in_link, out, sent ? OUT_FORWARDED : OUT_TX_FAILED);
}

static bool matches(const mcubus_fwd_record_t *r, const uint8_t *body, size_t n) {
  mcubus_cbor_item_t it;
  mcubus_cbor_reader_t rd;
  if (!mcubus_cbor_map_find(body, n, 3, &it, &rd)) return true; /* no match list: every record */
  for (uint64_t i = 0; i < it.u; i++) {
    mcubus_cbor_reader_t one = rd;
    size_t left = (size_t)(rd.end - rd.p);
    uint64_t src = 256, dst = 256, seq = 65536;
    mcubus_cbor_map_uint(one.p, left, 1, &src);
    mcubus_cbor_map_uint(one.p, left, 2, &dst);
    mcubus_cbor_map_uint(one.p, left, 3, &seq);
    if (src == r->src && dst == r->dst && seq == r->seq) return true;
    mcubus_cbor_skip(&rd);
  }
  return false;
}

static void put_record(mcubus_cbor_writer_t *w, const mcubus_fwd_record_t *r) {
  mcubus_cbor_put_map(w, 9u + r->has_out + r->has_wire);
  uint64_t v[] = {r->index, r->at, r->src, r->dst, r->seq, r->type, r->flags, r->in_port};
  for (unsigned k = 0; k < 8; k++) {
    mcubus_cbor_put_uint(w, k + 1);
    mcubus_cbor_put_uint(w, v[k]);
  }
  if (r->has_out) {
    mcubus_cbor_put_uint(w, 9);
    mcubus_cbor_put_uint(w, r->out_port);
  }
  mcubus_cbor_put_uint(w, 10);
  mcubus_cbor_put_uint(w, r->outcome);
  if (r->has_wire) {
    mcubus_cbor_put_uint(w, 11);
    mcubus_cbor_put_uint(w, r->wire_at);
  }
}

/* HELLO maxFrame is at least 64 (spec); below that not even the header, CRC and an empty answer fit. */
typedef char mcubus_max_frame_at_least_64[MCUBUS_MAX_FRAME >= 64 ? 1 : -1];

static void trace(mcubus_dev_t *d, const mcubus_frame_t *f) {
  static uint8_t body[MCUBUS_MAX_FRAME];
  static uint8_t recs[MCUBUS_MAX_FRAME];
  uint64_t since = 0, max = 64;
  mcubus_cbor_map_uint(f->body, f->body_len, 1, &since);
  mcubus_cbor_map_uint(f->body, f->body_len, 2, &max);
  uint32_t held = d->fwd_next < MCUBUS_FWD_LOG ? d->fwd_next : MCUBUS_FWD_LOG;
  uint32_t oldest = d->fwd_next - held;
  uint32_t i = (uint32_t)since < oldest ? oldest : (uint32_t)since;
  if (i > d->fwd_next) i = d->fwd_next;
  /* Records go into a scratch writer first, so the answer stays within the frame limit: what is left
   * of the body once the rest of TRACE_RECORDS is counted at its largest (map 1, next 1+5, oldest 1+5,
   * ports 1+1+names, records 1+2, bulkForwarded 1+5, oldestAt 1+9). */
  size_t fixed = 34;
  for (unsigned l = 0; l < MCUBUS_MAX_PORTS; l++)
    if (d->links[l].kind != MCUBUS_LINK_NONE)
      fixed += 1u + MCUBUS_MIN(strlen(d->link_names[l] ? d->link_names[l] : "port"), (size_t)16);
  const size_t body_cap = sizeof body - MCUBUS_HEADER_SIZE - MCUBUS_CRC_SIZE;
  mcubus_cbor_writer_t rw;
  mcubus_cbor_writer_init(&rw, recs, body_cap > fixed ? body_cap - fixed : 0); /* never wraps */
  size_t count = 0;
  for (; i != d->fwd_next && count < max && count < 64; i++) {
    const mcubus_fwd_record_t *r = &d->fwd[i % MCUBUS_FWD_LOG];
    if (!matches(r, f->body, f->body_len)) continue;
    size_t before = rw.len;
    put_record(&rw, r);
    if (rw.overflow) {
      rw.overflow = false;
      rw.len = before;
      break;
    }
    count++;
  }
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, body_cap);
  mcubus_cbor_put_map(&w, held ? 6 : 5);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, i);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, oldest);
  mcubus_cbor_put_uint(&w, 3);
  unsigned nports = 0;
  for (unsigned l = 0; l < MCUBUS_MAX_PORTS; l++) nports += d->links[l].kind != MCUBUS_LINK_NONE;
  mcubus_cbor_put_array(&w, nports);
  for (unsigned l = 0; l < MCUBUS_MAX_PORTS; l++)
    if (d->links[l].kind != MCUBUS_LINK_NONE) {
      const char *nm = d->link_names[l] ? d->link_names[l] : "port";
      mcubus_cbor_put_text(&w, nm, MCUBUS_MIN(strlen(nm), (size_t)16));
    }
  mcubus_cbor_put_uint(&w, 4);
  mcubus_cbor_put_array(&w, count);
  if (w.cap - w.len < rw.len) {
    w.overflow = true;
  } else {
    memcpy(w.buf + w.len, recs, rw.len);
    w.len += rw.len;
  }
  mcubus_cbor_put_uint(&w, 5);
  mcubus_cbor_put_uint(&w, d->bulk_forwarded);
  if (held) {
    mcubus_cbor_put_uint(&w, 6);
    mcubus_cbor_put_uint(&w, d->fwd[oldest % MCUBUS_FWD_LOG].at);
  }
  if (w.overflow)
    mcubus_count(&d->counters, MCUBUS_E_BUFFER); /* even an empty answer does not fit this frame limit */
  else
    mcubus__reply(d, MCUBUS_T_TRACE_RECORDS, body, w.len);
}

static void topology(mcubus_dev_t *d) {
  uint8_t body[16 + MCUBUS_ROUTES * 12];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  size_t n = 0;
  for (uint8_t i = 0; i < d->n_routes; i++) n += d->routes[i].link != d->default_link;
  mcubus_cbor_put_map(&w, 1);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_array(&w, n);
  for (uint8_t i = 0; i < d->n_routes; i++) {
    const mcubus_route_t *r = &d->routes[i];
    if (r->link == d->default_link) continue;
    mcubus_cbor_put_map(&w, 4);
    mcubus_cbor_put_uint(&w, 1);
    mcubus_cbor_put_uint(&w, r->dst);
    mcubus_cbor_put_uint(&w, 2);
    mcubus_cbor_put_uint(&w, r->link);
    mcubus_cbor_put_uint(&w, 3);
    mcubus_cbor_put_uint(&w, 1);
    mcubus_cbor_put_uint(&w, 4);
    mcubus_cbor_put_uint(&w, 0); /* unknown: this role does not track liveness */
  }
  if (!w.overflow) mcubus__reply(d, MCUBUS_T_TOPOLOGY, body, w.len);
}

bool mcubus__gateway_handle(mcubus_dev_t *d, const mcubus_frame_t *f) {
  if (!d->gateway) return false;
  if (f->type == MCUBUS_T_TRACE_REQ) {
    trace(d, f);
    return true;
  }
  if (f->type == MCUBUS_T_TOPOLOGY_REQ) {
    topology(d);
    return true;
  }
  return false;
}
