/* The wire codecs: CRC-32C, SHA-256, COBS and its stream decoder, the frame, the CBOR subset, and the
 * message schemas (docs/protocol.md sections 2, 3, 4, 6). Pure functions and caller-owned structs. */
#ifndef MCUBUS_CODEC_H
#define MCUBUS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "errors.h"

/* ── CRC-32C (Castagnoli) ─────────────────────────────────────────────────────────────────────── */
#define MCUBUS_CRC32C_INIT 0xFFFFFFFFu
uint32_t mcubus_crc32c_update(uint32_t reg, const uint8_t *p, size_t n);
uint32_t mcubus_crc32c(const uint8_t *p, size_t n);

/* ── SHA-256 (image hashes) ───────────────────────────────────────────────────────────────────── */
typedef struct {
  uint32_t h[8];
  uint64_t bytes;
  uint8_t block[64];
  uint8_t fill;
} mcubus_sha256_t;
void mcubus_sha256_init(mcubus_sha256_t *s);
void mcubus_sha256_update(mcubus_sha256_t *s, const uint8_t *p, size_t n);
void mcubus_sha256_final(mcubus_sha256_t *s, uint8_t out[32]);

/* ── Frame (spec 2) ───────────────────────────────────────────────────────────────────────────── */
#define MCUBUS_HEADER_SIZE 8u
#define MCUBUS_CRC_SIZE 4u
#define MCUBUS_MIN_FRAME 13u
#define MCUBUS_FRAME_LIMIT 4096u
#define MCUBUS_ADDR_HOST 0x00u
#define MCUBUS_ADDR_BROADCAST 0xFFu
#define MCUBUS_FLAG_RESPONSE 0x01u
#define MCUBUS_FLAG_RETRANSMIT 0x02u
#define MCUBUS_DEFAULT_TTL 8u

typedef struct {
  uint8_t version, flags, dst, src, ttl, type;
  uint16_t seq;
  const uint8_t *body; /* points into the decoded buffer */
  size_t body_len;
} mcubus_frame_t;

static inline unsigned mcubus_frame_priority(const mcubus_frame_t *f) { return (f->flags >> 2) & 3u; }

/* CRC of bytes [0, body_end) with the TTL byte taken as 0 (spec 2: survives gateways). */
uint32_t mcubus_frame_crc(const uint8_t *frame, size_t body_end);
/* Length, version and CRC checks in the spec's order; fills `out` (body still raw CBOR). */
mcubus_err_t mcubus_frame_decode(const uint8_t *buf, size_t len, size_t max_len, mcubus_frame_t *out);
/* Header checks plus the body: one well-formed CBOR item that matches the type's schema.
 * An unknown type returns MCUBUS_E_UNKNOWN_TYPE (surfaced, not an error of the frame). */
mcubus_err_t mcubus_frame_decode_full(const uint8_t *buf, size_t len, size_t max_len, mcubus_frame_t *out);
/* Writes the 8-byte header into buf (the body follows at buf + 8); priority 0-3. */
void mcubus_frame_header(uint8_t *buf, uint8_t flags, uint8_t dst, uint8_t src, uint8_t type, uint16_t seq);
/* Appends the CRC after a body of body_len bytes at buf + 8; returns the frame length or 0 when it
 * does not fit in cap. */
size_t mcubus_frame_seal(uint8_t *buf, size_t cap, size_t body_len);
/* Sets RETRANSMIT and recomputes the CRC: how a cached answer is sent again (spec 5). */
void mcubus_frame_mark_retransmit(uint8_t *frame, size_t len);
/* The CRC a request had when first sent (RETRANSMIT taken as clear): the answer cache's key. */
uint32_t mcubus_frame_original_crc(const uint8_t *frame, size_t len);
/* Finds and undoes one flipped bit of a frame whose CRC fails (spec 6). Returns true and fixes the
 * frame when exactly one bit explains the syndrome; *byte_at / *bit_at say where (may be NULL). */
bool mcubus_frame_repair_bit(uint8_t *frame, size_t len, size_t *byte_at, unsigned *bit_at);

/* ── COBS (spec 6) ────────────────────────────────────────────────────────────────────────────── */
#define MCUBUS_COBS_MAX(n) ((n) + (n) / 254u + 1u)
/* Encodes into out (capacity cap); returns the encoded length or 0 when it does not fit. */
size_t mcubus_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
/* Decodes in place or into out (out may equal in); *out_len gets the decoded length. */
mcubus_err_t mcubus_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len);

