import type { TraceOutcome, TraceQuery } from '../trace/trace-record.js';
import { ApiError } from './http-util.js';

const OUTCOMES: readonly TraceOutcome[] = [
  'answered',
  'error',
  'timeout',
  'cancelled',
  'sent',
  'duplicate',
  'bad_frame',
];
const MAX_LIMIT = 100_000;

/** GET /v1/traces query parameters → TraceQuery; a bad one is a 400 that names it. */
export function traceQuery(q: URLSearchParams, address: (t: string) => number): TraceQuery {
  const out: { -readonly [K in keyof TraceQuery]: TraceQuery[K] } = {};
  const get = (k: string) => {
    const v = q.get(k);
    return v === null || v === '' ? undefined : v;
  };
  const int = (name: string, v: string) => {
    if (!/^\d+$/.test(v)) throw new ApiError(400, 'bad_request', `"${name}" must be a non-negative integer`);
    return Number(v);
  };
  const device = get('device');
  if (device !== undefined) out.device = address(device);
  const bus = get('bus');
  if (bus !== undefined) out.bus = bus;
  const type = get('type');
  if (type !== undefined) out.type = type;
  const outcome = get('outcome');
  if (outcome !== undefined) {
    if (!OUTCOMES.includes(outcome as TraceOutcome))
      throw new ApiError(400, 'bad_request', `"outcome" must be one of ${OUTCOMES.join(', ')}`);
    out.outcome = outcome as TraceOutcome;
  }
  const problems = get('problems');
  if (problems !== undefined) {
    if (problems !== '1' && problems !== 'true' && problems !== '0' && problems !== 'false')
      throw new ApiError(400, 'bad_request', '"problems" must be 1 or 0');
    out.problems = problems === '1' || problems === 'true';
  }
  const after = get('after');
  if (after !== undefined) out.afterId = int('after', after);
  const limit = get('limit');
  if (limit !== undefined) {
    const n = int('limit', limit);
    if (n < 1) throw new ApiError(400, 'bad_request', '"limit" must be at least 1');
    out.limit = Math.min(n, MAX_LIMIT);
  }
  return out;
}
