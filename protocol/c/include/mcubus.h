/* mcubus device library: the one header an application includes. C99, no allocation, no
 * dependencies; the application supplies the port (mcubus_port_t in mcubus/device.h). */
#ifndef MCUBUS_H
#define MCUBUS_H

#include "mcubus/config.h"
#include "mcubus/errors.h"
#include "mcubus/codec.h"
#include "mcubus/isotp.h"
#include "mcubus/modbus.h"
#include "mcubus/device.h"

#endif
