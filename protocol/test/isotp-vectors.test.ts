import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type CanFrame,
  type FramePriority,
  type IsoTpEmit,
  type IsoTpInput,
  IsoTpNode,
} from '../src/isotp/index.js';

interface VectorFrame {
  dir: 'tx' | 'rx';
  atUs: number;
  id: string;
  fd: boolean;
  dataHex: string;
}

interface Vector {
  name: string;
  description: string;
  config: {
    fd: boolean;
    frameSize: number;
    padding: number | null;
    blockSize: number;
    stMinUs: number;
    maxMessageSize: number;
    nBsUs: number;
    nCrUs: number;
    maxWaitFrames: number;
  };
  sender: number;
  receiver: number;
  priority: FramePriority;
  functional: boolean;
  roles: ('sender' | 'receiver')[];
  payloadHex?: string;
  frames: VectorFrame[];
  error?: string;
}

const file = JSON.parse(readFileSync(new URL('../vectors/isotp.json', import.meta.url), 'utf8')) as {
  suite: string;
  description: string;
  vectors: Vector[];
};

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const show = (at: number, f: CanFrame) =>
  `${at} 0x${f.id.toString(16).padStart(8, '0')} fd=${f.fd} ${hex(f.data)}`;

/** Plays one side of a vector exactly as the file's description says a C test runner must. */
function replay(v: Vector, role: 'sender' | 'receiver') {
  const node = new IsoTpNode({
    address: role === 'sender' ? v.sender : v.receiver,
    fd: v.config.fd,
    frameSize: v.config.frameSize,
    padding: v.config.padding,
    blockSize: v.config.blockSize,
    stMinUs: v.config.stMinUs,
    maxMessageSize: v.config.maxMessageSize,
    timeouts: { nBsUs: v.config.nBsUs, nCrUs: v.config.nCrUs, maxWaitFrames: v.config.maxWaitFrames },
  });
  const own = role === 'sender' ? 'tx' : 'rx';
  const emitted: string[] = [];
  const events: IsoTpEmit[] = [];
  const apply = (event: IsoTpInput, at: number) => {
    const out = node.handle(event, at);
    emitted.push(...out.send.map((f) => show(at, f)));
    events.push(...out.emit);
  };
  const advance = (to: number) => {
    for (let i = 0; i < 100_000; i++) {
      const wake = node.nextWake();
      if (wake === undefined || wake > to) return;
      apply({ type: 'tick' }, wake);
    }
    throw new Error('node never settles');
  };

  if (role === 'sender') {
    const payload = bytes(v.payloadHex ?? '');
    const to = v.functional ? 0xff : v.receiver;
    apply({ type: 'transmit', handle: 1, to, payload, priority: v.priority, functional: v.functional }, 0);
  }
  for (const f of v.frames) {
    advance(f.atUs);
    const frame: CanFrame = { id: Number(f.id), extended: true, fd: f.fd, data: bytes(f.dataHex) };
    if (f.dir === own) expect(emitted.shift(), `${role} frame`).toBe(show(f.atUs, frame));
    else apply({ type: 'frame', frame }, f.atUs);
  }
  advance(Number.POSITIVE_INFINITY);
  expect(emitted, 'frames beyond the vector').toEqual([]);
  expect(node.pending()).toEqual({ transmitting: 0, queued: 0, receiving: 0 });
  return { node, events };
}

describe('isotp.json golden vectors', () => {
  it('is the isotp suite with good and error vectors', () => {
    expect(file.suite).toBe('isotp');
    expect(file.vectors.length).toBeGreaterThanOrEqual(20);
    expect(new Set(file.vectors.map((v) => v.name)).size).toBe(file.vectors.length);
    const errors = new Set(file.vectors.flatMap((v) => (v.error ? [v.error] : [])));
    for (const code of ['wrong_sn', 'unexpected_cf', 'invalid_pci', 'overflow', 'message_too_large']) {
      expect(errors).toContain(code);
    }
  });

  for (const v of file.vectors) {
    for (const role of v.roles) {
      it(`${v.name} (${role})`, () => {
        const { node, events } = replay(v, role);
        if (v.error !== undefined) {
          expect(node.counters.snapshot()).toEqual({ [v.error]: 1 });
          return;
        }
        expect(node.counters.total()).toBe(0);
        if (role === 'sender') {
          expect(events).toEqual([{ type: 'transmitted', handle: 1, to: v.functional ? 0xff : v.receiver }]);
        } else {
          expect(events).toEqual([
            {
              type: 'received',
              from: v.sender,
              priority: v.priority,
              payload: bytes(v.payloadHex ?? ''),
              functional: v.functional,
            },
          ]);
        }
      });
    }
  }
});
