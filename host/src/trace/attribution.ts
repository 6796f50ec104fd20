import { enumName, FLAG_RETRANSMIT, ForwardOutcome } from '@mcubus/protocol';
import type { Loss } from './trace-record.js';

/** A gateway's record of one copy of the request or of its answer (TRACE_RECORDS). */
export interface CopyAtGateway {
  /** Gateway clock µs when it got the frame and queued it. */
  readonly at: number;
  /** …and when the frame started on the outgoing port, if the gateway said. */
  readonly wireAt?: number;
  readonly flags: number;
  readonly outcome: number;
  /** Name of the port it left on, when it did. */
  readonly outPort?: string;
}

/** What the host knows about one request when it is over. */
export interface RequestEvidence {
  readonly dst: number;
  readonly bus: string;
  /** Gateway on the path (the host's next hop), or null when the device is on the host's bus. */
  readonly gateway: number | null;
  /** Transmissions of the request. */
  readonly attempts: number;
  /** An answer (or ERROR) reached the host… */
  readonly answered: boolean;
  /** …and it was a copy the device resent from its answer cache (RETRANSMIT set, spec §5). */
  readonly replayed: boolean;
  /** Further answer copies the host dropped as duplicates. */
  readonly duplicateAnswers: number;
  /** Answer copies that reached the host after it had stopped waiting. */
  readonly lateAnswers?: number;
  /** Whether the gateway's log covers this request: absent when there is no gateway. */
  readonly gatewayLog?: 'ok' | 'missing';
  /**
   * An answer that passes the gateway this soon after a request copy did is taken as that copy's
   * (µs of the gateway's clock): a few times the quickest round trip seen below the gateway.
   */
  readonly promptAnswerUs?: number;
  readonly requestCopies?: readonly CopyAtGateway[];
  readonly answerCopies?: readonly CopyAtGateway[];
}

/** Without a measured round trip below the gateway: an answer this soon after a copy is that copy's. */
const DEFAULT_PROMPT_ANSWER_US = 20_000;

const hex = (a: number) => `0x${a.toString(16).padStart(2, '0')}`;
const isCopy = (flags: number) => (flags & FLAG_RETRANSMIT) !== 0;

/**
 * Places every lost copy of a request or of its answer on a hop, with a direction when the evidence
 * allows (docs/observability.md "Tracing: how a loss is placed"). Pure: evidence in, losses out.
 *
 * The two facts that make it work: a node forwards and logs every copy it gets (so a copy missing
 * from the gateway's log was lost before it), and a device answers a copy of a request it has seen
 * from its cache with RETRANSMIT set (so a fresh answer proves the earlier copies never reached it, a
 * resent one proves one did and its answer was lost).
 */
