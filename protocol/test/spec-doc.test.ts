import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { refreshGenerated } from '../../scripts/protocol-doc-tables.js';
import { MESSAGE_NAMES } from '../src/index.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  it('has message and enum tables that match the schemas (run `npx tsx scripts/gen-docs.ts` after a change)', () => {
    expect(refreshGenerated(doc) === doc).toBe(true);
  });

  it('documents every message type', () => {
    for (const name of MESSAGE_NAMES) expect(doc).toContain(`${name.toUpperCase()}`);
  });

  it('has the CAN and Modbus carriage chapters filled in', () => {
    expect(doc).not.toMatch(/<!-- part:/);
  });
});
