/* Compile-time sizes of every static buffer in the library. Override with -D on the command line or
 * in a header included before mcubus.h; the defaults suit a Cortex-M device with a UART link. */
#ifndef MCUBUS_CONFIG_H
#define MCUBUS_CONFIG_H

/* Largest frame (header + body + CRC) the device accepts and announces in HELLO (maxFrame). */
#ifndef MCUBUS_MAX_FRAME
#define MCUBUS_MAX_FRAME 1100
#endif
/* Ports (links) one device can have: a gateway has two or more. */
#ifndef MCUBUS_MAX_PORTS
#define MCUBUS_MAX_PORTS 2
#endif
/* Largest ISO-TP message one reception/transmission slot holds. */
#ifndef MCUBUS_ISOTP_MAX_MSG
#define MCUBUS_ISOTP_MAX_MSG MCUBUS_MAX_FRAME
#endif
/* Receptions (peer x CAN priority) in progress at once, and transmissions in flight or queued. */
#ifndef MCUBUS_ISOTP_RX_SLOTS
#define MCUBUS_ISOTP_RX_SLOTS 2
#endif
#ifndef MCUBUS_ISOTP_TX_SLOTS
#define MCUBUS_ISOTP_TX_SLOTS 2
#endif
/* Modbus slave: frames waiting for the master's next poll. */
#ifndef MCUBUS_MODBUS_TXQ
#define MCUBUS_MODBUS_TXQ 4
#endif
/* Answer cache (spec section 5): entries, and the largest answer kept (longer ones are re-executed). */
#ifndef MCUBUS_ANSWER_CACHE
#define MCUBUS_ANSWER_CACHE 4
#endif
#ifndef MCUBUS_ANSWER_MAX
#define MCUBUS_ANSWER_MAX 200
#endif
/* Update receiver: the largest chunk and the chunks accepted beyond the cumulative point. */
#ifndef MCUBUS_UPDATE_MAX_CHUNK
#define MCUBUS_UPDATE_MAX_CHUNK 1024
#endif
#ifndef MCUBUS_UPDATE_WINDOW
#define MCUBUS_UPDATE_WINDOW 8
#endif
/* Gateway: route table entries and forwarding-log records (spec section 9: at least 256). */
#ifndef MCUBUS_ROUTES
#define MCUBUS_ROUTES 8
#endif
#ifndef MCUBUS_FWD_LOG
#define MCUBUS_FWD_LOG 256
#endif
/* Entries in one CBOR map the decoder accepts (more: map_too_large). Bounds the duplicate-key check,
 * which compares each key with the earlier ones; no v1 message has more than 15 keys, and 64 is the
 * largest map a schema allows (HEARTBEAT counters). */
#ifndef MCUBUS_CBOR_MAX_MAP
#define MCUBUS_CBOR_MAX_MAP 64
#endif
/* Field names in the schema tables (diagnostics, tests); off saves ~1.5 KiB of flash. */
#ifndef MCUBUS_SCHEMA_NAMES
#define MCUBUS_SCHEMA_NAMES 1
#endif

#endif
