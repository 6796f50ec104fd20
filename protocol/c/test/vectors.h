#ifndef MCUBUS_TEST_VECTORS_H
#define MCUBUS_TEST_VECTORS_H
#include "harness.h"
void vectors_frame(const char *dir, suite_t *s);
void vectors_cobs(const char *dir, suite_t *s);
void vectors_isotp(const char *dir, suite_t *s);
void vectors_modbus(const char *dir, suite_t *s);
#endif
