import { createHash, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DaemonApi, DeviceView } from '../api/daemon-api.js';
import type { FleetConfig } from '../config/fleet.js';
import type { DaemonLogger } from '../daemon/daemon.js';
import type { TrafficSnapshot } from '../metrics/traffic.js';
import { type Command, CommandError, parseDeviceCommand, parseNodeCommand } from './commands.js';
import { brokerError, FleetError } from './errors.js';
import {
  checkDownloadedImage,
  describeManifest,
  download,
  downloadManifest,
  MAX_IMAGE_BYTES,
  verifyManifest,
} from './image-fetch.js';
import { LatestTelemetry } from './latest-telemetry.js';
import { decodePayload, encodePayload } from './payload-codec.js';
import { addressOf, buildSnapshot, type CommandOutcome, deviceId } from './snapshot.js';
import { type Outgoing, type Snapshot, SparkplugNode } from './sparkplug-node.js';

export interface FleetClientOptions {
  readonly config: FleetConfig;
  readonly api: DaemonApi;
  /** The keys a manifest fetched for a command must be signed with (the daemon's own). */
  readonly trustedKeys: readonly KeyObject[];
  /** bdSeq and fetched images are kept here. */
  readonly stateDir: string;
  readonly log: DaemonLogger;
  readonly traffic?: () => TrafficSnapshot;
}

/** Event-driven publishes wait this long, so that a burst of daemon events makes one DDATA. */
const EVENT_COALESCE_MS = 50;
/** A clean stop waits this long for the broker to acknowledge the NDEATH. */
const STOP_NDEATH_TIMEOUT_MS = 2000;

/**
 * Binds the Sparkplug state machine (sparkplug-node.ts) to an MQTT connection, the daemon's state (read
 * through the DaemonApi, with its event stream as a hint that something changed) and wall-clock timers.
 * The connection runs in the background: a broker that is down delays the births, never the daemon.
 */
export class FleetClient {
  readonly #o: FleetClientOptions;
  readonly #node: SparkplugNode;
  readonly #client: MqttClient;
  readonly #telemetry: LatestTelemetry;
  readonly #stateFile: string;
  readonly #timer: NodeJS.Timeout;
  readonly #unsubscribe: () => void;
  #soon: NodeJS.Timeout | null = null;
  #nodeCommand: CommandOutcome | undefined;
  readonly #deviceCommands = new Map<string, CommandOutcome>();
  #lastError = '';
  #closed = false;

