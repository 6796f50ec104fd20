/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it throws on
 * anything the format does not allow, so a test that parses /metrics also checks that it is valid.
 *
 * Rules checked: `# HELP name text` (escapes `\\` and `\n`) and `# TYPE name type` at most once per
 * metric and before its samples; a metric's lines are not interleaved with another's; sample names
 * and label names are valid; label values escape `\\`, `\"` and `\n` only; values are floats, `+Inf`,
 * `-Inf` or `NaN` (in any case, as Go's ParseFloat reads them); no series appears twice; a histogram
 * has, per label set, `_bucket` samples with an `le` label that are cumulative and end with
 * `le="+Inf"` equal to `_count`, and a `_sum`.
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  help?: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export class PromParseError extends Error {
  constructor(lineNo: number, line: string, why: string) {
    super(`line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
    this.name = 'PromParseError';
  }
}

/** Parses an exposition into its metric families, by name. */
export function parseExposition(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: PromFamily | undefined;
  const lines = text.split('\n');
  if (text !== '' && lines.at(-1) !== '')
    throw new PromParseError(lines.length, lines.at(-1)!, 'no final newline');

  const family = (name: string, lineNo: number, line: string): PromFamily => {
    if (current && current.name !== name) closed.add(current.name);
    if (closed.has(name)) throw new PromParseError(lineNo, line, `lines of ${name} are not together`);
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    current = f;
    return f;
  };

  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // any other comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!)) throw new PromParseError(lineNo, line, 'bad metric name');
      const f = family(name!, lineNo, line);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new PromParseError(lineNo, line, 'second HELP');
        f.help = unescapeText(rest, false, lineNo, line);
      } else {
        if (f.samples.length > 0) throw new PromParseError(lineNo, line, 'TYPE after samples');
        if (!TYPES.has(rest.trim())) throw new PromParseError(lineNo, line, 'unknown type');
        if (f.type !== 'untyped') throw new PromParseError(lineNo, line, 'second TYPE');
        f.type = rest.trim() as PromFamily['type'];
      }
      return;
    }
    const sample = parseSample(line, lineNo);
    const owner = familyOf(sample.name, families);
    const f = family(owner, lineNo, line);
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (series.has(key)) throw new PromParseError(lineNo, line, 'series appears twice');
    series.add(key);
    f.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The family a sample belongs to: a histogram's or summary's suffixed samples belong to its base. */
function familyOf(sampleName: string, families: Map<string, PromFamily>): string {
  const m = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
  if (m) {
    const base = families.get(m[1]!);
    if (base && (base.type === 'histogram' || base.type === 'summary')) return m[1]!;
  }
  return sampleName;
}

function parseSample(line: string, lineNo: number): PromSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(line);
  if (!m) throw new PromParseError(lineNo, line, 'bad sample name');
  const name = m[1]!;
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (m[2]) {
    pos++;
    for (;;) {
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const lm = /^([^=\s]+)="/.exec(line.slice(pos));
      if (!lm || !LABEL_NAME.test(lm[1]!)) throw new PromParseError(lineNo, line, 'bad label');
      pos += lm[0].length;
      let raw = '';
      while (pos < line.length && line[pos] !== '"') {
        if (line[pos] === '\\') {
          raw += line.slice(pos, pos + 2);
          pos += 2;
        } else raw += line[pos++];
      }
      if (line[pos] !== '"') throw new PromParseError(lineNo, line, 'unterminated label value');
      pos++;
      if (lm[1]! in labels) throw new PromParseError(lineNo, line, `label ${lm[1]} twice`);
      labels[lm[1]!] = unescapeText(raw, true, lineNo, line);
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new PromParseError(lineNo, line, 'expected , or }');
    }
  }
  const rest = line.slice(pos);
  const vm = /^ +(\S+)(?: +(-?[0-9]+))?$/.exec(rest);
  if (!vm) throw new PromParseError(lineNo, line, 'bad value');
  return { name, labels, value: parseValue(vm[1]!, lineNo, line) };
}

function parseValue(text: string, lineNo: number, line: string): number {
  // Go's ParseFloat, which Prometheus uses, reads these in any case (prom-client writes "Nan").
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new PromParseError(lineNo, line, 'bad number');
  return Number(text);
}

/** Label values escape \\ \" \n; HELP text \\ \n. Any other escape is an error. */
function unescapeText(text: string, label: boolean, lineNo: number, line: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && label) return '"';
    throw new PromParseError(lineNo, line, `bad escape \\${c}`);
  });
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (!g) {
      g = { buckets: [] };
      groups.set(key, g);
    }
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      g.buckets.push([parseValue(le, 0, le), s.value]);
    } else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
    else throw new Error(`${f.name}: unexpected sample ${s.name}`);
  }
  for (const [key, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new Error(`${f.name}${key}: no _sum or _count`);
    const last = g.buckets.at(-1);
    if (!last || last[0] !== Number.POSITIVE_INFINITY)
      throw new Error(`${f.name}${key}: no le="+Inf" bucket`);
    if (last[1] !== g.count)
      throw new Error(`${f.name}${key}: +Inf bucket ${last[1]} is not _count ${g.count}`);
    for (let i = 1; i < g.buckets.length; i++) {
      const [le0, n0] = g.buckets[i - 1]!;
      const [le1, n1] = g.buckets[i]!;
      if (!(le1 > le0) || n1 < n0) throw new Error(`${f.name}${key}: buckets not increasing at le=${le1}`);
    }
  }
}

/** The value of the one sample of `family` whose labels include `labels`; throws unless exactly one. */
export function sampleValue(
  families: Map<string, PromFamily>,
  sample: string,
  labels: Record<string, string> = {},
): number {
  const base = familyOf(sample, families);
  const f = families.get(base);
  if (!f) throw new Error(`no metric ${base}`);
  const found = f.samples.filter(
    (s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1) throw new Error(`${found.length} samples of ${sample}${JSON.stringify(labels)}`);
  return found[0]!.value;
}
