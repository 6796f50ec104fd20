/* The update receiver (spec 5 "Update transfer", spec 12) with an A/B slot layout: BEGIN checks the
 * signed manifest before anything is erased, chunks go straight to the free slot inside a window,
 * UPDATE_ACK carries cumulative + sack, the resume point survives resets (boot state in flash),
 * VERIFY re-hashes the slot, ACTIVATE marks a test boot, CONFIRM makes it permanent; a test image that
 * resets unconfirmed is reverted at the next boot. */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "mcubus/device.h"

#define MAGIC 0x4D434253u /* "MCBS" */
#define ST_RECEIVING 1
#define ST_RECEIVED 2
#define ST_VERIFIED 3
#define ST_FAILED 4
#define ST_ACTIVATED 5
#define NONE 0xFF

/* ── boot state: two sectors, the valid one with the highest generation wins (power-safe) ── */

static uint32_t state_crc(const mcubus_boot_state_t *s) {
  return mcubus_crc32c((const uint8_t *)s, offsetof(mcubus_boot_state_t, crc));
}

static bool save_state(mcubus_dev_t *d) {
  d->boot.magic = MAGIC;
  d->boot.generation++;
  d->boot.crc = state_crc(&d->boot);
  uint32_t addr = d->flash.state_addr + (d->boot.generation & 1u) * d->flash.sector_size;
  bool ok = d->port.flash_erase(d->port.ctx, addr, d->flash.sector_size) &&
            d->port.flash_write(d->port.ctx, addr, (const uint8_t *)&d->boot, sizeof d->boot);
  if (!ok) mcubus_count(&d->counters, MCUBUS_E_FLASH);
  return ok;
}

static void load_state(mcubus_dev_t *d) {
  mcubus_boot_state_t s;
  bool found = false;
  for (uint32_t k = 0; k < 2; k++) {
    if (!d->port.flash_read(d->port.ctx, d->flash.state_addr + k * d->flash.sector_size, (uint8_t *)&s, sizeof s))
      continue;
    if (s.magic != MAGIC || s.crc != state_crc(&s)) continue;
    if (!found || s.generation > d->boot.generation) d->boot = s;
    found = true;
  }
  if (!found) {
    memset(&d->boot, 0, sizeof d->boot);
    d->boot.confirmed = d->boot.pending = d->boot.active = NONE;
    d->boot.progress.slot = NONE;
  }
}

static uint32_t image_addr(const mcubus_dev_t *d, uint8_t slot) { return d->flash.slot_addr[slot] + d->flash.sector_size; }

static bool hash_slot(mcubus_dev_t *d, uint8_t slot, uint32_t size, uint8_t out[32]) {
  mcubus_sha256_t s;
  uint8_t buf[256];
  mcubus_sha256_init(&s);
  for (uint32_t off = 0; off < size; off += sizeof buf) {
    uint32_t n = MCUBUS_MIN((uint32_t)sizeof buf, size - off);
    if (!d->port.flash_read(d->port.ctx, image_addr(d, slot) + off, buf, n)) return false;
    mcubus_sha256_update(&s, buf, n);
  }
  mcubus_sha256_final(&s, out);
  return true;
}

/* The bootloader's decision, run at every boot: a pending image gets one test boot; a test image
 * that is booted again without CONFIRM is reverted to the confirmed one. A slot whose bytes no
 * longer hash to its record is never started. */
void mcubus__update_boot(mcubus_dev_t *d) {
  d->running_slot = NONE;
  if (!d->has_flash) return;
  load_state(d);
  mcubus_boot_state_t *b = &d->boot;
  uint8_t run = b->confirmed;
  if (b->pending != NONE) {
    if (!b->tried) {
      b->tried = 1;
      run = b->pending;
    } else {
      b->pending = NONE; /* the test boot ended without CONFIRM: revert */
      b->tried = 0;
    }
  }
  if (run != NONE && run < 2 && b->slot[run].valid) {
    uint8_t h[32];
    if (!hash_slot(d, run, b->slot[run].size, h) || memcmp(h, b->slot[run].sha256, 32) != 0) {
      b->slot[run].valid = 0;
      if (b->pending == run) b->pending = NONE;
      run = b->confirmed != run && b->confirmed < 2 && b->slot[b->confirmed].valid ? b->confirmed : NONE;
    }
  } else {
    run = NONE;
  }
  b->active = run;
  d->running_slot = run;
  save_state(d);
}

