import { bool, bytes, opt, req, struct, u8, u16, u32 } from '../schema/index.js';

/**
 * UPDATE_BEGIN (0x10): opens (or resumes) a transfer of the image with this SHA-256. The device answers
 * UPDATE_STATUS with how many contiguous bytes of that image it already holds, so a transfer resumes
 * after any interruption.
 */
export const updateBegin = struct('update_begin', {
  session: req(1, u16, 'Host-chosen id; chunks of another session are refused.'),
  kind: req(2, u8, 'ImageKind: 0 application, 1 bootloader.'),
  size: req(3, u32, 'Image size in bytes.'),
  sha256: req(4, bytes({ exact: 32 }), 'SHA-256 of the whole image: the resume key.'),
  chunkSize: req(5, u16, 'Size of every chunk but the last.'),
  manifest: opt(
    6,
    bytes({ max: 1024 }),
    'Signed manifest envelope (§12); checked before anything is erased, and again before boot.',
  ),
});

/** UPDATE_CHUNK (0x11): `data` belongs at byte `offset` of the image. Not answered one by one. */
export const updateChunk = struct('update_chunk', {
  session: req(1, u16, 'Session of the UPDATE_BEGIN.'),
  offset: req(2, u32, 'Byte offset in the image; a multiple of chunkSize.'),
  data: req(3, bytes({ max: 4096 }), 'chunkSize bytes (fewer for the last chunk).'),
});

/** UPDATE_ACK (0x12): cumulative + selective acknowledgement, and the device's flow control. */
export const updateAck = struct('update_ack', {
  session: req(1, u16, 'Session being acknowledged.'),
  cumulative: req(2, u32, 'Every byte below this offset is stored.'),
  sack: opt(
    3,
    bytes({ max: 64 }),
    'Bit i (byte i>>3, bit i&7, LSB first) = chunk at cumulative + (i+1)·chunkSize is stored.',
  ),
  window: opt(4, u16, 'Chunks the device can accept beyond `cumulative` right now.'),
});

export const updateVerify = struct('update_verify', {
  session: req(1, u16, 'Session whose image to check (hash, then manifest signature).'),
});

/** UPDATE_ACTIVATE (0x14): boot the verified image, in test mode unless `permanent`. */
export const updateActivate = struct('update_activate', {
  session: req(1, u16, 'Session of a verified image.'),
  permanent: opt(
    2,
    bool,
    'true = skip the test boot (default false: the bootloader reverts unless confirmed).',
  ),
});

/** UPDATE_CONFIRM (0x15): the running test image is good; make it permanent. */
export const updateConfirm = struct('update_confirm', {
  slot: opt(1, u8, 'Slot to confirm (default: the running one).'),
});

export const updateAbort = struct('update_abort', {
  session: req(1, u16, 'Session to abandon; received data may be kept for a later resume.'),
  reason: opt(2, u16, 'ErrorCode explaining why.'),
});

/** UPDATE_STATUS_REQ (0x17): asks for UPDATE_STATUS, optionally about one image hash. */
export const updateStatusReq = struct('update_status_req', {
  sha256: opt(1, bytes({ exact: 32 }), 'Ask how much of this image is held.'),
});

/** UPDATE_STATUS (0x18): the answer to BEGIN, VERIFY and STATUS_REQ. */
export const updateStatus = struct('update_status', {
  session: req(1, u16, 'Current session (0 = none).'),
  state: req(2, u8, 'UpdateState: 0 idle, 1 receiving, 2 received, 3 verified, 4 failed, 5 activated.'),
  kind: opt(3, u8, 'ImageKind of the session.'),
  sha256: opt(4, bytes({ exact: 32 }), 'Image the state refers to.'),
  received: opt(5, u32, 'Contiguous bytes of this image already stored: the resume point.'),
  size: opt(6, u32, 'Image size.'),
  maxChunk: opt(7, u16, 'Largest chunk data the device takes.'),
  window: opt(8, u16, 'Chunks the device can buffer before it must acknowledge.'),
  flashWriteUs: opt(9, u32, 'Flash programming time per chunk (µs), for window sizing.'),
  error: opt(10, u16, 'ErrorCode when state is failed.'),
});
