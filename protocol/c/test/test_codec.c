/* Unit tests of the codecs beyond the golden vectors: SHA-256, single-bit repair on every bit, the
 * CBOR subset's refusals, COBS round trips, and the Modbus receiver's resynchronisation. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mcubus.h"
#include "mcubus/modbus.h"
#include "units.h"

static void sha256_known(void) {
  static const struct {
    const char *msg;
    const char *hex;
  } cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mcubus_sha256_t s;
    uint8_t d[32];
    char h[65];
    mcubus_sha256_init(&s);
    /* feed in odd pieces to exercise the block buffer */
    const char *m = cases[i].msg;
    size_t n = strlen(m);
    for (size_t k = 0; k < n; k += 3) mcubus_sha256_update(&s, (const uint8_t *)m + k, n - k < 3 ? n - k : 3);
    mcubus_sha256_final(&s, d);
    hex_encode(d, 32, h);
    CHECK(strcmp(h, cases[i].hex) == 0, "sha256(\"%s\") = %s", m, h);
  }
  /* one million 'a' */
  mcubus_sha256_t s;
  uint8_t a[1000], d[32];
  char h[65];
  memset(a, 'a', sizeof a);
  mcubus_sha256_init(&s);
  for (int i = 0; i < 1000; i++) mcubus_sha256_update(&s, a, sizeof a);
  mcubus_sha256_final(&s, d);
  hex_encode(d, 32, h);
  CHECK(strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "million a: %s", h);
}

static void repair_every_bit(void) {
  uint8_t ping[15], f[15];
  hex_decode("0108210008040100a10107afe1fde7", ping, sizeof ping);
  int repaired = 0, rejected_two = 0, cases = 0;
  for (size_t i = 0; i < sizeof ping; i++)
    for (unsigned b = 0; b < 8; b++) {
      memcpy(f, ping, sizeof f);
      f[i] ^= (uint8_t)(1u << b);
      size_t at;
      unsigned bit;
      bool ok = mcubus_frame_repair_bit(f, sizeof f, &at, &bit);
      if (i == 4) { /* the TTL is masked: a flip there is invisible and needs no repair */
        CHECK(!ok, "ttl flip reported as repaired");
        continue;
      }
      cases++;
      if (ok && at == i && bit == b && memcmp(f, ping, sizeof f) == 0) repaired++;
      /* a second flip must not be "repaired" into something that passes */
      memcpy(f, ping, sizeof f);
      f[i] ^= (uint8_t)(1u << b);
      f[(i + 3) % sizeof f == 4 ? 5 : (i + 3) % sizeof f] ^= 0x10;
      mcubus_frame_t fr;
      if (!mcubus_frame_repair_bit(f, sizeof f, 0, 0) || mcubus_frame_decode(f, sizeof f, 4096, &fr) != MCUBUS_E_OK ||
          memcmp(f, ping, sizeof f) != 0)
        rejected_two++;
    }
  CHECK(repaired == cases, "repaired %d of %d single flips", repaired, cases);
  CHECK(rejected_two == cases, "two flips: %d of %d rejected", rejected_two, cases);
}

static void cbor_refusals(void) {
  static const struct {
    const char *hex;
    mcubus_err_t want;
  } cases[] = {
      {"a0", MCUBUS_E_OK},
      {"f7", MCUBUS_E_BAD_CBOR},           /* undefined */
      {"f0", MCUBUS_E_BAD_CBOR},           /* simple value */
      {"1c", MCUBUS_E_BAD_CBOR},           /* reserved additional information */
      {"62c328", MCUBUS_E_BAD_CBOR},       /* invalid UTF-8 */
      {"62c3a9", MCUBUS_E_OK},             /* "é" */
      {"a201010102", MCUBUS_E_BAD_CBOR},   /* duplicate key 1 */
      {"a2010118010102", MCUBUS_E_BAD_CBOR}, /* duplicate key 1 in a non-shortest head */
      {"a1800102", MCUBUS_E_BAD_CBOR},     /* array as key */
      {"a161610161610" "2", MCUBUS_E_BAD_CBOR},
      {"5a00000010aa", MCUBUS_E_BAD_CBOR}, /* length past the end */
      {"9bffffffffffffffff", MCUBUS_E_BAD_CBOR},
      {"f93c00", MCUBUS_E_OK},             /* half float 1.0 */
      {"8181818181818181818181818181818100", MCUBUS_E_OK},  /* 16 deep */
      {"818181818181818181818181818181818100", MCUBUS_E_BAD_CBOR}, /* 17 deep */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t b[64];
    size_t n = hex_decode(cases[i].hex, b, sizeof b);
    mcubus_err_t e = mcubus_cbor_check(b, n);
    CHECK(e == cases[i].want, "%s: %s", cases[i].hex, mcubus_err_name(e));
  }
}

static void cobs_round_trips(void) {
  static uint8_t in[3000], enc[3100], dec[3100];
  srand(7);
  for (int t = 0; t < 200; t++) {
    size_t n = (size_t)rand() % sizeof in;
    for (size_t i = 0; i < n; i++) in[i] = (uint8_t)(rand() % 4 == 0 ? 0 : rand());
    size_t en = mcubus_cobs_encode(in, n, enc, sizeof enc), dn = 0;
    CHECK(en > 0 && en <= MCUBUS_COBS_MAX(n) && memchr(enc, 0, en) == 0, "encode %zu", n);
    CHECK(mcubus_cobs_decode(enc, en, dec, &dn) == MCUBUS_E_OK && dn == n && memcmp(dec, in, n) == 0, "round trip %zu", n);
  }
}

static void modbus_resync(void) {
  mcubus_counters_t c;
  memset(&c, 0, sizeof c);
  mcubus_mb_framer_t f;
  mcubus_mb_framer_init(&f, &c);
  uint8_t stream[64], out[MCUBUS_MODBUS_MAX_ADU];
  /* garbage 0x41 0x07, then the tunnel PING request, then the empty poll of 0x11 */
  size_t n = hex_decode("ff214121410f0108210008040100a10107afe1fde7a84d1141001195", stream, sizeof stream);
  bool req;
  size_t got = 0, lens[4];
  for (size_t i = 0; i < n; i++) { /* byte by byte, as a UART delivers them */
    mcubus_mb_framer_push(&f, stream + i, 1);
    size_t L;
    while ((L = mcubus_mb_framer_next(&f, false, out, &req)) > 0)
      if (got < 4) lens[got++] = L;
  }
  /* "21 41 21" looked like the start of a 38-byte ADU: only the line's silence settles it */
  size_t L;
  while ((L = mcubus_mb_framer_next(&f, true, out, &req)) > 0)
    if (got < 4) lens[got++] = L;
  CHECK(got == 2 && lens[0] == 20 && lens[1] == 5, "%zu ADUs", got);
  CHECK(c.n[MCUBUS_E_NOT_A_START] + c.n[MCUBUS_E_BAD_CRC] + c.n[MCUBUS_E_INCOMPLETE] == 3, "3 garbage bytes counted");
}

void units_codec(suite_t *s) {
  case_begin("sha256 known answers");
  sha256_known();
  case_end(s);
  case_begin("single-bit repair of every bit; two flips rejected");
  repair_every_bit();
  case_end(s);
  case_begin("cbor subset refusals");
  cbor_refusals();
  case_end(s);
  case_begin("cobs random round trips");
  cobs_round_trips();
  case_end(s);
  case_begin("modbus receiver resynchronises byte by byte");
  modbus_resync();
  case_end(s);
}