void mcubus__update_slots(mcubus_dev_t *d, mcubus_cbor_writer_t *w) {
  size_t n = 0;
  for (uint8_t s = 0; d->has_flash && s < 2; s++) n += d->boot.slot[s].valid;
  mcubus_cbor_put_array(w, n);
  for (uint8_t s = 0; d->has_flash && s < 2; s++) {
    if (!d->boot.slot[s].valid) continue;
    uint8_t flags = 8u | (d->running_slot == s ? 1u : 0u) | (d->boot.confirmed == s ? 2u : 0u) |
                    (d->boot.pending == s ? 4u : 0u);
    mcubus_cbor_put_map(w, 5);
    mcubus_cbor_put_uint(w, 1);
    mcubus_cbor_put_uint(w, s);
    mcubus_cbor_put_uint(w, 2);
    mcubus_cbor_put_array(w, 3);
    for (int i = 0; i < 3; i++) mcubus_cbor_put_uint(w, d->boot.slot[s].version[i]);
    mcubus_cbor_put_uint(w, 3);
    mcubus_cbor_put_uint(w, flags);
    mcubus_cbor_put_uint(w, 4);
    mcubus_cbor_put_uint(w, d->boot.slot[s].size);
    mcubus_cbor_put_uint(w, 5);
    mcubus_cbor_put_bytes(w, d->boot.slot[s].sha256, 32);
  }
}

/* ── manifest (spec 12) ── */

typedef struct {
  uint32_t version[3], security, size;
  const uint8_t *sha256;
} manifest_t;

/* Verifies the signed envelope with the trusted key, then reads the manifest. Returns an ErrorCode. */
static uint16_t check_envelope(mcubus_dev_t *d, const uint8_t *env, size_t n, manifest_t *m) {
  const uint8_t *man, *sig;
  size_t man_len, sig_len;
  if (mcubus_cbor_check(env, n) != MCUBUS_E_OK || !mcubus_cbor_map_bytes(env, n, 1, &man, &man_len))
    return MCUBUS_EC_BAD_REQUEST;
  /* no signature, or not an Ed25519 one: an unsigned image, named as such (not a bad request) */
  if (!mcubus_cbor_map_bytes(env, n, 2, &sig, &sig_len) || sig_len != 64) return MCUBUS_EC_SIGNATURE_INVALID;
  if (!d->port.ed25519_verify) return MCUBUS_EC_NOT_SUPPORTED;
  if (!d->port.ed25519_verify(d->port.ctx, sig, man, man_len, d->id.trusted_key)) return MCUBUS_EC_SIGNATURE_INVALID;
  /* only now is the manifest itself read */
  mcubus_cbor_item_t it;
  mcubus_cbor_reader_t r;
  uint64_t kind = 99, sec = 0, size = 0;
  size_t sha_len = 0;
  if (mcubus_cbor_check(man, man_len) != MCUBUS_E_OK || !mcubus_cbor_map_find(man, man_len, 1, &it, 0) ||
      it.kind != MCUBUS_CBOR_TEXT || !mcubus_cbor_map_uint(man, man_len, 2, &kind) ||
      !mcubus_cbor_map_uint(man, man_len, 4, &sec) || !mcubus_cbor_map_uint(man, man_len, 6, &size) ||
      !mcubus_cbor_map_bytes(man, man_len, 5, &m->sha256, &sha_len) || sha_len != 32)
    return MCUBUS_EC_BAD_REQUEST;
  if (it.u != strlen(d->id.hardware_id) || memcmp(it.ptr, d->id.hardware_id, (size_t)it.u) != 0)
    return MCUBUS_EC_HARDWARE_MISMATCH;
  if (kind != 0) return MCUBUS_EC_NOT_SUPPORTED; /* bootloader images: not in this library */
  mcubus_cbor_item_t v;
  if (!mcubus_cbor_map_find(man, man_len, 3, &it, &r) || it.kind != MCUBUS_CBOR_ARRAY || it.u < 3)
    return MCUBUS_EC_BAD_REQUEST;
  for (int i = 0; i < 3; i++) {
    if (!mcubus_cbor_read(&r, &v) || v.kind != MCUBUS_CBOR_UINT || v.u > 0xFFFFFFFFu) return MCUBUS_EC_BAD_REQUEST;
    m->version[i] = (uint32_t)v.u;
  }
  if (sec > 0xFFFFFFFFu || size > 0xFFFFFFFFu) return MCUBUS_EC_BAD_REQUEST;
  m->security = (uint32_t)sec;
  m->size = (uint32_t)size;
  if (m->security < d->boot.min_security) return MCUBUS_EC_DOWNGRADE_REJECTED;
  return 0;
}

