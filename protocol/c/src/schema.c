/* Message schemas (spec 4.1), as tables: each body is a map of small integer keys; a required key
 * missing or a value of the wrong type or range is `schema`, an unknown key is reported and skipped. */
#include "mcubus/codec.h"

#include "internal.h"

#define SAFE 9007199254740991ull /* 2^53 - 1: what every peer (JS, Python, C) holds exactly */

typedef enum { K_UINT, K_INT, K_NUMBER, K_BYTES, K_TEXT, K_BOOL, K_ARRAY, K_STRUCT, K_UINTMAP, K_ANY } kind_t;

typedef struct shape shape_t;
typedef struct field field_t;
typedef struct {
  const char *name;
  uint8_t n;
  const field_t *fields;
} struct_t;

struct shape {
  kind_t kind;
  uint64_t max;        /* uint max, text/bytes max length, array/map max entries */
  uint16_t min;        /* bytes/array min */
  const shape_t *item; /* array item, map value */
  const struct_t *st;  /* K_STRUCT */
};

struct field {
  uint8_t key;
  uint8_t required;
#if MCUBUS_SCHEMA_NAMES
  const char *name;
#define FIELD(k, req, name, shape) {k, req, name, shape}
#else
#define FIELD(k, req, name, shape) {k, req, shape}
#endif
  const shape_t *shape;
};

/* ── shapes ── */
static const shape_t u8 = {K_UINT, 0xFF, 0, 0, 0}, u16 = {K_UINT, 0xFFFF, 0, 0, 0},
                     u32 = {K_UINT, 0xFFFFFFFFu, 0, 0, 0}, u64 = {K_UINT, SAFE, 0, 0, 0},
                     i64 = {K_INT, SAFE, 0, 0, 0}, number = {K_NUMBER, 0, 0, 0, 0},
                     boolean = {K_BOOL, 0, 0, 0, 0}, any = {K_ANY, 0, 0, 0, 0};
static const shape_t bytes32 = {K_BYTES, 32, 32, 0, 0}, bytes_le32 = {K_BYTES, 32, 0, 0, 0},
                     bytes_le64 = {K_BYTES, 64, 0, 0, 0}, bytes_le1024 = {K_BYTES, 1024, 0, 0, 0},
                     bytes_le4096 = {K_BYTES, 4096, 0, 0, 0};
static const shape_t text16 = {K_TEXT, 16, 0, 0, 0}, text32 = {K_TEXT, 32, 0, 0, 0},
                     text64 = {K_TEXT, 64, 0, 0, 0}, text128 = {K_TEXT, 128, 0, 0, 0},
                     text256 = {K_TEXT, 256, 0, 0, 0}, text512 = {K_TEXT, 512, 0, 0, 0};
static const shape_t version = {K_ARRAY, 4, 3, &u32, 0};
static const shape_t versions = {K_ARRAY, 8, 1, &u8, 0};
static const shape_t counters = {K_UINTMAP, 64, 0, &u64, 0};
static const shape_t ports = {K_ARRAY, 8, 0, &text16, 0};

/* ── nested structs ── */
static const field_t slot_f[] = {FIELD(1, 1, "index", &u8), FIELD(2, 1, "version", &version),
                                 FIELD(3, 1, "flags", &u8), FIELD(4, 0, "size", &u32),
                                 FIELD(5, 0, "sha256", &bytes32)};
static const struct_t slot_s = {"slot", 5, slot_f};
static const shape_t slot = {K_STRUCT, 0, 0, 0, &slot_s}, slots = {K_ARRAY, 4, 0, &slot, 0};

static const field_t clock_f[] = {FIELD(1, 1, "counterBits", &u8), FIELD(2, 1, "resolutionNs", &u32)};
static const struct_t clock_s = {"clock", 2, clock_f};
static const shape_t clock_shape = {K_STRUCT, 0, 0, 0, &clock_s};

