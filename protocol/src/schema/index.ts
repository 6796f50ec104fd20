export * from './codec.js';
export * from './struct.js';
