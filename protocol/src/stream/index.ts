export * from './cobs.js';
export * from './cobs-stream.js';
export * from './frame-stream.js';
