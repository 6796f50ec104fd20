import { nowUs } from './uart/serial-line.js';

/**
 * Wakes a sans-IO core when it asks, with a real timer. setTimeout has 1 ms granularity and may fire
 * early relative to a µs deadline, so the deadline is rounded up and the timer re-armed until it is
 * reached: a core is never ticked before its deadline (it would only ask for the same instant again).
 * Used only for the wake-ups a core requests, never to pace a transfer.
 */
export class WakeTimer {
  #timer: NodeJS.Timeout | null = null;

  /** Replaces any pending wake-up; `wakeAtUs` undefined just cancels. */
  schedule(wakeAtUs: number | undefined, tick: (nowUs: number) => void): void {
    this.cancel();
    if (wakeAtUs === undefined) return;
    const due = Math.ceil(wakeAtUs);
    const arm = (): void => {
      this.#timer = setTimeout(
        () => {
          this.#timer = null;
          const now = nowUs();
          if (now < due) arm();
          else tick(now);
        },
        Math.max(0, Math.ceil((due - nowUs()) / 1000)),
      );
    };
    arm();
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