/* ── replies ── */

static uint16_t window_of(const mcubus_dev_t *d, uint16_t chunk) {
  (void)d;
  /* RAM for WINDOW chunks of MAX_CHUNK: smaller chunks get a deeper window (spec 5), bounded by the
   * sack bitmap. */
  uint32_t w = (uint32_t)MCUBUS_UPDATE_WINDOW * MCUBUS_UPDATE_MAX_CHUNK / (chunk ? chunk : 1u);
  return (uint16_t)MCUBUS_MIN(w, (uint32_t)MCUBUS_UPDATE_WINDOW * 8u);
}

static void status(mcubus_dev_t *d, const uint8_t *sha_asked) {
  const mcubus_update_t *u = &d->upd;
  uint8_t body[128];
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  bool session = u->open && (!sha_asked || memcmp(sha_asked, u->sha256, 32) == 0);
  const mcubus_boot_state_t *b = &d->boot;
  bool held = !session && sha_asked && b->progress.slot != NONE && memcmp(b->progress.sha256, sha_asked, 32) == 0;
  size_t n = 5 + (session ? 4 + (u->state == ST_FAILED) : sha_asked ? 3 : 0);
  mcubus_cbor_put_map(&w, n);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, session ? u->id : 0);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, session ? u->state : 0);
  if (session || sha_asked) {
    if (session) {
      mcubus_cbor_put_uint(&w, 3);
      mcubus_cbor_put_uint(&w, 0);
    }
    mcubus_cbor_put_uint(&w, 4);
    mcubus_cbor_put_bytes(&w, session ? u->sha256 : sha_asked, 32);
    mcubus_cbor_put_uint(&w, 5);
    mcubus_cbor_put_uint(&w, session ? u->cumulative : held ? b->progress.received : 0);
    mcubus_cbor_put_uint(&w, 6);
    mcubus_cbor_put_uint(&w, session ? u->size : held ? b->progress.size : 0);
  }
  mcubus_cbor_put_uint(&w, 7);
  mcubus_cbor_put_uint(&w, MCUBUS_UPDATE_MAX_CHUNK);
  mcubus_cbor_put_uint(&w, 8);
  mcubus_cbor_put_uint(&w, session ? window_of(d, u->chunk) : MCUBUS_UPDATE_WINDOW);
  mcubus_cbor_put_uint(&w, 9);
  mcubus_cbor_put_uint(&w, d->flash.write_us);
  if (session && u->state == ST_FAILED) {
    mcubus_cbor_put_uint(&w, 10);
    mcubus_cbor_put_uint(&w, u->error);
  }
  mcubus__reply(d, MCUBUS_T_UPDATE_STATUS, body, w.len);
}

static void ok(mcubus_dev_t *d) {
  uint8_t body = 0xA0;
  mcubus__reply(d, MCUBUS_T_OK, &body, 1);
}

static bool fail(mcubus_dev_t *d, uint16_t code, const char *text) {
  mcubus__reply_error(d, code, text, false, 0);
  return true;
}

