import type { CodedError, Result } from '@mcubus/protocol';

/**
 * `not_erased`: programming a write unit that is not in the erased state (the STM32 PROGERR rule:
 * write once, then erase); `misaligned` / `out_of_range`: bad arguments (PGAERR / address fault);
 * `injected`: a scenario made the operation fail; `powered_off`: an operation was issued to a flash
 * without power (never completes: its callback is not called).
 */
export type FlashErrorCode = 'not_erased' | 'misaligned' | 'out_of_range' | 'injected' | 'powered_off';

export interface FlashError extends CodedError<FlashErrorCode> {
  /** Operation number (1-based, see Flash.opsStarted), 0 for arguments refused before starting. */
  readonly op: number;
  /** Flash offset where it failed. */
  readonly address: number;
}

export type FlashDone = (result: Result<void, FlashError>) => void;
