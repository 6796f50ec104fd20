/* Runs every golden vector in protocol/vectors/ against the C library (argv[1]: the directory). */
#include <stdio.h>

#include "harness.h"
#include "vectors.h"

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "../vectors";
  suite_t frame = {"frame", 0, 0}, cobs = {"cobs", 0, 0}, isotp = {"isotp", 0, 0}, modbus = {"modbus", 0, 0};
  vectors_frame(dir, &frame);
  vectors_cobs(dir, &cobs);
#ifndef NO_ISOTP
  vectors_isotp(dir, &isotp);
#endif
#ifndef NO_MODBUS
  vectors_modbus(dir, &modbus);
#endif
  suite_report(&frame);
  suite_report(&cobs);
  suite_report(&isotp);
  suite_report(&modbus);
  return frame.failed + cobs.failed + isotp.failed + modbus.failed > 0;
}
