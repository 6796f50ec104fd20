import { FLAG_RESPONSE, FLAG_RETRANSMIT, ForwardOutcome } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { type CopyAtGateway, placeLosses, type RequestEvidence } from '../src/trace/attribution.js';

const direct = (e: Partial<RequestEvidence>): RequestEvidence => ({
  dst: 0x21,
  bus: 'uart0',
  gateway: null,
  attempts: 1,
  answered: true,
  replayed: false,
  duplicateAnswers: 0,
  ...e,
});
const viaGw = (e: Partial<RequestEvidence>): RequestEvidence =>
  direct({ gateway: 0x10, gatewayLog: 'ok', promptAnswerUs: 5000, ...e });
const fwd = (at: number, extra: Partial<CopyAtGateway> = {}): CopyAtGateway => ({
  at,
  flags: 0,
  outcome: ForwardOutcome.forwarded,
  outPort: 'can0',
  ...extra,
});
const answer = (at: number, resent = false): CopyAtGateway => ({
  at,
  flags: FLAG_RESPONSE | (resent ? FLAG_RETRANSMIT : 0),
  outcome: ForwardOutcome.forwarded,
  outPort: 'uart0',
});

describe('placing losses (docs/observability.md "How a loss is placed")', () => {
  it('a clean exchange has none', () => {
    expect(placeLosses(direct({}))).toEqual([]);
  });

  it('direct: a fresh answer after a retry means the first copy never arrived; a resent one that the answer was lost', () => {
    expect(placeLosses(direct({ attempts: 2 }))).toEqual([
      {
        hop: 'uart0 host–0x21',
        direction: 'request',
        count: 1,
        cause: 'the request never reached 0x21 (lost on uart0)',
      },
    ]);
    expect(placeLosses(direct({ attempts: 2, replayed: true }))).toEqual([
      {
        hop: 'uart0 host–0x21',
        direction: 'answer',
        count: 1,
        cause: '0x21 answered, the answer was lost on uart0',
      },
    ]);
    expect(placeLosses(direct({ attempts: 3, answered: false }))[0]).toMatchObject({
      direction: 'unknown',
      count: 3,
    });
  });

  it('via a gateway: a copy the gateway never logged was lost before it', () => {
    const losses = placeLosses(
      viaGw({
        attempts: 2,
        requestCopies: [fwd(300_000, { flags: FLAG_RETRANSMIT })],
        answerCopies: [answer(302_000)],
      }),
    );
    expect(losses).toEqual([
      {
        hop: 'uart0 host–0x10',
        direction: 'request',
        count: 1,
        cause: 'never reached gateway 0x10 (lost on uart0)',
      },
    ]);
  });

  it('via a gateway: a prompt fresh answer to the second copy puts the first one on the way down', () => {
    const losses = placeLosses(
      viaGw({
        attempts: 2,
        requestCopies: [fwd(0), fwd(300_000, { flags: FLAG_RETRANSMIT })],
        answerCopies: [answer(302_000)],
      }),
    );
    expect(losses).toEqual([
      {
        hop: 'can0 0x10–0x21',
        direction: 'request',
        count: 1,
        cause: 'forwarded by 0x10 on can0, never reached 0x21',
      },
    ]);
  });

  it('via a gateway: only a resent answer came, so the first answer was lost on the way up', () => {
    const losses = placeLosses(
      viaGw({
        attempts: 2,
        replayed: true,
        requestCopies: [fwd(0), fwd(300_000, { flags: FLAG_RETRANSMIT })],
        answerCopies: [answer(302_000, true)],
      }),
    );
    expect(losses).toEqual([
      {
        hop: 'can0 0x10–0x21',
        direction: 'answer',
        count: 1,
        cause: '0x21 answered, the answer never reached 0x10 (lost on can0)',
      },
    ]);
  });

  it('via a gateway: a slow answer to an earlier copy is not taken as prompt', () => {
    // Both copies went down within the prompt window of the answer: it could be either's.
    const losses = placeLosses(
      viaGw({
        attempts: 2,
        requestCopies: [
          fwd(0, { wireAt: 299_000 }),
          fwd(300_000, { flags: FLAG_RETRANSMIT, wireAt: 300_000 }),
        ],
        answerCopies: [answer(302_000)],
      }),
    );
    expect(losses).toEqual([
      expect.objectContaining({ hop: 'can0 0x10–0x21', direction: 'unknown', count: 1 }),
    ]);
  });

  it('via a gateway: refused copies say why, and no answer at all leaves the direction open', () => {
    expect(
      placeLosses(
        viaGw({
          attempts: 1,
          answered: false,
          requestCopies: [fwd(0, { outcome: ForwardOutcome.no_route })],
        }),
      ),
    ).toEqual([{ hop: '0x10', direction: 'request', count: 1, cause: 'dropped by 0x10: no_route' }]);
    expect(placeLosses(viaGw({ attempts: 1, answered: false, requestCopies: [fwd(0)] }))).toEqual([
      expect.objectContaining({ hop: 'can0 0x10–0x21', direction: 'unknown', count: 1 }),
    ]);
  });

  it('a late answer is placed where the time went, marked late', () => {
    const waited = placeLosses(
      viaGw({
        attempts: 1,
        answered: false,
        lateAnswers: 1,
        requestCopies: [fwd(0, { wireAt: 700_000 })],
        answerCopies: [answer(702_000)],
      }),
    );
    expect(waited).toEqual([
      expect.objectContaining({ hop: 'can0 0x10–0x21', direction: 'request', count: 1, late: true }),
    ]);
    expect(waited[0]!.cause).toContain("waited 700 ms in 0x10's queue for can0");
  });

  it('without the gateway log the loss is still placed on the whole path, and says why it is vague', () => {
    const losses = placeLosses(viaGw({ attempts: 2, gatewayLog: 'missing' }));
    expect(losses).toEqual([
      expect.objectContaining({ hop: 'uart0 host–0x10–0x21', direction: 'unknown', count: 1 }),
    ]);
  });
});
