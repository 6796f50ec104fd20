export { buildSack, sackChunks } from '@mcubus/protocol';
export { ChunkWriter } from './chunk-writer.js';
export {
  DEFAULT_RECEIVER_CONFIG,
  flashWriteUs,
  MAX_WINDOW,
  type ReceiverConfig,
  receiverConfigProblems,
} from './config.js';
export { FlashStorage, type FlashStorageOptions } from './flash-storage.js';
export {
  type DropCause,
  REFUSAL_LOG_INTERVAL_NS,
  type ReceiverLog,
  type ReceiverLogLevel,
  UpdateReceiver,
  type UpdateReceiverDeps,
} from './receiver.js';
export type { ErrorCodeName } from './replies.js';
export type { RunningImage } from './running.js';
export type { Session, SessionState } from './session.js';
export { chooseTarget, resumePoint, type TransferKey } from './target.js';
