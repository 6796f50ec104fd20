import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTimeDemo } from '../../scripts/time-demo.js';

describe('the time-alignment demonstration in docs/time.md', () => {
  it('is the figure the project makes (run `npm run time-demo` after a change), and shows the alignment', async () => {
    const demo = await makeTimeDemo();
    const committed = readFileSync(
      join(import.meta.dirname, '..', '..', 'docs', 'time-alignment.svg'),
      'utf8',
    );
    expect(demo.svg).toBe(committed);
    expect(demo.summary.samples).toBe(40);
    // Aligned, the two MCUs' samples sit on the true signal to within their 2 mA noise...
    expect(demo.summary.rmsAlignedMa).toBeLessThan(2.5);
    // ...placed by arrival time or by a one-time offset they do not.
    expect(demo.summary.rmsArrivalMa).toBeGreaterThan(300);
    expect(demo.summary.rmsFirstOffsetMa).toBeGreaterThan(50);
  });
});
