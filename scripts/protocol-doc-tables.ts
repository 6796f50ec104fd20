// Renders the message and enumeration tables of docs/protocol.md from the protocol package's schemas,
// so the spec cannot drift from the code (a test checks the committed doc is current).

import type { schema } from '../protocol/src/index.js';
import { MESSAGE_NAMES, MESSAGES } from '../protocol/src/messages/catalogue.js';
import * as enums from '../protocol/src/messages/enums.js';

type Shape = schema.Shape;

function typeOf(shape: Shape): string {
  switch (shape.kind) {
    case 'uint':
      return shape.max === Number.MAX_SAFE_INTEGER ? 'uint (≤ 2⁵³−1)' : `uint (≤ ${shape.max})`;
    case 'int':
      return 'int (±2⁵³−1)';
    case 'number':
      return 'int or float';
    case 'bool':
      return 'bool';
    case 'text':
      return `text (≤ ${shape.maxBytes} B)`;
    case 'bytes':
      return shape.min === shape.max ? `bytes (${shape.max})` : `bytes (≤ ${shape.max})`;
    case 'array':
      return `array (${shape.min}–${shape.max}) of ${typeOf(shape.item)}`;
    case 'uintMap':
      return `map uint → ${typeOf(shape.value)} (≤ ${shape.maxEntries})`;
    case 'any':
      return 'any';
    case 'struct':
      return `${shape.name} map`;
  }
}

function nestedStructs(shape: Shape, out: Map<string, Shape & { kind: 'struct' }>): void {
  if (shape.kind === 'struct') {
    for (const f of shape.fields) {
      const inner = f.shape.kind === 'array' ? f.shape.item : f.shape;
      if (inner.kind === 'struct' && !out.has(inner.name)) {
        out.set(inner.name, inner);
        nestedStructs(inner, out);
      }
    }
  }
}

function table(shape: Shape & { kind: 'struct' }): string[] {
  if (shape.fields.length === 0) return ['Body: the empty map `{}` (`a0`).'];
  const rows = ['| Key | Field | Type | Presence | Meaning |', '|---:|---|---|---|---|'];
  for (const f of shape.fields) {
    rows.push(
      `| ${f.key} | ${f.name} | ${typeOf(f.shape)} | ${f.optional ? 'optional' : 'required'} | ${f.doc} |`,
    );
  }
  return rows;
}

export function renderMessageTables(): string {
  const lines: string[] = [];
  lines.push('| Code | Message | Answered by | Purpose |', '|---|---|---|---|');
  for (const name of MESSAGE_NAMES) {
    const m = MESSAGES[name];
    const answers = m.expects.length ? [...m.expects, 'error'].map((a) => a.toUpperCase()).join(' or ') : '—';
    lines.push(`| 0x${hex2(m.code)} | ${name.toUpperCase()} | ${answers} | ${m.doc} |`);
  }
  const nested = new Map<string, Shape & { kind: 'struct' }>();
  for (const name of MESSAGE_NAMES) {
    const m = MESSAGES[name];
    const shape = m.schema.shape as Shape & { kind: 'struct' };
    lines.push('', `#### 0x${hex2(m.code)} ${name.toUpperCase()}`, '', m.doc, '', ...table(shape));
    nestedStructs(shape, nested);
  }
  for (const [name, shape] of nested) lines.push('', `#### Nested map: ${name}`, '', ...table(shape));
  return lines.join('\n');
}

export function renderEnumTables(): string {
  const tables: [string, enums.EnumTable, string][] = [
    ['DeviceMode', enums.DeviceMode, 'value'],
    ['HealthLevel', enums.HealthLevel, 'value'],
    ['ResetReason', enums.ResetReason, 'value'],
    ['ResetTarget', enums.ResetTarget, 'value'],
    ['ImageKind', enums.ImageKind, 'value'],
    ['UpdateState', enums.UpdateState, 'value'],
    ['LogLevel', enums.LogLevel, 'value'],
    ['RouteState', enums.RouteState, 'value'],
    ['ForwardOutcome', enums.ForwardOutcome, 'value'],
    ['Capability', enums.Capability, 'bit mask'],
    ['SlotFlag', enums.SlotFlag, 'bit mask'],
    ['ErrorCounter', enums.ErrorCounter, 'counter id'],
    ['ErrorCode', enums.ErrorCode, 'code'],
  ];
  const lines: string[] = [];
  for (const [name, t, what] of tables) {
    lines.push('', `#### ${name}`, '', `| ${what} | name |`, '|---:|---|');
    for (const [n, v] of Object.entries(t))
      lines.push(`| ${what === 'bit mask' ? `0x${hex2(v)}` : v} | ${n} |`);
  }
  return lines.join('\n').trimStart();
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

export const GENERATED = [
  { begin: '<!-- generated:messages -->', end: '<!-- /generated:messages -->', render: renderMessageTables },
  { begin: '<!-- generated:enums -->', end: '<!-- /generated:enums -->', render: renderEnumTables },
];

/** Returns the doc with every generated region replaced by its current rendering. */
export function refreshGenerated(doc: string): string {
  let out = doc;
  for (const g of GENERATED) {
    const a = out.indexOf(g.begin);
    const b = out.indexOf(g.end);
    if (a < 0 || b < a) throw new Error(`docs/protocol.md lacks the ${g.begin} … ${g.end} region`);
    out = `${out.slice(0, a + g.begin.length)}\n${g.render()}\n${out.slice(b)}`;
  }
  return out;
}
