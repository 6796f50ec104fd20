import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { decodePayload, encodePayload, type Metric, type Payload } from '@mcubus/host';
import mqtt, { type MqttClient } from 'mqtt';
import { commandAvailable } from './requirements.js';
import { eventually } from './sim-process.js';

export const mosquittoCommand = commandAvailable(
  'mosquitto',
  'apt-get install mosquitto; .ci/run installs it',
);

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => resolve(c.destroy() !== undefined));
    c.once('error', () => resolve(false));
  });

/** A real Mosquitto broker as a child process on a port of its own (no system service). */
export class Mosquitto {
  #child: ChildProcess | null = null;
  log = '';
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    // `-p` alone: Mosquitto 2 then listens on loopback only and lets anonymous clients in.
    const child = spawn('mosquitto', ['-p', String(this.port), '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.#child = child;
    await eventually(
      async () => ((await accepts(this.port)) ? true : undefined),
      10_000,
      'mosquitto up',
      () => this.log.slice(-500),
    );
  }

  async stop(): Promise<void> {
    const c = this.#child;
    this.#child = null;
    if (c === null || c.exitCode !== null) return;
    c.kill('SIGKILL');
    await new Promise((r) => c.once('exit', r));
  }
}

/**
 * A TCP relay in front of the broker for the daemon, with a gate: while closed, new connections wait
 * (their CONNECT unanswered) until it opens. After a broker restart the test's subscriber gets to
 * subscribe before the daemon's reconnect can publish its births: no race on what the test sees.
 */
export class GatedRelay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #open = true;
  #waiting: (() => void)[] = [];
  port = 0;

  constructor(readonly upstreamPort: number) {
    this.#server = createServer((down) => {
      this.#sockets.add(down);
      down.pause();
      const go = () => {
        const up = createConnection({ port: this.upstreamPort, host: '127.0.0.1' });
        this.#sockets.add(up);
        down.pipe(up).pipe(down);
        down.resume();
        const end = () => {
          up.destroy();
          down.destroy();
        };
        up.on('error', end).on('close', end);
        down.on('error', end).on('close', end);
      };
      if (this.#open) go();
      else this.#waiting.push(go);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
  }

  close(): void {
    this.#open = false;
  }

  open(): void {
    this.#open = true;
    for (const go of this.#waiting.splice(0)) go();
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.#server.close(r));
  }
}

export interface Seen {
  readonly topic: string;
  /** NBIRTH, DDATA, … */
  readonly type: string;
  /** Device id, for D* messages. */
  readonly device?: string;
  readonly payload: Payload;
}

/** Everything published under spBv1.0/, decoded, in arrival order; and a way to send commands. */
export class SparkplugWatcher {
  readonly seen: Seen[] = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, bytes) => {
      const [, , type, , device] = topic.split('/');
      this.seen.push({ topic, type: type!, ...(device ? { device } : {}), payload: decodePayload(bytes) });
    });
  }

  static async connect(port: number): Promise<SparkplugWatcher> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    const w = new SparkplugWatcher(client);
    await client.subscribeAsync('spBv1.0/#', { qos: 1 });
    return w;
  }

  /** Waits for a message after index `from` that `match` accepts. */
  async next(match: (s: Seen) => boolean, what: string, from = 0, timeoutMs = 30_000): Promise<Seen> {
    return eventually(
      async () => this.seen.slice(from).find(match),
      timeoutMs,
      what,
      () =>
        this.seen
          .slice(-8)
          .map((s) => `${s.topic} seq=${s.payload.seq}`)
          .join('\n'),
    );
  }

  /** A device's (or the node's) latest value of a metric: DDATA carry only what changed. */
  latest(device: string | undefined, name: string): unknown {
    for (let i = this.seen.length - 1; i >= 0; i--) {
      const s = this.seen[i]!;
      if (s.device !== device || !s.payload.metrics.some((m) => m.name === name)) continue;
      return value(s, name);
    }
    return undefined;
  }

  /** Publishes a command (NCMD/DCMD) as a Sparkplug host application would. */
  async command(topic: string, metrics: Metric[]): Promise<void> {
    await this.client.publishAsync(topic, Buffer.from(encodePayload({ timestamp: Date.now(), metrics })), {
      qos: 1,
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export function value(s: Seen, name: string): unknown {
  return s.payload.metrics.find((m) => m.name === name)?.value;
}