static const field_t sample_f[] = {FIELD(1, 1, "channel", &u16), FIELD(2, 1, "deviceTime", &u64),
                                   FIELD(3, 1, "value", &number)};
static const struct_t sample_s = {"sample", 3, sample_f};
static const shape_t sample = {K_STRUCT, 0, 0, 0, &sample_s}, samples = {K_ARRAY, 64, 0, &sample, 0};

static const field_t route_f[] = {FIELD(1, 1, "node", &u8), FIELD(2, 1, "port", &u8),
                                  FIELD(3, 1, "hops", &u8), FIELD(4, 1, "state", &u8),
                                  FIELD(5, 0, "lastSeenMs", &u32)};
static const struct_t route_s = {"route", 5, route_f};
static const shape_t route = {K_STRUCT, 0, 0, 0, &route_s}, routes = {K_ARRAY, 64, 0, &route, 0};

static const field_t tkey_f[] = {FIELD(1, 1, "src", &u8), FIELD(2, 1, "dst", &u8), FIELD(3, 1, "seq", &u16)};
static const struct_t tkey_s = {"trace_key", 3, tkey_f};
static const shape_t tkey = {K_STRUCT, 0, 0, 0, &tkey_s}, tkeys = {K_ARRAY, 32, 0, &tkey, 0};

static const field_t frec_f[] = {
    FIELD(1, 1, "index", &u32), FIELD(2, 1, "at", &u64),     FIELD(3, 1, "src", &u8),
    FIELD(4, 1, "dst", &u8),    FIELD(5, 1, "seq", &u16),    FIELD(6, 1, "type", &u8),
    FIELD(7, 1, "flags", &u8),  FIELD(8, 1, "inPort", &u8),  FIELD(9, 0, "outPort", &u8),
    FIELD(10, 1, "outcome", &u8), FIELD(11, 0, "wireAt", &u64)};
static const struct_t frec_s = {"forward_record", 11, frec_f};
static const shape_t frec = {K_STRUCT, 0, 0, 0, &frec_s}, frecs = {K_ARRAY, 64, 0, &frec, 0};

/* ── messages ── */
static const field_t hello_f[] = {
    FIELD(1, 1, "uid", &bytes_le32),         FIELD(2, 1, "hardwareId", &text64),
    FIELD(3, 1, "hardwareRev", &u16),        FIELD(4, 1, "firmwareVersion", &version),
    FIELD(5, 1, "bootloaderVersion", &version), FIELD(6, 1, "slots", &slots),
    FIELD(7, 1, "capabilities", &u32),       FIELD(8, 1, "maxFrame", &u16),
    FIELD(9, 1, "mode", &u8),                FIELD(10, 1, "protocolVersions", &versions),
    FIELD(11, 0, "name", &text64),           FIELD(12, 0, "clock", &clock_shape),
    FIELD(13, 0, "heartbeatPeriodMs", &u32), FIELD(14, 0, "securityCounter", &u32),
    FIELD(15, 0, "uptimeMs", &u64)};
static const field_t identify_f[] = {FIELD(1, 0, "heartbeatPeriodMs", &u32)};
static const field_t heartbeat_f[] = {
    FIELD(1, 1, "uptimeMs", &u64),    FIELD(2, 1, "mode", &u8),         FIELD(3, 1, "health", &u8),
    FIELD(4, 1, "resetReason", &u8),  FIELD(5, 1, "resetCount", &u32),  FIELD(6, 0, "counters", &counters),
    FIELD(7, 0, "vendorStatus", &any), FIELD(8, 0, "periodMs", &u32),   FIELD(9, 0, "deviceTime", &u64)};