  private constructor(o: FleetClientOptions, tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'>) {
    this.#o = o;
    this.#stateFile = join(o.stateDir, 'fleet.json');
    this.#node = new SparkplugNode({
      groupId: o.config.groupId,
      edgeNodeId: o.config.edgeNodeId,
      ...readLastBdSeq(this.#stateFile),
    });
    this.#telemetry = new LatestTelemetry((q) => o.api.telemetry(q));
    const c = o.config;
    this.#client = mqtt.connect(c.broker, {
      clientId: `mcubus-${c.groupId}-${c.edgeNodeId}`,
      // Sparkplug B 3.0 requires a clean session: commands are not queued for a dead node.
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      // Subscriptions are made anew before each NBIRTH (below), and values published while offline
      // are stale: the births after the reconnect carry the current ones.
      resubscribe: false,
      queueQoSZero: false,
      will: this.#willOption(),
      ...(c.username === undefined ? {} : { username: c.username }),
      ...(c.password === undefined ? {} : { password: c.password }),
      ...tls,
    });
    // Each CONNECT registers its own will, with the bdSeq of the session it would open.
    this.#client.on('reconnect', () => {
      this.#client.options.will = this.#willOption();
    });
    this.#client.on('connect', () => void this.#online());
    this.#client.on('close', () => this.#node.disconnected());
    this.#client.on('error', (e) => this.#error(brokerError(c.broker, e)));
    this.#client.on('message', (topic, payload) => this.#message(topic, payload));
    this.#timer = setInterval(() => this.#publish(), c.publishEveryMs);
    this.#unsubscribe = o.api.subscribe(() => this.#publishSoon());
  }

  /** Reads the TLS files (a FleetError names the one that cannot be read) and starts connecting. */
  static start(o: FleetClientOptions): FleetClient {
    const tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'> = {};
    for (const k of ['ca', 'cert', 'key'] as const) {
      const path = o.config.tls?.[k];
      if (path === undefined) continue;
      try {
        tls[k] = readFileSync(path);
      } catch (e) {
        throw new FleetError('tls_file', `fleet.tls.${k}: cannot read ${path}: ${(e as Error).message}`);
      }
    }
    mkdirSync(o.stateDir, { recursive: true });
    return new FleetClient(o, tls);
  }

  /** Publishes the NDEATH (a clean DISCONNECT does not fire the will) and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
    this.#unsubscribe();
    const death = this.#node.stopping(Date.now());
    if (death !== null && this.#client.connected) {
      const sent = this.#client.publishAsync(death.topic, Buffer.from(encodePayload(death.payload)), {
        qos: death.qos,
      });
      await Promise.race([sent.catch(() => undefined), delay(STOP_NDEATH_TIMEOUT_MS)]);
    }
    await this.#client.endAsync(true).catch(() => undefined);
  }

  #willOption(): NonNullable<IClientOptions['will']> {
    const w = this.#node.will(Date.now());
    return { topic: w.topic, payload: Buffer.from(encodePayload(w.payload)), qos: w.qos, retain: false };
  }

  async #online(): Promise<void> {
    try {
      // Commands must be heard from the first birth on (a host may answer an NBIRTH with a rebirth).
      await this.#client.subscribeAsync(this.#node.commandTopics(), { qos: 1 });
    } catch (e) {
      this.#error(brokerError(this.#o.config.broker, e as Error));
      return;
    }
    if (!this.#client.connected || this.#closed) return;
    const births = this.#node.connected(this.#snapshot(), Date.now());
    this.#saveBdSeq();
    this.#lastError = '';
    this.#o.log.info(
      { broker: this.#o.config.broker, bdSeq: this.#node.bdSeq, devices: births.length - 1 },
      'fleet: connected, births published',
    );
    this.#send(births);
  }

  #publish(): void {
    if (this.#soon) clearTimeout(this.#soon);
    this.#soon = null;
    if (!this.#node.online || this.#closed) return;
    this.#send(this.#node.update(this.#snapshot(), Date.now()));
  }

  #publishSoon(): void {
    if (this.#soon === null && !this.#closed)
      this.#soon = setTimeout(() => this.#publish(), EVENT_COALESCE_MS);
  }

  #send(messages: readonly Outgoing[]): void {
    for (const m of messages) {
      this.#client.publish(m.topic, Buffer.from(encodePayload(m.payload)), { qos: m.qos, retain: false });
    }
  }

  #snapshot(): Snapshot {
    const api = this.#o.api;
    return buildSnapshot({
      status: api.status(),
      health: api.health(),
      time: api.time(),
      updates: api.updates(),
      campaigns: api.campaigns(),
      telemetry: this.#telemetry.poll(),
      ...(this.#o.traffic ? { traffic: this.#o.traffic() } : {}),
      commands: {
        ...(this.#nodeCommand ? { node: this.#nodeCommand } : {}),
        devices: this.#deviceCommands,
      },
    });
  }

  #message(topic: string, payload: Buffer): void {
    const ncmd = topic === this.#node.topic('NCMD');
    const dcmdPrefix = `${this.#node.topic('DCMD', '')}`;
    const device = !ncmd && topic.startsWith(dcmdPrefix) ? topic.slice(dcmdPrefix.length) : undefined;
    if (!ncmd && device === undefined) return;
    let command: Command;
    try {
      const { metrics } = decodePayload(payload);
      command = ncmd ? parseNodeCommand(metrics) : parseDeviceCommand(device!, metrics);
    } catch (e) {
      this.#outcome(device, { status: 'rejected', reason: reasonOf(e) });
      return;
    }
    if (command.kind === 'rebirth') {
      this.#o.log.info({}, 'fleet: rebirth requested');
      this.#send(this.#node.rebirth(this.#snapshot(), Date.now()));
      return;
    }
    this.#o.log.info({ command }, 'fleet: update command');
    this.#outcome(device, { status: 'downloading', reason: `${command.imageUrl}` });
    this.#update(command).then(
      (r) => this.#outcome(device, { status: 'accepted', reason: r.summary, campaign: r.campaign }, false),
      (e: unknown) => {
        this.#o.log.warn({ command, reason: reasonOf(e) }, 'fleet: update command rejected');
        this.#outcome(device, { status: 'rejected', reason: reasonOf(e) }, false);
      },
    );
  }

  /**
   * Records a command's outcome (a new command unless `newCommand` is false) and publishes it: on the
   * device that was addressed, or on the node when no such device is known (it has no DDATA).
   */
  #outcome(target: string | undefined, o: Omit<CommandOutcome, 'count'>, newCommand = true): void {
    const address = target === undefined ? undefined : addressOf(target);
    const device = address !== undefined && this.#o.api.device(address) ? target : undefined;
    const previous = device === undefined ? this.#nodeCommand : this.#deviceCommands.get(device);
    const next = { ...o, count: (previous?.count ?? 0) + (newCommand ? 1 : 0) };
    if (device === undefined) this.#nodeCommand = next;
    else this.#deviceCommands.set(device, next);
    this.#publish();
  }

  /**
   * Fetches the signed manifest, verifies it with the trusted keys, picks the MCUs it is for, fetches
   * the image and checks it against the manifest, and only then starts a campaign with the two files.
   */
  async #update(c: Extract<Command, { kind: 'update' }>): Promise<{ campaign: number; summary: string }> {
    const api = this.#o.api;
    let device: DeviceView | undefined;
    if (c.target !== 'all') {
      const address = addressOf(c.target);
      device = address === undefined ? undefined : api.device(address);
      if (device === undefined) throw new CommandError('unknown_device', `no MCU is known as ${c.target}`);
    }
    const envelope = await downloadManifest(c.manifestUrl);
    const manifest = verifyManifest(envelope, this.#o.trustedKeys);
    let targets: DeviceView[];
    if (device !== undefined) {
      if (device.hardwareId !== manifest.hardwareId) {
        throw new CommandError(
          'hardware_mismatch',
          `${c.target} is ${device.hardwareId ?? 'of unknown hardware'}; the image is for ${manifest.hardwareId}`,
        );
      }
      targets = [device];
    } else {
      targets = api.devices().filter((d) => d.hardwareId === manifest.hardwareId);
      if (targets.length === 0) {
        throw new CommandError('no_target', `no MCU has hardware id ${manifest.hardwareId}`);
      }
    }
    if (manifest.size > MAX_IMAGE_BYTES) {
      throw new CommandError(
        'image_mismatch',
        `the manifest announces ${manifest.size} bytes, over the limit`,
      );
    }
    const image = await download(c.imageUrl, manifest.size);
    checkDownloadedImage(manifest, image);
    // Named by content: the campaign reads the files again if the daemon restarts mid-campaign.
    const dir = join(this.#o.stateDir, 'fleet-images');
    mkdirSync(dir, { recursive: true });
    const imagePath = join(dir, `${createHash('sha256').update(image).digest('hex')}.bin`);
    const manifestPath = `${imagePath}.manifest`;
    writeFileSync(imagePath, image);
    writeFileSync(manifestPath, envelope);
    const started = api.startCampaign(
      { items: targets.map((d) => ({ device: d.address, imagePath, manifestPath })) },
      false,
    );
    if (started.id === undefined) {
      const problems = started.plan.flatMap((p) =>
        p.problem ? [`${deviceId(p.device)}: ${p.problem}`] : [],
      );
      throw new CommandError('campaign_refused', problems.join('; ') || 'the campaign did not start');
    }
    return {
      campaign: started.id,
      summary: `campaign ${started.id}: ${describeManifest(manifest)} to ${targets.map((d) => deviceId(d.address)).join(', ')}`,
    };
  }

  #error(e: FleetError): void {
    // A broker that stays down fails every 2 s: say it once per distinct problem.
    if (e.message === this.#lastError) return;
    this.#lastError = e.message;
    this.#o.log.warn({ code: e.code }, `fleet: ${e.message}`);
  }

  #saveBdSeq(): void {
    try {
      writeFileSync(this.#stateFile, `${JSON.stringify({ bdSeq: this.#node.bdSeq })}\n`);
    } catch (e) {
      this.#error(new FleetError('state_file', `cannot write ${this.#stateFile}: ${(e as Error).message}`));
    }
  }
}

function readLastBdSeq(path: string): { lastBdSeq?: number } {
  try {
    const v = (JSON.parse(readFileSync(path, 'utf8')) as { bdSeq?: unknown }).bdSeq;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255 ? { lastBdSeq: v } : {};
  } catch {
    return {}; // first start, or an unreadable file: a new sequence from 0
  }
}

function reasonOf(e: unknown): string {
  if (e instanceof CommandError) return e.reason;
  return `bad_command: ${(e as Error).message}`;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