static void ack(mcubus_dev_t *d) {
  mcubus_update_t *u = &d->upd;
  uint8_t body[96], sack[sizeof u->stored];
  size_t sack_len = 0;
  for (size_t i = 0; i < sizeof u->stored; i++)
    if (u->stored[i]) sack_len = i + 1;
  memcpy(sack, u->stored, sack_len);
  mcubus_cbor_writer_t w;
  mcubus_cbor_writer_init(&w, body, sizeof body);
  mcubus_cbor_put_map(&w, sack_len ? 4 : 3);
  mcubus_cbor_put_uint(&w, 1);
  mcubus_cbor_put_uint(&w, u->id);
  mcubus_cbor_put_uint(&w, 2);
  mcubus_cbor_put_uint(&w, u->cumulative);
  if (sack_len) {
    mcubus_cbor_put_uint(&w, 3);
    mcubus_cbor_put_bytes(&w, sack, sack_len);
  }
  mcubus_cbor_put_uint(&w, 4);
  mcubus_cbor_put_uint(&w, window_of(d, u->chunk));
  u->since_ack = 0;
  mcubus_dev_send(d, u->ack_dst, MCUBUS_T_UPDATE_ACK, 3, body, w.len);
}

/* ── requests ── */

static uint32_t gcd_u32(uint32_t a, uint32_t b) {
  while (b) {
    uint32_t t = a % b;
    a = b, b = t;
  }
  return a;
}

/* Least common multiple, 0 when it does not fit (then a resume restarts from 0). */
static uint32_t lcm_u32(uint32_t a, uint32_t b) {
  uint32_t g = gcd_u32(a, b);
  if (!g) return 0;
  uint64_t l = (uint64_t)(a / g) * b;
  return l > 0xFFFFFFFFu ? 0 : (uint32_t)l;
}

/* Does the slot header hold exactly this envelope (length prefix and bytes)? */
static bool header_matches(mcubus_dev_t *d, uint8_t slot, const uint8_t *env, size_t env_len) {
  uint8_t buf[64];
  uint32_t at = d->flash.slot_addr[slot];
  if (!d->port.flash_read(d->port.ctx, at, buf, 2) || (size_t)(buf[0] | buf[1] << 8) != env_len) return false;
  for (size_t off = 0; off < env_len; off += sizeof buf) {
    size_t n = MCUBUS_MIN(sizeof buf, env_len - off);
    if (!d->port.flash_read(d->port.ctx, at + 2 + (uint32_t)off, buf, (uint32_t)n) || memcmp(buf, env + off, n) != 0)
      return false;
  }
  return true;
}

