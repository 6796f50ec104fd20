export * from './prng.js';
export * from './scheduler.js';
export * from './sim.js';
export * from './trace.js';
export * from './wake.js';
