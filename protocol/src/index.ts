export * from './cbor/index.js';
export * from './counters.js';
export * from './crc32c.js';
export * from './frame/index.js';
export * from './messages/index.js';
export * from './result.js';
export * as schema from './schema/index.js';
export * from './stream/index.js';
