export { describeFrame, describeHeaderOnly } from './frame-format.js';
export * from './transports/modbus/master-core.js';
