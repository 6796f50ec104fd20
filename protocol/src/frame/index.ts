export * from './bit-correction.js';
export * from './constants.js';
export * from './frame.js';
export * from './header.js';
export * from './typed.js';
