// Renders the name tables of tools/wireshark/mcubus.lua from the protocol package's catalogue, so the
// dissector cannot drift from the code (host/test/wireshark-lua.test.ts checks the committed file).

import { MESSAGE_NAMES, MESSAGES } from '../protocol/src/messages/catalogue.js';
import { ErrorCode } from '../protocol/src/messages/enums.js';

export const BEGIN = '-- generated:tables (npx tsx scripts/gen-wireshark.ts) --';
export const END = '-- end generated:tables --';

function luaString(s: string): string {
  return JSON.stringify(s); // a JSON string of printable ASCII is a valid Lua string literal
}

/** The Lua between the markers: message type names, the field names of each body, error code names. */
export function renderLuaTables(): string {
  const lines: string[] = [];
  const byCode = [...MESSAGE_NAMES].sort((a, b) => MESSAGES[a].code - MESSAGES[b].code);
  lines.push('-- Message type code -> name (docs/protocol.md §4.1).', 'local MESSAGE_NAMES = {');
  for (const name of byCode) {
    lines.push(
      `  [0x${MESSAGES[name].code.toString(16).padStart(2, '0')}] = ${luaString(name.toUpperCase())},`,
    );
  }
  lines.push('}', '', '-- Message type code -> body key -> field name.', 'local FIELD_NAMES = {');
  for (const name of byCode) {
    const shape = MESSAGES[name].schema.shape;
    const fields = shape.kind === 'struct' ? shape.fields : [];
    const entries = fields.map((f) => `[${f.key}] = ${luaString(f.name)}`).join(', ');
    lines.push(`  [0x${MESSAGES[name].code.toString(16).padStart(2, '0')}] = { ${entries} },`);
  }
  lines.push('}', '', '-- ERROR body key 1 (code) -> name (docs/protocol.md §4.2).', 'local ERROR_CODES = {');
  for (const [name, code] of Object.entries(ErrorCode).sort((a, b) => a[1] - b[1])) {
    lines.push(`  [${code}] = ${luaString(name)},`);
  }
  lines.push('}');
  return lines.join('\n');
}

/** `lua` with the text between the markers replaced by the current tables. */
export function refreshLuaTables(lua: string): string {
  const begin = lua.indexOf(BEGIN);
  const end = lua.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`the dissector has no "${BEGIN}" … "${END}" block`);
  return `${lua.slice(0, begin + BEGIN.length)}\n${renderLuaTables()}\n${lua.slice(end)}`;
}
