import type { CanControllerState } from './endpoints.js';

/**
 * Fault confinement of one CAN controller (ISO 11898-1:2015 §12.1.4), reduced to the rules the bus
 * model produces situations for:
 *   - transmitter detects an error: TEC += 8, except an error-passive transmitter whose frame got no
 *     ACK and that sees no dominant bit during its passive error flag (a lone node): TEC unchanged, so
 *     a node alone on the bus stays error passive instead of going bus off;
 *   - receiver detects an error: REC += 1;
 *   - successful transmission: TEC −= 1; successful reception: REC −= 1, or back to 127 if above it
 *     (the standard allows any value 119..127; we pick 127);
 *   - TEC or REC ≥ 128: error passive; TEC > 255: bus off until recovery resets both counters.
 */
export class CanErrorCounters {
  #tec = 0;
  #rec = 0;
  #busOff = false;

  get tec(): number {
    return this.#tec;
  }

  get rec(): number {
    return this.#rec;
  }

  get state(): CanControllerState {
    if (this.#busOff) return 'bus_off';
    return this.#tec >= 128 || this.#rec >= 128 ? 'error_passive' : 'error_active';
  }

  txError(passiveAckException: boolean): void {
    if (passiveAckException && this.state === 'error_passive') return;
    this.#tec += 8;
    if (this.#tec > 255) this.#busOff = true;
  }

  rxError(): void {
    // Real REC registers saturate; 255 keeps the value meaningful without changing any state.
    this.#rec = Math.min(255, this.#rec + 1);
  }

  txSuccess(): void {
    this.#tec = Math.max(0, this.#tec - 1);
  }

  rxSuccess(): void {
    this.#rec = this.#rec > 127 ? 127 : Math.max(0, this.#rec - 1);
  }

  /** Bus-off recovery completed (or controller reset): error active with both counters at 0. */
  reset(): void {
    this.#tec = 0;
    this.#rec = 0;
    this.#busOff = false;
  }
}