export function placeLosses(e: RequestEvidence): Loss[] {
  const got = e.answered ? 1 : 0;
  const late = e.lateAnswers ?? 0;
  const losses: Loss[] = [];
  const add = (hop: string, direction: Loss['direction'], count: number, cause: string, late = false) => {
    if (count > 0) losses.push({ hop, direction, count, cause, ...(late ? { late: true as const } : {}) });
  };
  if (e.gateway === null) {
    const hop = `${e.bus} host–${hex(e.dst)}`;
    add(
      hop,
      'answer',
      late,
      `${hex(e.dst)} answered after the host had stopped waiting (slow, not lost)`,
      true,
    );
    const lost = e.attempts - got - e.duplicateAnswers - late;
    if (lost <= 0) return losses;
    if (!e.answered) {
      add(
        hop,
        'unknown',
        lost,
        `no answer on ${e.bus}: request or answer lost, or ${hex(e.dst)} did not answer`,
      );
    } else if (!e.replayed) {
      add(hop, 'request', lost, `the request never reached ${hex(e.dst)} (lost on ${e.bus})`);
    } else {
      add(hop, 'answer', 1, `${hex(e.dst)} answered, the answer was lost on ${e.bus}`);
      add(hop, 'unknown', lost - 1, `lost on ${e.bus} (request or answer)`);
    }
    return losses;
  }
  const gw = hex(e.gateway);
  const up = `${e.bus} host–${gw}`;
  if (e.gatewayLog !== 'ok') {
    const lost = e.attempts - got - e.duplicateAnswers - late;
    add(
      `${e.bus} host–${gw}–${hex(e.dst)}`,
      'unknown',
      lost,
      `lost between the host and ${hex(e.dst)} via ${gw} (the gateway's log of that time is not available)`,
    );
    return losses;
  }
  const requests = [...(e.requestCopies ?? [])].sort((a, b) => a.at - b.at);
  const answers = [...(e.answerCopies ?? [])].sort((a, b) => a.at - b.at);
  // Copies of the request that never reached the gateway.
  add(up, 'request', e.attempts - requests.length, `never reached gateway ${gw} (lost on ${e.bus})`);
  // Copies the gateway refused to forward.
  const byOutcome = new Map<number, number>();
  for (const r of requests)
    if (r.outcome !== ForwardOutcome.forwarded) byOutcome.set(r.outcome, (byOutcome.get(r.outcome) ?? 0) + 1);
  for (const [outcome, n] of byOutcome)
    add(`${gw}`, 'request', n, `dropped by ${gw}: ${enumName(ForwardOutcome, outcome)}`);
  const forwarded = requests.filter((r) => r.outcome === ForwardOutcome.forwarded);
  const down = forwarded[0]?.outPort ?? 'its downstream bus';
  const downHop = `${down} ${gw}–${hex(e.dst)}`;
  // Answers that came after the host had stopped waiting: slow, not lost. Blame the stretch that
  // took the time: the request's wait in the gateway's queue, the round trip below it, or the rest.
  const blameSlow = (count: number, what: string) => {
    // The slow one is the first copy's answer (the retry or the timeout came while it was awaited).
    const first = answers[0];
    const asked = forwarded[0];
    const queuedMs = asked?.wireAt !== undefined ? (asked.wireAt - asked.at) / 1000 : 0;
    const belowMs = first && asked ? (first.at - (asked.wireAt ?? asked.at)) / 1000 : 0;
    const answerQueuedMs = first?.wireAt !== undefined ? (first.wireAt - first.at) / 1000 : 0;
    if (answerQueuedMs > 20 && answerQueuedMs >= queuedMs && answerQueuedMs >= belowMs)
      add(
        up,
        'answer',
        count,
        `the answer waited ${answerQueuedMs.toFixed(0)} ms in ${gw}'s queue for ${e.bus}, ${what}`,
        true,
      );
    else if (queuedMs > 20 && queuedMs >= belowMs)
      add(
        downHop,
        'request',
        count,
        `the request waited ${queuedMs.toFixed(0)} ms in ${gw}'s queue for ${down}, ${what}`,
        true,
      );
    else if (belowMs > 20)
      add(
        downHop,
        'answer',
        count,
        `the answer took ${belowMs.toFixed(0)} ms between ${gw} and ${hex(e.dst)} (${down}), ${what}`,
        true,
      );
    else add(up, 'answer', count, `${gw} forwarded the answer in time, ${what}`, true);
  };
  if (late > 0) blameSlow(late, 'and the answer came after the host had stopped waiting');
  // Answers the gateway forwarded that the host never got.
  add(
    up,
    'answer',
    answers.length - got - e.duplicateAnswers - late,
    `${gw} forwarded the answer, it never reached the host (lost on ${e.bus})`,
  );
  // Request copies forwarded downstream that no answer came back for: lost on the way down, or
  // reached the device and its answer was lost on the way up. The device answers the first copy it
  // gets fresh and every later one from its cache (RETRANSMIT), so with r copies reaching it:
  // lost down = forwarded − r, lost up = r − answers seen. What the answers bound:
  const lostDown = forwarded.length - answers.length;
  if (lostDown <= 0) {
    accountSlowRetries(losses, e, (n) =>
      blameSlow(n, 'so the request was sent again although nothing was lost'),
    );
    return losses;
  }
  const fresh = answers.find((a) => !isCopy(a.flags));
  const replays = answers.length - (fresh ? 1 : 0);
  // Replays seen mean a fresh answer existed too (lost if not seen): r ≥ replays + 1.
  const reachedAtLeast = Math.max(answers.length, replays > 0 ? replays + 1 : 0);
  // A fresh answer that came promptly after a copy answers that copy: every copy forwarded before
  // it was lost on the way down. (A slow answer could belong to any earlier copy: no conclusion.)
  let downAtLeast = 0;
  if (fresh) {
    const prompt = e.promptAnswerUs ?? DEFAULT_PROMPT_ANSWER_US;
    const down = (r: CopyAtGateway) => r.wireAt ?? r.at;
    const before = forwarded.filter((r) => down(r) <= fresh.at);
    const last = before.at(-1);
    const previous = before.at(-2);
    // Only when no other copy went down within that time could the answer be anyone else's.
    const onlyCandidate = previous === undefined || fresh.at - down(previous) > prompt;
    if (last && fresh.at - down(last) <= prompt && onlyCandidate) downAtLeast = before.length - 1;
  }
  const upAtLeast = reachedAtLeast - answers.length;
  add(downHop, 'request', downAtLeast, `forwarded by ${gw} on ${down}, never reached ${hex(e.dst)}`);
  add(
    downHop,
    'answer',
    upAtLeast,
    `${hex(e.dst)} answered, the answer never reached ${gw} (lost on ${down})`,
  );
  add(
    downHop,
    'unknown',
    lostDown - downAtLeast - upAtLeast,
    answers.length === 0
      ? `forwarded by ${gw} on ${down}; no answer came back (lost either way on ${down}, or ${hex(e.dst)} did not answer)`
      : `lost on ${down} between ${gw} and ${hex(e.dst)} (request or answer: the answers that came do not tell which)`,
  );
  accountSlowRetries(losses, e, (n) =>
    blameSlow(n, 'so the request was sent again although nothing was lost'),
  );
  return losses;
}

/**
 * A request answered after a retry with fewer copies lost than retries sent: the other retries
 * went because an answer was slow, not lost (it came as a duplicate, after the retry).
 */
function accountSlowRetries(losses: Loss[], e: RequestEvidence, blame: (count: number) => void): void {
  if (!e.answered) return;
  const placed = losses.reduce((n, l) => n + l.count, 0);
  const unplaced = e.attempts - 1 - placed;
  if (unplaced > 0) blame(unplaced);
}
