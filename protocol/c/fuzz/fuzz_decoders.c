/* libFuzzer target: the UART receive path end to end — the COBS stream decoder (with single-bit
 * repair) fed the input in two chunks, every piece through the frame decoder, the CBOR checker and
 * the schemas; and the input taken directly as a frame and as a Modbus ADU. Any crash, sanitizer
 * report or an accepted frame that fails to decode again is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcubus.h"

static mcubus_cobs_stream_t stream;
static mcubus_counters_t counters;

static void check_frame(const uint8_t *p, size_t n) {
  static uint8_t copy[MCUBUS_FRAME_LIMIT + 16];
  if (n > sizeof copy) return;
  memcpy(copy, p, n);
  mcubus_frame_t f;
  mcubus_err_t e = mcubus_frame_decode_full(copy, n, MCUBUS_FRAME_LIMIT, &f);
  if (e == MCUBUS_E_OK || e == MCUBUS_E_UNKNOWN_TYPE) {
    /* an accepted body must also walk cleanly */
    mcubus_cbor_reader_t r = {f.body, f.body + f.body_len};
    if (!mcubus_cbor_skip(&r) || r.p != r.end) abort();
  }
  size_t at;
  unsigned bit;
  if (e == MCUBUS_E_BAD_CRC && mcubus_frame_repair_bit(copy, n, &at, &bit)) {
    if (mcubus_frame_decode(copy, n, MCUBUS_FRAME_LIMIT, &f) != MCUBUS_E_OK) abort(); /* a repair must check */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mcubus_cobs_stream_init(&stream, size > 0 ? 16 + data[0] * 16u : 4096, &counters);
  size_t split = size / 2;
  for (int part = 0; part < 2; part++) {
    const uint8_t *p = part ? data + split : data;
    size_t n = part ? size - split : split, pos = 0;
    while (pos < n) {
      mcubus_piece_t piece = mcubus_cobs_stream_push(&stream, p, n, &pos);
      if (piece.kind == MCUBUS_PIECE_FRAME) check_frame(piece.frame, piece.len);
    }
  }
  check_frame(data, size);
  mcubus_cbor_check(data, size);
  mcubus_adu_t a;
  mcubus_adu_decode(data, size, size & 1, &a);
  return 0;
}
