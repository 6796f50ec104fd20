export * from './check.js';
export * from './envelope.js';
export * from './errors.js';
export * from './keys.js';
export * from './manifest.js';
export * from './version.js';
