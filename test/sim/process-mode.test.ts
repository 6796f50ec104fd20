import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrame, encodeStreamFrame, type Frame, FrameStreamDecoder } from '@mcubus/protocol';
import { SerialPort } from 'serialport';
import { afterAll, describe, expect, it } from 'vitest';
import { assertAvailable, commandAvailable, shouldSkip } from '../support/requirements.js';
import { startSimulator } from '../support/sim-process.js';

const socat = commandAvailable('socat', 'apt-get install socat; .ci/run installs it');

describe.skipIf(shouldSkip(socat))(
  'process mode: the real serial stack against the simulator on a pty',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-pty-test-'));
    let child: ChildProcess | undefined;
    afterAll(() => {
      child?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    });

    it('a client opens the gateway UART with serialport and exchanges IDENTIFY/HELLO, then sees heartbeats', async () => {
      assertAvailable(socat);
      const sim = await startSimulator(['--pty-dir', dir, '--seed', '5']);
      child = sim.child;
      expect(sim.ports.map((p) => p.port).sort()).toEqual(['rs485', 'uart0']);
      const uart = sim.ports.find((p) => p.port === 'uart0')!;
      expect(uart).toMatchObject({ kind: 'uart', baud: 115200 });

      const port = new SerialPort({ path: uart.path, baudRate: uart.baud, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
      const decoder = new FrameStreamDecoder();
      const frames: Frame[] = [];
      port.on('data', (d: Buffer) => {
        for (const e of decoder.push(new Uint8Array(d))) if (e.kind === 'frame') frames.push(e.frame);
      });
      const waitFor = (pred: (f: Frame) => boolean, ms: number) =>
        new Promise<Frame>((resolve, reject) => {
          const start = Date.now();
          const poll = setInterval(() => {
            const hit = frames.find(pred);
            if (hit) {
              clearInterval(poll);
              resolve(hit);
            } else if (Date.now() - start > ms) {
              clearInterval(poll);
              reject(
                new Error(`not seen within ${ms} ms; got ${frames.map((f) => f.message.type).join(',')}`),
              );
            }
          }, 20);
        });

      port.write(
        Buffer.from(
          encodeStreamFrame(encodeFrame({ dst: 0x10, src: 0, seq: 77 }, { type: 'identify', body: {} })),
        ),
      );
      const hello = await waitFor(
        (f) => f.message.type === 'hello' && f.header.response && f.header.seq === 77,
        5000,
      );
      expect(hello.header.src).toBe(0x10);
      expect(hello.message).toMatchObject({
        body: { hardwareId: 'mcubus-ref-gw', firmwareVersion: [1, 0, 0] },
      });
      const hb = await waitFor((f) => f.message.type === 'heartbeat' && f.header.src === 0x10, 3000);
      expect(hb.message).toMatchObject({ body: { mode: 1 } });
      // Frames from behind the gateway arrive on the same pty.
      await waitFor((f) => f.header.src === 0x21, 3000);
      expect(decoder.counters.snapshot()).not.toHaveProperty('bad_crc');
      await new Promise<void>((resolve) => port.close(() => resolve()));
    });
  },
);