static bool begin(mcubus_dev_t *d, const mcubus_frame_t *f) {
  mcubus_update_t *u = &d->upd;
  uint64_t session = 0, kind = 0, size = 0, chunk = 0;
  const uint8_t *sha, *env = 0;
  size_t sha_len, env_len = 0;
  mcubus_cbor_map_uint(f->body, f->body_len, 1, &session);
  mcubus_cbor_map_uint(f->body, f->body_len, 2, &kind);
  mcubus_cbor_map_uint(f->body, f->body_len, 3, &size);
  mcubus_cbor_map_uint(f->body, f->body_len, 5, &chunk);
  mcubus_cbor_map_bytes(f->body, f->body_len, 4, &sha, &sha_len);
  bool has_env = mcubus_cbor_map_bytes(f->body, f->body_len, 6, &env, &env_len);
  if (kind != 0) return fail(d, MCUBUS_EC_NOT_SUPPORTED, "only application images");
  if (chunk == 0 || chunk > MCUBUS_UPDATE_MAX_CHUNK) {
    mcubus__reply_error(d, MCUBUS_EC_TOO_LARGE, "chunkSize above maxChunk", true, MCUBUS_UPDATE_MAX_CHUNK);
    return true;
  }
  if (size == 0) return fail(d, MCUBUS_EC_BAD_REQUEST, "empty image");
  if (!has_env) return fail(d, MCUBUS_EC_BAD_REQUEST, "a signed manifest is required");
  if (env_len > d->flash.sector_size - 2u) return fail(d, MCUBUS_EC_TOO_LARGE, "manifest larger than the slot header");
  if (size > d->flash.slot_size - d->flash.sector_size) {
    mcubus__reply_error(d, MCUBUS_EC_NO_SPACE, "image larger than the slot", true,
                        (int64_t)(d->flash.slot_size - d->flash.sector_size));
    return true;
  }
  if (u->open && u->state != ST_FAILED && u->size == size && u->chunk == chunk && memcmp(u->sha256, sha, 32) == 0) {
    u->id = (uint16_t)session; /* the same image again (a retransmitted BEGIN, a new session id) */
    u->ack_dst = f->src;
    status(d, 0);
    return true;
  }
  manifest_t m;
  uint16_t code = check_envelope(d, env, env_len, &m);
  if (code) return fail(d, code, "manifest refused");
  if (m.size != size || memcmp(m.sha256, sha, 32) != 0) return fail(d, MCUBUS_EC_HASH_MISMATCH, "manifest describes another image");
  mcubus_boot_state_t *b = &d->boot;
  /* A test image runs (pending, not confirmed): the other slot holds the confirmed image the bootloader
   * falls back to. Writing there would leave nothing to revert to; the host confirms first (or lets the
   * test boot end). */
  if (d->running_slot != NONE && b->pending == d->running_slot && b->confirmed != d->running_slot)
    return fail(d, MCUBUS_EC_BAD_STATE, "a test image runs: UPDATE_CONFIRM it first");
  uint8_t slot = d->running_slot == 0 ? 1 : 0;
  if (slot == b->confirmed && b->slot[slot].valid) /* never the fallback image, whatever runs */
    return fail(d, MCUBUS_EC_BAD_STATE, "the free slot holds the confirmed image");
  memset(u, 0, sizeof *u);
  u->open = true;
  u->id = (uint16_t)session;
  u->chunk = (uint16_t)chunk;
  u->size = (uint32_t)size;
  u->slot = slot;
  u->ack_dst = f->src;
  u->security = m.security;
  memcpy(u->version, m.version, sizeof u->version);
  memcpy(u->sha256, sha, 32);
  u->envelope_len = (uint16_t)env_len;
  const uint32_t sector = d->flash.sector_size;
  const uint32_t image_end = ((uint32_t)size + sector - 1) / sector * sector; /* erase extent in the slot */
  /* Resume only the same image with the same envelope in the slot header (what VERIFY re-checks). */
  bool resume = b->progress.slot == slot && b->progress.size == size && b->progress.chunk == chunk &&
                memcmp(b->progress.sha256, sha, 32) == 0 && header_matches(d, slot, env, env_len);
  if (resume && b->progress.received < size) {
    /* Bytes past the persisted point may have been programmed before the reset (the window, or chunks
     * not yet persisted): flash that cannot program a byte twice needs them erased again. Restart at a
     * point that is both a chunk and a sector boundary, and erase from there to the end of the image. */
    uint32_t step = lcm_u32(sector, (uint32_t)chunk);
    uint32_t from = step ? b->progress.received / step * step : 0;
    if (from != b->progress.received) {
      b->progress.received = from; /* persisted before the erase: a power cut repeats the same erase */
      if (!save_state(d)) {
        u->open = false;
        return fail(d, MCUBUS_EC_FLASH_ERROR, "boot state write failed");
      }
    }
    if (!d->port.flash_erase(d->port.ctx, image_addr(d, slot) + from, image_end - from)) {
      mcubus_count(&d->counters, MCUBUS_E_FLASH);
      u->open = false;
      return fail(d, MCUBUS_EC_FLASH_ERROR, "erase failed");
    }
  }
  if (resume) {
    u->cumulative = b->progress.received;
  } else {
    /* A new image: the slot is no longer what its record says. The boot state says so first (slot
     * invalid, the new transfer at 0), then the slot is erased: a power cut in between leaves a record
     * that matches the flash (nothing valid, a transfer at 0 whose header is checked on resume). */
    if (b->pending == slot) b->pending = NONE;
    b->slot[slot].valid = 0;
    b->progress.slot = slot;
    b->progress.kind = 0;
    b->progress.size = (uint32_t)size;
    b->progress.chunk = (uint32_t)chunk;
    b->progress.received = 0;
    memcpy(b->progress.sha256, sha, 32);
    if (!save_state(d)) {
      u->open = false;
      return fail(d, MCUBUS_EC_FLASH_ERROR, "boot state write failed");
    }
    uint8_t hdr[2] = {(uint8_t)env_len, (uint8_t)(env_len >> 8)};
    if (!d->port.flash_erase(d->port.ctx, d->flash.slot_addr[slot], sector + image_end) ||
        !d->port.flash_write(d->port.ctx, d->flash.slot_addr[slot], hdr, 2) ||
        !d->port.flash_write(d->port.ctx, d->flash.slot_addr[slot] + 2, env, (uint32_t)env_len)) {
      mcubus_count(&d->counters, MCUBUS_E_FLASH);
      u->open = false;
      return fail(d, MCUBUS_EC_FLASH_ERROR, "erase failed");
    }
  }
  u->state = u->cumulative >= u->size ? ST_RECEIVED : ST_RECEIVING;
  status(d, 0);
  return true;
}

