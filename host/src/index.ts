export { describeFrame, describeHeaderOnly } from './frame-format.js';