static const field_t nonce_f[] = {FIELD(1, 0, "nonce", &u32)};
static const field_t tsreq_f[] = {FIELD(1, 1, "t1", &u64)};
static const field_t tsresp_f[] = {FIELD(1, 1, "t1", &u64), FIELD(2, 1, "t2", &u64), FIELD(3, 0, "t3", &u64)};
static const field_t tsfol_f[] = {FIELD(1, 1, "t1", &u64), FIELD(3, 1, "t3", &u64)};
static const field_t tmap_f[] = {FIELD(1, 1, "node", &u8),     FIELD(2, 1, "at", &u64),
                                 FIELD(3, 1, "offsetUs", &i64), FIELD(4, 1, "skewPpb", &i64),
                                 FIELD(5, 1, "errorBoundUs", &u32), FIELD(6, 0, "samples", &u32)};
static const field_t ubegin_f[] = {FIELD(1, 1, "session", &u16), FIELD(2, 1, "kind", &u8),
                                   FIELD(3, 1, "size", &u32),    FIELD(4, 1, "sha256", &bytes32),
                                   FIELD(5, 1, "chunkSize", &u16), FIELD(6, 0, "manifest", &bytes_le1024)};
static const field_t uchunk_f[] = {FIELD(1, 1, "session", &u16), FIELD(2, 1, "offset", &u32),
                                   FIELD(3, 1, "data", &bytes_le4096)};
static const field_t uack_f[] = {FIELD(1, 1, "session", &u16), FIELD(2, 1, "cumulative", &u32),
                                 FIELD(3, 0, "sack", &bytes_le64), FIELD(4, 0, "window", &u16)};
static const field_t usession_f[] = {FIELD(1, 1, "session", &u16)};
static const field_t uactivate_f[] = {FIELD(1, 1, "session", &u16), FIELD(2, 0, "permanent", &boolean)};
static const field_t uconfirm_f[] = {FIELD(1, 0, "slot", &u8)};
static const field_t uabort_f[] = {FIELD(1, 1, "session", &u16), FIELD(2, 0, "reason", &u16)};
static const field_t ustatusreq_f[] = {FIELD(1, 0, "sha256", &bytes32)};
static const field_t ustatus_f[] = {
    FIELD(1, 1, "session", &u16),  FIELD(2, 1, "state", &u8),    FIELD(3, 0, "kind", &u8),
    FIELD(4, 0, "sha256", &bytes32), FIELD(5, 0, "received", &u32), FIELD(6, 0, "size", &u32),
    FIELD(7, 0, "maxChunk", &u16), FIELD(8, 0, "window", &u16),  FIELD(9, 0, "flashWriteUs", &u32),
    FIELD(10, 0, "error", &u16)};
static const field_t reset_f[] = {FIELD(1, 0, "target", &u8), FIELD(2, 0, "delayMs", &u32)};
static const field_t log_f[] = {FIELD(1, 1, "deviceTime", &u64), FIELD(2, 1, "level", &u8),
                                FIELD(3, 1, "text", &text512), FIELD(4, 0, "module", &text32)};
static const field_t telemetry_f[] = {FIELD(1, 1, "samples", &samples)};
static const field_t topology_f[] = {FIELD(1, 1, "routes", &routes)};
static const field_t tracereq_f[] = {FIELD(1, 1, "since", &u32), FIELD(2, 0, "max", &u8),
                                     FIELD(3, 0, "match", &tkeys)};
static const field_t tracerec_f[] = {FIELD(1, 1, "next", &u32),    FIELD(2, 1, "oldest", &u32),
                                     FIELD(3, 1, "ports", &ports), FIELD(4, 1, "records", &frecs),
                                     FIELD(5, 0, "bulkForwarded", &u32), FIELD(6, 0, "oldestAt", &u64)};
static const field_t ok_f[] = {FIELD(1, 0, "detail", &text128)};
static const field_t error_f[] = {FIELD(1, 1, "code", &u16),        FIELD(2, 0, "message", &text256),
                                  FIELD(3, 0, "requestType", &u8),  FIELD(4, 0, "reporter", &u8),
                                  FIELD(5, 0, "detail", &i64)};

typedef struct {
  uint8_t code;
  uint8_t request; /* has an "answered by" entry */
  struct_t st;
} message_t;

