import { readFileSync } from 'node:fs';
import { MESSAGE_NAMES, MESSAGES } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { refreshLuaTables, renderLuaTables } from '../../scripts/wireshark-tables.js';

const lua = readFileSync(new URL('../../tools/wireshark/mcubus.lua', import.meta.url), 'utf8');

describe('tools/wireshark/mcubus.lua', () => {
  it('has the name tables of the current message catalogue (run `npx tsx scripts/gen-wireshark.ts` after a change)', () => {
    expect(refreshLuaTables(lua) === lua).toBe(true);
  });

  it('names every message type by its code, as the catalogue does', () => {
    const tables = renderLuaTables();
    for (const name of MESSAGE_NAMES) {
      const code = MESSAGES[name].code.toString(16).padStart(2, '0');
      expect(tables).toContain(`[0x${code}] = "${name.toUpperCase()}",`);
    }
    expect(tables).toContain('[0x04] = { [1] = "nonce" },'); // PING's body
  });

  it('refuses a file without the generated block rather than guess where it goes', () => {
    expect(() => refreshLuaTables('-- nothing here')).toThrow(/has no "-- generated:tables/);
  });
});