static bool stored_bit(const mcubus_update_t *u, uint32_t i) { return (u->stored[i >> 3] >> (i & 7u)) & 1u; }

static bool chunk(mcubus_dev_t *d, const mcubus_frame_t *f) {
  mcubus_update_t *u = &d->upd;
  uint64_t session = 0, offset = 0;
  const uint8_t *data;
  size_t len;
  mcubus_cbor_map_uint(f->body, f->body_len, 1, &session);
  mcubus_cbor_map_uint(f->body, f->body_len, 2, &offset);
  mcubus_cbor_map_bytes(f->body, f->body_len, 3, &data, &len);
  if (!u->open) {
    mcubus_count(&d->counters, MCUBUS_E_CHUNK_NO_SESSION);
    return true;
  }
  if (session != u->id) {
    mcubus_count(&d->counters, MCUBUS_E_CHUNK_OTHER_SESSION);
    return true;
  }
  u->ack_dst = f->src;
  if (u->state == ST_FAILED) return fail(d, u->error, "the session failed: UPDATE_BEGIN resumes it");
  if (offset % u->chunk != 0 || offset >= u->size) {
    mcubus__reply_error(d, MCUBUS_EC_BAD_OFFSET, "not a chunk of this image", true, u->cumulative);
    return true;
  }
  uint32_t expected = MCUBUS_MIN((uint32_t)u->chunk, u->size - (uint32_t)offset);
  if (len != expected) {
    mcubus__reply_error(d, MCUBUS_EC_BAD_REQUEST, "chunk length", true, expected);
    return true;
  }
  /* cumulative is a multiple of chunk, or the size once everything arrived: rounding up makes the last
   * (short) chunk a duplicate once it is in, instead of chunk `base` again. */
  uint32_t base = (uint32_t)(((uint64_t)u->cumulative + u->chunk - 1u) / u->chunk);
  uint32_t index = (uint32_t)(offset / u->chunk);
  if (index >= base && index - base >= window_of(d, u->chunk)) { /* before any look at the bitmap */
    mcubus_count(&d->counters, MCUBUS_E_CHUNK_BEYOND_WINDOW);
    ack(d);
    return true;
  }
  if (u->state != ST_RECEIVING || index < base || (index > base && stored_bit(u, index - base - 1))) {
    mcubus_count(&d->counters, MCUBUS_E_CHUNK_DUPLICATE);
    ack(d); /* the host resent it because an ack went missing */
    return true;
  }
  if (!d->port.flash_write(d->port.ctx, image_addr(d, u->slot) + (uint32_t)offset, data, (uint32_t)len)) {
    mcubus_count(&d->counters, MCUBUS_E_FLASH);
    u->state = ST_FAILED;
    u->error = MCUBUS_EC_FLASH_ERROR;
    return fail(d, MCUBUS_EC_FLASH_ERROR, "flash write failed");
  }
  u->since_ack++;
  bool advanced = false;
  if (index == base) {
    /* advance over this chunk and every stored one after it, shifting the sack bitmap */
    uint32_t steps = 1;
    while (steps - 1 < sizeof u->stored * 8 && stored_bit(u, steps - 1)) steps++;
    for (uint32_t s = 0; s < steps; s++) {
      for (size_t i = 0; i < sizeof u->stored; i++)
        u->stored[i] = (uint8_t)((u->stored[i] >> 1) | (i + 1 < sizeof u->stored ? u->stored[i + 1] << 7 : 0));
    }
    /* the first shift dropped bit 0 (chunk base+1) only if it was counted in steps */
    u->cumulative = MCUBUS_MIN((base + steps) * (uint32_t)u->chunk, u->size);
    advanced = true;
  } else {
    uint32_t bit = index - base - 1;
    u->stored[bit >> 3] |= (uint8_t)(1u << (bit & 7u));
  }
  bool gap = false;
  for (size_t i = 0; i < sizeof u->stored; i++) gap = gap || u->stored[i];
  if (u->cumulative >= u->size) u->state = ST_RECEIVED;
  if (gap && !u->gap_reported) { /* a chunk beyond a hole: the host learns of the loss now */
    u->gap_reported = true;
    ack(d);
  } else if (advanced) {
    if (!gap) u->gap_reported = false;
    ack(d);
  } else if (u->since_ack >= MCUBUS_MAX(1, window_of(d, u->chunk) / 2)) {
    ack(d);
  }
  if (advanced) {
    /* persist the resume point at sector boundaries and at the end (each write costs an erase) */
    uint32_t prev = d->boot.progress.received;
    if (u->cumulative >= u->size || u->cumulative / d->flash.sector_size != prev / d->flash.sector_size) {
      d->boot.progress.received = u->cumulative;
      save_state(d);
    }
  }
  return true;
}

