export * from './config.js';
export * from './errors.js';
export * from './flash.js';
export * from './layout.js';
export * from './tear.js';