/* A UART receiver: bytes in (any chunking), frames or typed errors out, one at a time. */
typedef struct {
  size_t max_frame; /* the receiver's frame limit (<= MCUBUS_MAX_FRAME) */
  size_t len;
  bool discarding; /* after an oversize piece: drop up to the next delimiter */
  bool repair;     /* single-bit repair on (spec 6 SHOULD) */
  mcubus_counters_t *counters;
  uint8_t buf[MCUBUS_COBS_MAX(MCUBUS_MAX_FRAME)];
} mcubus_cobs_stream_t;

typedef enum { MCUBUS_PIECE_NONE, MCUBUS_PIECE_FRAME, MCUBUS_PIECE_ERROR } mcubus_piece_kind_t;
typedef struct {
  mcubus_piece_kind_t kind;
  mcubus_err_t error;   /* for MCUBUS_PIECE_ERROR */
  const uint8_t *frame; /* for MCUBUS_PIECE_FRAME: valid until the next push */
  size_t len;
  size_t start;   /* index in the pushed chunk of the first byte of this piece (may be 0 when it began
                   * in an earlier chunk; then started_earlier is true) */
  bool started_earlier;
  bool repaired; /* one flipped bit was undone */
} mcubus_piece_t;

void mcubus_cobs_stream_init(mcubus_cobs_stream_t *s, size_t max_frame, mcubus_counters_t *counters);
/* Consumes bytes from data[*pos] up to the end of the first finished piece; returns it (kind NONE
 * when every byte was consumed without finishing one). Call again while *pos < n. */
mcubus_piece_t mcubus_cobs_stream_push(mcubus_cobs_stream_t *s, const uint8_t *data, size_t n, size_t *pos);

/* ── CBOR subset (spec 3) ─────────────────────────────────────────────────────────────────────── */
typedef enum {
  MCUBUS_CBOR_UINT,
  MCUBUS_CBOR_NINT, /* value = -1 - u */
  MCUBUS_CBOR_BYTES,
  MCUBUS_CBOR_TEXT,
  MCUBUS_CBOR_ARRAY,
  MCUBUS_CBOR_MAP,
  MCUBUS_CBOR_FALSE,
  MCUBUS_CBOR_TRUE,
  MCUBUS_CBOR_NULL,
  MCUBUS_CBOR_FLOAT
} mcubus_cbor_kind_t;

typedef struct {
  mcubus_cbor_kind_t kind;
  uint64_t u;         /* integer magnitude (NINT: -1 - u), string length, or container count */
  const uint8_t *ptr; /* string bytes */
  double f;           /* FLOAT */
} mcubus_cbor_item_t;

typedef struct {
  const uint8_t *p, *end;
} mcubus_cbor_reader_t;

/* Exactly one well-formed item of the subset, nothing after it (bad_cbor otherwise). */
mcubus_err_t mcubus_cbor_check(const uint8_t *p, size_t n);
/* Reads one head (containers: only the head). Assumes mcubus_cbor_check passed. */
bool mcubus_cbor_read(mcubus_cbor_reader_t *r, mcubus_cbor_item_t *it);
/* Skips one whole item (a container with everything in it). */
bool mcubus_cbor_skip(mcubus_cbor_reader_t *r);
/* Finds integer key `key` in the map that body holds; it->... gets its value head; the reader is
 * left after that head (so arrays/maps can be walked). */
bool mcubus_cbor_map_find(const uint8_t *body, size_t n, uint64_t key, mcubus_cbor_item_t *it,
                          mcubus_cbor_reader_t *after);
bool mcubus_cbor_map_uint(const uint8_t *body, size_t n, uint64_t key, uint64_t *v);
bool mcubus_cbor_map_bytes(const uint8_t *body, size_t n, uint64_t key, const uint8_t **p, size_t *len);
bool mcubus_cbor_map_bool(const uint8_t *body, size_t n, uint64_t key, bool *v);

/* Deterministic encoder (shortest heads). Overflow sticks: check w.overflow once at the end. */
typedef struct {
  uint8_t *buf;
  size_t cap, len;
  bool overflow;
} mcubus_cbor_writer_t;
void mcubus_cbor_writer_init(mcubus_cbor_writer_t *w, uint8_t *buf, size_t cap);
void mcubus_cbor_put_head(mcubus_cbor_writer_t *w, unsigned major, uint64_t v);
void mcubus_cbor_put_uint(mcubus_cbor_writer_t *w, uint64_t v);
void mcubus_cbor_put_int(mcubus_cbor_writer_t *w, int64_t v);
void mcubus_cbor_put_bytes(mcubus_cbor_writer_t *w, const uint8_t *p, size_t n);
void mcubus_cbor_put_text(mcubus_cbor_writer_t *w, const char *s, size_t n);
void mcubus_cbor_put_cstr(mcubus_cbor_writer_t *w, const char *s);
void mcubus_cbor_put_array(mcubus_cbor_writer_t *w, size_t n);
void mcubus_cbor_put_map(mcubus_cbor_writer_t *w, size_t n);
void mcubus_cbor_put_bool(mcubus_cbor_writer_t *w, bool v);
void mcubus_cbor_put_null(mcubus_cbor_writer_t *w);
/* Integral values become integers, others float64 (spec 3 encoding rules). */
void mcubus_cbor_put_double(mcubus_cbor_writer_t *w, double v);