static bool verify(mcubus_dev_t *d, uint64_t session) {
  mcubus_update_t *u = &d->upd;
  if (!u->open || session != u->id) return fail(d, MCUBUS_EC_BAD_SESSION, "no such session");
  if (u->state == ST_RECEIVING) {
    mcubus__reply_error(d, MCUBUS_EC_BAD_STATE, "image incomplete", true, u->cumulative);
    return true;
  }
  if (u->state == ST_RECEIVED) {
    uint8_t h[32];
    static uint8_t env[1024];
    uint16_t code = 0;
    manifest_t m;
    if (!hash_slot(d, u->slot, u->size, h)) {
      code = MCUBUS_EC_FLASH_ERROR;
    } else if (memcmp(h, u->sha256, 32) != 0) {
      code = MCUBUS_EC_HASH_MISMATCH;
      /* bad bytes somewhere: no resume point, so the next BEGIN erases the slot and starts at 0 */
      d->boot.progress.slot = NONE;
      d->boot.progress.received = 0;
      save_state(d);
    } else if (u->envelope_len > sizeof env || !d->port.flash_read(d->port.ctx, d->flash.slot_addr[u->slot], env, 2)) {
      code = MCUBUS_EC_FLASH_ERROR;
    } else if ((size_t)(env[0] | env[1] << 8) != u->envelope_len ||
               !d->port.flash_read(d->port.ctx, d->flash.slot_addr[u->slot] + 2, env, u->envelope_len)) {
      code = MCUBUS_EC_FLASH_ERROR; /* the header is not the envelope this session was opened with */
    } else {
      /* the last gate before the slot is marked bootable: the signature again, from flash, and the
       * manifest must describe the image that was received */
      code = check_envelope(d, env, u->envelope_len, &m);
      if (!code && (m.size != u->size || memcmp(m.sha256, u->sha256, 32) != 0)) code = MCUBUS_EC_HASH_MISMATCH;
      if (!code) {
        u->security = m.security;
        memcpy(u->version, m.version, sizeof u->version);
      }
    }
    u->state = code ? ST_FAILED : ST_VERIFIED;
    u->error = (uint8_t)code;
  }
  status(d, 0);
  return true;
}

