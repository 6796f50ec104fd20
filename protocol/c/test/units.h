#ifndef MCUBUS_TEST_UNITS_H
#define MCUBUS_TEST_UNITS_H
#include "harness.h"
void units_codec(suite_t *s);
void units_device(suite_t *s);
#endif
