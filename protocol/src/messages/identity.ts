import { array, bytes, opt, req, struct, text, u8, u16, u32, u64 } from '../schema/index.js';

/** A version as [major, minor, patch] or [major, minor, patch, build]. */
export const version = array(u32, { min: 3, max: 4 });

export const slotInfo = struct('slot', {
  index: req(1, u8, 'Slot number: 0 = A, 1 = B (application slots); 0xF0 = bootloader region.'),
  version: req(2, version, 'Version of the image in the slot.'),
  flags: req(3, u8, 'SlotFlag bits: 1 active, 2 confirmed, 4 pending test boot, 8 holds a valid image.'),
  size: opt(4, u32, 'Image size in bytes.'),
  sha256: opt(5, bytes({ exact: 32 }), 'SHA-256 of the image.'),
});

export const clockInfo = struct('clock', {
  counterBits: req(1, u8, "Width of the device's microsecond counter: it wraps at 2^bits µs."),
  resolutionNs: req(2, u32, 'Resolution of the counter in nanoseconds (1000 = 1 µs ticks).'),
});

/** HELLO (0x01): the device's identity, sent unsolicited at boot and as the answer to IDENTIFY. */
export const hello = struct('hello', {
  uid: req(1, bytes({ max: 32 }), 'Unique id of the chip (e.g. the 96-bit STM32 UID).'),
  hardwareId: req(
    2,
    text(64),
    'Board/product identifier that images are built for; compared with the manifest.',
  ),
  hardwareRev: req(3, u16, 'Hardware revision.'),
  firmwareVersion: req(4, version, 'Version of the running application (all zero in the bootloader).'),
  bootloaderVersion: req(5, version, 'Version of the bootloader.'),
  slots: req(6, array(slotInfo, { max: 4 }), 'Image slots and their state.'),
  capabilities: req(7, u32, 'Capability bits (see Capabilities).'),
  maxFrame: req(8, u16, 'Largest frame (header + body + CRC) the device accepts.'),
  mode: req(9, u8, 'DeviceMode: 0 bootloader, 1 app, 2 updating, 3 safe.'),
  protocolVersions: req(10, array(u8, { min: 1, max: 8 }), 'Frame versions the device speaks ([1]).'),
  name: opt(11, text(64), 'Human-readable node name.'),
  clock: opt(12, clockInfo, 'Device clock description; absent = 64-bit µs counter.'),
  heartbeatPeriodMs: opt(13, u32, 'Heartbeat period the device uses.'),
  securityCounter: opt(14, u32, 'Security counter of the running image (anti-rollback).'),
  uptimeMs: opt(15, u64, 'Milliseconds since the last reset.'),
});

/**
 * IDENTIFY (0x02): asks a device for its HELLO, and optionally sets its heartbeat period (the host
 * negotiates it: the device clamps it to what it supports and its HELLO answer says what it uses).
 */
export const identify = struct('identify', {
  heartbeatPeriodMs: opt(
    1,
    u32,
    'Heartbeat period the host asks for (ms); the device adopts it within its limits and reports it in HELLO.',
  ),
});
