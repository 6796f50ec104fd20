export * from './catalogue.js';
export * from './codec.js';
export * from './enums.js';
export * from './update-sack.js';
