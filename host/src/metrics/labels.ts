/**
 * A device's `device` label: its address in hex as the journal and the docs write it ("0x21"). Third-
 * party Modbus slaves keep the pseudo-address the API gives them (0x100 + slave: "0x107").
 */
export const deviceLabel = (address: number): string => `0x${address.toString(16).padStart(2, '0')}`;