#define N(a) (uint8_t)(sizeof(a) / sizeof((a)[0]))
static const message_t messages[] = {
    {0x01, 0, {"hello", N(hello_f), hello_f}},
    {0x02, 1, {"identify", N(identify_f), identify_f}},
    {0x03, 0, {"heartbeat", N(heartbeat_f), heartbeat_f}},
    {0x04, 1, {"ping", N(nonce_f), nonce_f}},
    {0x05, 0, {"pong", N(nonce_f), nonce_f}},
    {0x08, 1, {"time_sync_req", N(tsreq_f), tsreq_f}},
    {0x09, 0, {"time_sync_resp", N(tsresp_f), tsresp_f}},
    {0x0A, 0, {"time_sync_followup", N(tsfol_f), tsfol_f}},
    {0x0B, 0, {"time_map", N(tmap_f), tmap_f}},
    {0x10, 1, {"update_begin", N(ubegin_f), ubegin_f}},
    {0x11, 0, {"update_chunk", N(uchunk_f), uchunk_f}},
    {0x12, 0, {"update_ack", N(uack_f), uack_f}},
    {0x13, 1, {"update_verify", N(usession_f), usession_f}},
    {0x14, 1, {"update_activate", N(uactivate_f), uactivate_f}},
    {0x15, 1, {"update_confirm", N(uconfirm_f), uconfirm_f}},
    {0x16, 1, {"update_abort", N(uabort_f), uabort_f}},
    {0x17, 1, {"update_status_req", N(ustatusreq_f), ustatusreq_f}},
    {0x18, 0, {"update_status", N(ustatus_f), ustatus_f}},
    {0x20, 1, {"reset", N(reset_f), reset_f}},
    {0x30, 0, {"log", N(log_f), log_f}},
    {0x31, 0, {"telemetry", N(telemetry_f), telemetry_f}},
    {0x40, 1, {"topology_req", 0, 0}},
    {0x41, 0, {"topology", N(topology_f), topology_f}},
    {0x42, 1, {"trace_req", N(tracereq_f), tracereq_f}},
    {0x43, 0, {"trace_records", N(tracerec_f), tracerec_f}},
    {0x7E, 0, {"ok", N(ok_f), ok_f}},
    {0x7F, 0, {"error", N(error_f), error_f}},
};

static const message_t *find(uint8_t type) {
  for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
    if (messages[i].code == type) return &messages[i];
  return 0;
}

const char *mcubus_message_name(uint8_t type) {
  const message_t *m = find(type);
  return m ? m->st.name : 0;
}

bool mcubus_is_request(uint8_t type) {
  const message_t *m = find(type);
  return m && m->request;
}

const char *mcubus_field_name(uint8_t type, uint64_t key) {
#if MCUBUS_SCHEMA_NAMES
  const message_t *m = find(type);
  for (uint8_t i = 0; m && i < m->st.n; i++)
    if (m->st.fields[i].key == key) return m->st.fields[i].name;
#else
  (void)type, (void)key;
#endif
  return 0;
}

typedef struct {
  mcubus_unknown_key_fn unknown;
  void *ctx;
} report_t;

static bool check_shape(mcubus_cbor_reader_t *r, const shape_t *s, const report_t *rep);

