/* Wire names of the error codes: what counters and tests print, spelled as in the spec. */
#include "mcubus/errors.h"

static const char *const names[MCUBUS_E__COUNT] = {
#define MCUBUS_X(id, name) name,
    MCUBUS_ERROR_LIST(MCUBUS_X)
#undef MCUBUS_X
};

const char *mcubus_err_name(mcubus_err_t e) { return (unsigned)e < MCUBUS_E__COUNT ? names[e] : "?"; }
