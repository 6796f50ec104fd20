/* Unit tests of the library (run under ASan/UBSan by `make check`). */
#include "harness.h"
#include "units.h"

int main(void) {
  suite_t codec = {"codec", 0, 0}, device = {"device", 0, 0};
  units_codec(&codec);
#ifndef NO_DEVICE
  units_device(&device);
#endif
  suite_report(&codec);
  suite_report(&device);
  return codec.failed + device.failed > 0;
}
