export * from './candump.js';