static bool activate(mcubus_dev_t *d, uint64_t session, bool permanent) {
  mcubus_update_t *u = &d->upd;
  if (!u->open || session != u->id) return fail(d, MCUBUS_EC_BAD_SESSION, "no such session");
  if (u->state == ST_ACTIVATED) {
    ok(d);
    return true;
  }
  if (u->state != ST_VERIFIED) return fail(d, MCUBUS_EC_BAD_STATE, "not verified");
  mcubus_boot_state_t *b = &d->boot;
  b->slot[u->slot].valid = 1;
  memcpy(b->slot[u->slot].version, u->version, sizeof u->version);
  b->slot[u->slot].size = u->size;
  b->slot[u->slot].security = u->security;
  memcpy(b->slot[u->slot].sha256, u->sha256, 32);
  b->progress.slot = NONE;
  if (permanent) {
    b->confirmed = u->slot;
    b->pending = NONE;
    if (u->security > b->min_security) b->min_security = u->security;
  } else {
    b->pending = u->slot;
    b->tried = 0;
  }
  if (!save_state(d)) return fail(d, MCUBUS_EC_FLASH_ERROR, "boot state write failed");
  u->state = ST_ACTIVATED;
  ok(d);
  /* reset into the new image once the OK has left */
  d->reset_pending = true;
  d->reset_at = d->port.now_us(d->port.ctx) + 20000u;
  return true;
}

static bool confirm(mcubus_dev_t *d, const mcubus_frame_t *f) {
  uint64_t slot = d->running_slot;
  mcubus_cbor_map_uint(f->body, f->body_len, 1, &slot);
  if (d->running_slot == NONE || slot != d->running_slot) return fail(d, MCUBUS_EC_BAD_STATE, "only the running image");
  mcubus_boot_state_t *b = &d->boot;
  if (b->confirmed == slot && b->pending != slot) {
    ok(d);
    return true;
  }
  b->confirmed = (uint8_t)slot;
  b->pending = NONE;
  b->tried = 0;
  if (b->slot[slot].security > b->min_security) b->min_security = b->slot[slot].security;
  if (!save_state(d)) return fail(d, MCUBUS_EC_FLASH_ERROR, "boot state write failed");
  ok(d);
  return true;
}

bool mcubus__update_handle(mcubus_dev_t *d, const mcubus_frame_t *f) {
  if (f->type < MCUBUS_T_UPDATE_BEGIN || f->type > MCUBUS_T_UPDATE_STATUS_REQ || f->type == MCUBUS_T_UPDATE_ACK)
    return false;
  if (!d->has_flash) return fail(d, MCUBUS_EC_NOT_SUPPORTED, "no update support");
  uint64_t session = 0;
  bool permanent = false;
  mcubus_cbor_map_uint(f->body, f->body_len, 1, &session);
  switch (f->type) {
  case MCUBUS_T_UPDATE_BEGIN:
    return begin(d, f);
  case MCUBUS_T_UPDATE_CHUNK:
    return chunk(d, f);
  case MCUBUS_T_UPDATE_VERIFY:
    return verify(d, session);
  case MCUBUS_T_UPDATE_ACTIVATE:
    mcubus_cbor_map_bool(f->body, f->body_len, 2, &permanent);
    return activate(d, session, permanent);
  case MCUBUS_T_UPDATE_CONFIRM:
    return confirm(d, f);
  case MCUBUS_T_UPDATE_ABORT:
    if (!d->upd.open || session != d->upd.id) return fail(d, MCUBUS_EC_BAD_SESSION, "no such session");
    if (d->upd.state == ST_ACTIVATED) return fail(d, MCUBUS_EC_BAD_STATE, "already activated");
    d->upd.open = false; /* stored bytes and the resume point stay for a later BEGIN */
    ok(d);
    return true;
  default: { /* STATUS_REQ */
    const uint8_t *sha = 0;
    size_t n = 0;
    mcubus_cbor_map_bytes(f->body, f->body_len, 1, &sha, &n);
    status(d, n == 32 ? sha : 0);
    return true;
  }
  }
}
