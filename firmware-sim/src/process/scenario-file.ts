import { readFileSync } from 'node:fs';
import { referenceBoard } from '../board/reference.js';
import type { BoardSpec } from '../board/spec.js';

/** `reference` or a JSON file holding a BoardSpec (docs/simulator.md describes the format). */
export function loadScenario(arg: string): BoardSpec {
  if (arg === 'reference') return referenceBoard();
  let text: string;
  try {
    text = readFileSync(arg, 'utf8');
  } catch (e) {
    throw new Error(`cannot read scenario ${arg}: ${(e as Error).message}`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new Error(`scenario ${arg} is not valid JSON: ${(e as Error).message}`);
  }
  const s = spec as Partial<BoardSpec>;
  if (!s || typeof s !== 'object' || !Array.isArray(s.buses) || !Array.isArray(s.mcus) || !s.host) {
    throw new Error(`scenario ${arg} needs "buses", "mcus" and "host" (see docs/simulator.md)`);
  }
  return spec as BoardSpec;
}
