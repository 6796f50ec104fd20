export * from './kernel/index.js';
export * from './links/endpoints.js';
export * from './links/faults.js';
