import type { ApiClient, EventView } from '@mcubus/host';
import { WaitTimeout } from '../errors.js';
import type { CaseResult, CaseStatus, Figure } from '../report/model.js';

/** A requirement the rig saw broken: the case fails (not errs). */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
}

/** The rig cannot run this case (no power control for the device, say). */
export class Skip extends Error {
  override name = 'Skip';
}

export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new CheckFailed(message);
}

/** What a case body is handed: somewhere to put its figures. */
export interface CaseScope {
  figure(name: string, value: number | string, unit?: string): void;
}

/** The newest journal id now: events after it belong to what comes next. */
export async function journalMark(client: ApiClient): Promise<number> {
  const [newest] = await client.events({ limit: 1 });
  return newest?.id ?? 0;
}

export async function journalSince(client: ApiClient, mark: number, limit = 1000): Promise<EventView[]> {
  return client.events({ sinceId: mark, limit });
}

/**
 * Runs one case: times it, sorts its outcome (CheckFailed and WaitTimeout fail it, Skip skips it,
 * anything else is an error of the rig), and keeps the daemon's journal of the time it ran when it
 * did not pass, which is what someone looking at a red CI run needs first.
 */
export async function runCase(
  client: ApiClient,
  name: string,
  body: (scope: CaseScope) => Promise<void>,
): Promise<CaseResult> {
  const figures: Figure[] = [];
  const start = Date.now();
  const mark = await journalMark(client).catch(() => 0);
  let status: CaseStatus = 'passed';
  let message: string | undefined;
  try {
    await body({
      figure: (n, value, unit) => figures.push(unit ? { name: n, value, unit } : { name: n, value }),
    });
  } catch (e) {
    const err = e as Error;
    status =
      e instanceof Skip
        ? 'skipped'
        : e instanceof CheckFailed || e instanceof WaitTimeout
          ? 'failed'
          : 'error';
    message = status === 'error' ? `${err.name}: ${err.message}` : err.message;
  }
  const journal =
    status === 'failed' || status === 'error' ? await journalSince(client, mark).catch(() => []) : [];
  return {
    name,
    status,
    timeS: (Date.now() - start) / 1000,
    figures,
    journal,
    ...(message !== undefined ? { message } : {}),
  };
}