/* ── Message schemas (spec 4) ─────────────────────────────────────────────────────────────────── */
enum {
  MCUBUS_T_HELLO = 0x01,
  MCUBUS_T_IDENTIFY = 0x02,
  MCUBUS_T_HEARTBEAT = 0x03,
  MCUBUS_T_PING = 0x04,
  MCUBUS_T_PONG = 0x05,
  MCUBUS_T_TIME_SYNC_REQ = 0x08,
  MCUBUS_T_TIME_SYNC_RESP = 0x09,
  MCUBUS_T_TIME_SYNC_FOLLOWUP = 0x0A,
  MCUBUS_T_TIME_MAP = 0x0B,
  MCUBUS_T_UPDATE_BEGIN = 0x10,
  MCUBUS_T_UPDATE_CHUNK = 0x11,
  MCUBUS_T_UPDATE_ACK = 0x12,
  MCUBUS_T_UPDATE_VERIFY = 0x13,
  MCUBUS_T_UPDATE_ACTIVATE = 0x14,
  MCUBUS_T_UPDATE_CONFIRM = 0x15,
  MCUBUS_T_UPDATE_ABORT = 0x16,
  MCUBUS_T_UPDATE_STATUS_REQ = 0x17,
  MCUBUS_T_UPDATE_STATUS = 0x18,
  MCUBUS_T_RESET = 0x20,
  MCUBUS_T_LOG = 0x30,
  MCUBUS_T_TELEMETRY = 0x31,
  MCUBUS_T_TOPOLOGY_REQ = 0x40,
  MCUBUS_T_TOPOLOGY = 0x41,
  MCUBUS_T_TRACE_REQ = 0x42,
  MCUBUS_T_TRACE_RECORDS = 0x43,
  MCUBUS_T_OK = 0x7E,
  MCUBUS_T_ERROR = 0x7F
};

/* ErrorCode (spec 4.2) carried in ERROR key 1. */
enum {
  MCUBUS_EC_UNKNOWN_TYPE = 1,
  MCUBUS_EC_BAD_REQUEST = 2,
  MCUBUS_EC_UNSUPPORTED_VERSION = 3,
  MCUBUS_EC_BUSY = 4,
  MCUBUS_EC_NO_ROUTE = 5,
  MCUBUS_EC_TTL_EXPIRED = 6,
  MCUBUS_EC_TIMEOUT = 7,
  MCUBUS_EC_TOO_LARGE = 8,
  MCUBUS_EC_BAD_STATE = 9,
  MCUBUS_EC_BAD_SESSION = 10,
  MCUBUS_EC_BAD_OFFSET = 11,
  MCUBUS_EC_HASH_MISMATCH = 12,
  MCUBUS_EC_SIGNATURE_INVALID = 13,
  MCUBUS_EC_HARDWARE_MISMATCH = 14,
  MCUBUS_EC_DOWNGRADE_REJECTED = 15,
  MCUBUS_EC_FLASH_ERROR = 16,
  MCUBUS_EC_NO_SPACE = 17,
  MCUBUS_EC_NOT_SUPPORTED = 18,
  MCUBUS_EC_INTERNAL = 19,
  MCUBUS_EC_ABORTED = 20
};

/* Called for every key a schema does not define (spec 4: reported and skipped). `path` is the
 * message name, or "message.field" for nested maps. */
typedef void (*mcubus_unknown_key_fn)(void *ctx, const char *path, uint64_t key);

/* Checks a body against the schema of `type`: OK, BAD_CBOR, SCHEMA, or UNKNOWN_TYPE. */
mcubus_err_t mcubus_schema_check(uint8_t type, const uint8_t *body, size_t n, mcubus_unknown_key_fn unknown,
                                 void *ctx);
/* Message name ("update_ack") for a type code, or NULL when unknown. */
const char *mcubus_message_name(uint8_t type);
/* Field name of `key` in the message (top level), or NULL. */
const char *mcubus_field_name(uint8_t type, uint64_t key);
/* True for request types (they have an "answered by" entry). */
bool mcubus_is_request(uint8_t type);

#endif