static bool check_struct(mcubus_cbor_reader_t *r, const struct_t *st, const report_t *rep) {
  mcubus_cbor_item_t m, k;
  if (!mcubus_cbor_read(r, &m) || m.kind != MCUBUS_CBOR_MAP) return false;
  uint32_t seen = 0; /* bit i: field i present (no struct has more than 32 fields) */
  for (uint64_t i = 0; i < m.u; i++) {
    mcubus_cbor_reader_t key_at = *r;
    if (!mcubus_cbor_read(r, &k)) return false;
    const field_t *f = 0;
    uint8_t idx = 0;
    if (k.kind == MCUBUS_CBOR_UINT)
      for (idx = 0; idx < st->n; idx++)
        if (st->fields[idx].key == k.u) {
          f = &st->fields[idx];
          break;
        }
    if (!f) {
      /* Unknown key (or a text key): reported, skipped, never an error (spec 4). */
      (void)key_at;
      if (rep->unknown) rep->unknown(rep->ctx, st->name, k.kind == MCUBUS_CBOR_UINT ? k.u : UINT64_MAX);
      if (!mcubus_cbor_skip(r)) return false;
      continue;
    }
    if (!check_shape(r, f->shape, rep)) return false;
    seen |= 1u << idx;
  }
  for (uint8_t i = 0; i < st->n; i++)
    if (st->fields[i].required && !(seen & (1u << i))) return false;
  return true;
}

static bool integral(double f) { return f == f && f >= -9007199254740991.0 && f <= 9007199254740991.0 && f == (double)(int64_t)f; }

static bool check_shape(mcubus_cbor_reader_t *r, const shape_t *s, const report_t *rep) {
  if (s->kind == K_STRUCT) return check_struct(r, s->st, rep);
  if (s->kind == K_ANY) return mcubus_cbor_skip(r);
  mcubus_cbor_item_t it;
  if (!mcubus_cbor_read(r, &it)) return false;
  switch (s->kind) {
  case K_UINT:
    if (it.kind == MCUBUS_CBOR_FLOAT) return integral(it.f) && it.f >= 0 && (uint64_t)it.f <= s->max;
    return it.kind == MCUBUS_CBOR_UINT && it.u <= s->max;
  case K_INT:
    if (it.kind == MCUBUS_CBOR_FLOAT) return integral(it.f);
    /* -1 - u >= -(2^53 - 1)  <=>  u <= 2^53 - 2 */
    return (it.kind == MCUBUS_CBOR_UINT && it.u <= s->max) || (it.kind == MCUBUS_CBOR_NINT && it.u < s->max);
  case K_NUMBER:
    return it.kind == MCUBUS_CBOR_FLOAT || (it.kind == MCUBUS_CBOR_UINT && it.u <= SAFE) ||
           (it.kind == MCUBUS_CBOR_NINT && it.u < SAFE);
  case K_BYTES:
    return it.kind == MCUBUS_CBOR_BYTES && it.u >= s->min && it.u <= s->max;
  case K_TEXT:
    return it.kind == MCUBUS_CBOR_TEXT && it.u <= s->max;
  case K_BOOL:
    return it.kind == MCUBUS_CBOR_TRUE || it.kind == MCUBUS_CBOR_FALSE;
  case K_ARRAY:
    if (it.kind != MCUBUS_CBOR_ARRAY || it.u < s->min || it.u > s->max) return false;
    for (uint64_t i = 0; i < it.u; i++)
      if (!check_shape(r, s->item, rep)) return false;
    return true;
  case K_UINTMAP:
    if (it.kind != MCUBUS_CBOR_MAP || it.u > s->max) return false;
    for (uint64_t i = 0; i < it.u; i++) {
      mcubus_cbor_item_t k;
      if (!mcubus_cbor_read(r, &k) || k.kind != MCUBUS_CBOR_UINT) return false;
      if (!check_shape(r, s->item, rep)) return false;
    }
    return true;
  default:
    return false;
  }
}

mcubus_err_t mcubus_schema_check(uint8_t type, const uint8_t *body, size_t n, mcubus_unknown_key_fn unknown,
                                 void *ctx) {
  mcubus_err_t e = mcubus_cbor_check(body, n);
  if (e != MCUBUS_E_OK) return e;
  const message_t *m = find(type);
  if (!m) return MCUBUS_E_UNKNOWN_TYPE;
  report_t rep = {unknown, ctx};
  mcubus_cbor_reader_t r = {body, body + n};
  return check_struct(&r, &m->st, &rep) ? MCUBUS_E_OK : MCUBUS_E_SCHEMA;
}
