import { seededRandom } from '../prng.js';

/**
 * Where to cut power during a transfer: `count` fractions of the image, ascending, drawn between 10 %
 * and 90 % and at least 10 % apart, so each cut interrupts a transfer that had resumed from the one
 * before (a cut right after another would test nothing new).
 */
export function cutPoints(seed: number, count: number): number[] {
  if (count === 0) return [];
  const random = seededRandom(seed);
  const span = 0.8 - 0.1 * (count - 1);
  if (span < 0) throw new RangeError(`at most 9 cuts fit in one transfer, not ${count}`);
  const draws = Array.from({ length: count }, () => random() * span).sort((a, b) => a - b);
  return draws.map((x, i) => 0.1 + x + 0.1 * i);
}
