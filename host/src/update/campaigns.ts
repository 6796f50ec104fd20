import { decodeEnvelope, decodeManifest, formatVersion, type Manifest } from '@mcubus/protocol';
import type { CampaignStartRequest } from '../api/daemon-api.js';
import type { CampaignItemRecord, CampaignRecord } from '../registry/campaigns.js';
import type { Severity } from '../registry/journal.js';
import type { Registry } from '../registry/registry.js';
import { ImageFileError, readImageFile, readManifestFile } from './image-files.js';
import { UpdateRefused, type UpdateView } from './manager.js';
import type { UpdateImage } from './transfer.js';

/**
 * Update campaigns: a set of devices, each with an image, updated in an order that is safe and
 * quick, persisted at every step so that a restarted daemon carries on (docs/updates.md).
 *
 * The plan: one update at a time per host bus (they share its bandwidth; heartbeats and time sync
 * keep flowing between chunks), buses in parallel, and on each bus the nodes behind a gateway before
 * the gateway itself — updating the gateway first would cut the path to them while it reboots.
 */
export interface PlanInput {
  readonly device: number;
  readonly bus: string;
  /** Gateway the host reaches it through, or null. */
  readonly via: number | null;
  readonly hops: number;
  readonly imagePath: string;
  readonly manifestPath: string;
}

export interface PlannedItem extends PlanInput {
  /** Position on its bus: items of a bus run one after another in this order. */
  readonly step: number;
}

export function planCampaign(items: readonly PlanInput[]): PlannedItem[] {
  const gateways = new Set(items.map((i) => i.via).filter((v): v is number => v !== null));
  const byBus = new Map<string, PlanInput[]>();
  for (const i of items) byBus.set(i.bus, [...(byBus.get(i.bus) ?? []), i]);
  const out: PlannedItem[] = [];
  for (const list of byBus.values()) {
    const ordered = [...list].sort(
      (a, b) =>
        b.hops - a.hops ||
        Number(gateways.has(a.device)) - Number(gateways.has(b.device)) ||
        a.device - b.device,
    );
    for (const [step, i] of ordered.entries()) out.push({ ...i, step });
  }
  return out.sort((a, b) => a.bus.localeCompare(b.bus) || a.step - b.step);
}

export interface CampaignHost {
  readonly registry: Registry;
  nowMs(): number;
  /** Route facts of a known device. */
  route(device: number): { bus: string; via: number | null; hops: number } | undefined;
  /** The version the device runs, and whether it is confirmed (an application in test mode is not). */
  running(device: number, kind: 0 | 1): { version: string; confirmed: boolean; slot?: number } | undefined;
  /**
   * Asks the device for a fresh HELLO (IDENTIFY), which updates what `running` says; resolves when it
   * answered or gave up.
   */
  identify?(device: number): Promise<void>;
  /**
   * Confirms the test image in `slot` (UPDATE_CONFIRM); true when the device said OK. With the slot, a
   * device that has reverted to its old image meanwhile refuses instead of answering "already confirmed".
   */
  confirm(device: number, slot?: number): Promise<boolean>;
  update(
    device: number,
    image: UpdateImage,
    options: { allowDowngrade?: boolean; trialMs?: number },
  ): Promise<UpdateView>;
  cancelUpdate(device: number): boolean;
  journal(
    kind: string,
    severity: Severity,
    message: string,
    extra: { device?: number; data?: unknown },
  ): void;
  /** Calls `fn` once after `ms` (a daemon runtime timer). */
  after(ms: number, fn: () => void): void;
}

/** What a campaign is asked for (the control API's shape). */
export type CampaignRequest = CampaignStartRequest;

export interface PlanView {
  readonly device: number;
  readonly bus: string;
  readonly step: number;
  readonly version?: string;
  /** Why it would be refused, if it would. */
  readonly problem?: string;
}

/** A device not heard since a restart is looked for every 2 s, for a minute. */
const UNHEARD_RETRY_MS = 2000;
const UNHEARD_RETRIES = 30;

const TERMINAL = new Set(['done', 'failed', 'rolled_back', 'cancelled', 'refused']);

/**
 * An update that failed for a reason of the path, not of the image — no answers (a gateway
 * rebooting, a line down), too little progress, no boot seen after activation, the device busy — is
 * tried again: RETRIES more times, RETRY_AFTER_MS × attempt later, resuming where the device stands
 * (it is asked first what it runs). A refusal or a rollback is final.
 */
export const CAMPAIGN_RETRIES = 3;
const RETRY_AFTER_MS = 10_000;
const TRANSIENT = new Set(['timeout', 'stalled', 'boot', 'device:busy', 'device:flash_error']);

export class CampaignRunner {
  readonly #h: CampaignHost;
  /** Campaign id → devices whose update this runner started (and awaits). */
  readonly #active = new Map<number, Set<number>>();
  #stopped = false;
  /** Items that were running when a previous daemon stopped, by "campaign:device". */
  readonly #resumed = new Set<string>();
  /** Retries of items whose device has not been heard yet, by "campaign:device". */
  readonly #waits = new Map<string, number>();
  /** `campaign:device` → the attempt an item is on (1 = the first; CAMPAIGN_RETRIES more allowed). */
  readonly #attempts = new Map<string, number>();

  constructor(host: CampaignHost) {
    this.#h = host;
  }

  /** Plans (and unless `dryRun`, starts) a campaign. Unknown devices and unreadable files are problems of the plan. */
  start(req: CampaignRequest, dryRun: boolean): { id?: number; plan: PlanView[] } {
    const inputs: PlanInput[] = [];
    const problems = new Map<number, string>();
    const versions = new Map<number, string>();
    for (const i of req.items) {
      const route = this.#h.route(i.device);
      if (!route) {
        problems.set(i.device, `no device at 0x${i.device.toString(16)}`);
        continue;
      }
      try {
        const m = manifestOf(i.manifestPath);
        versions.set(i.device, formatVersion(m.version));
        readImageFile(i.imagePath);
      } catch (e) {
        problems.set(i.device, (e as Error).message);
      }
      inputs.push({ ...i, ...route });
    }
    const plan = planCampaign(inputs);
    const view: PlanView[] = [
      ...plan.map((p) => ({
        device: p.device,
        bus: p.bus,
        step: p.step,
        ...(versions.has(p.device) ? { version: versions.get(p.device)! } : {}),
        ...(problems.has(p.device) ? { problem: problems.get(p.device)! } : {}),
      })),
      ...req.items
        .filter((i) => !plan.some((p) => p.device === i.device))
        .map((i) => ({ device: i.device, bus: '-', step: 0, problem: problems.get(i.device) ?? 'unknown' })),
    ];
    if (dryRun || view.some((v) => v.problem)) return { plan: view };
    const options = {
      ...(req.allowDowngrade ? { allowDowngrade: true } : {}),
      ...(req.trialMs !== undefined ? { trialMs: req.trialMs } : {}),
    };
    const id = this.#h.registry.campaigns.create(this.#h.nowMs(), options, plan);
    this.#h.journal(
      'campaign.start',
      'info',
      `campaign ${id}: ${plan.length} device(s) on ${new Set(plan.map((p) => p.bus)).size} bus(es)`,
      {
        data: { campaign: id, plan: view },
      },
    );
    this.#kick(id);
    return { id, plan: view };
  }

  /** After a daemon restart: carries on with every unfinished campaign. */
  resumeAll(): void {
    for (const c of this.#h.registry.campaigns.list({ running: true, limit: 100 })) {
      for (const i of c.items) {
        // Whatever ran when the daemon stopped runs again: the device says where it stands.
        if (i.state === 'running') {
          this.#h.registry.campaigns.setItem(c.id, i.device, 'pending', 'resumed after a daemon restart');
          this.#resumed.add(`${c.id}:${i.device}`);
        }
      }
      this.#h.journal('campaign.resume', 'info', `campaign ${c.id} resumes after a daemon restart`, {
        data: { campaign: c.id },
      });
      this.#kick(c.id);
    }
  }

  cancel(id: number): boolean {
    const c = this.#h.registry.campaigns.get(id);
    if (c?.state !== 'running') return false;
    this.#h.registry.campaigns.setState(id, 'cancelled');
    for (const i of c.items) {
      if (i.state === 'pending')
        this.#h.registry.campaigns.setItem(id, i.device, 'cancelled', 'cancelled before it started');
      if (i.state === 'running') this.#h.cancelUpdate(i.device);
    }
    this.#h.journal('campaign.cancel', 'warning', `campaign ${id} cancelled`, { data: { campaign: id } });
    return true;
  }

  list(): CampaignRecord[] {
    return this.#h.registry.campaigns.list();
  }

  stop(): void {
    this.#stopped = true;
  }

  /** A failure in a callback (the database) is journaled, not thrown into the event loop. */
  #guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      try {
        this.#h.journal(
          'campaign.error',
          'error',
          `campaign bookkeeping failed: ${(e as Error).message}`,
          {},
        );
      } catch {
        // The journal is the database too: nothing more to do than to stop throwing.
      }
    }
  }

  #kick(id: number): void {
    if (this.#stopped) return;
    const c = this.#h.registry.campaigns.get(id);
    if (c?.state !== 'running') return;
    const active = this.#active.get(id) ?? new Set<number>();
    this.#active.set(id, active);
    const buses = new Set(c.items.map((i) => i.bus));
    for (const bus of buses) {
      // Read again per bus: starting one item can finish others at once (and kick nested).
      const now = this.#h.registry.campaigns.get(id);
      if (now?.state !== 'running') return;
      const items = now.items.filter((i) => i.bus === bus);
      if (items.some((i) => i.state === 'running')) continue;
      const next = items.find((i) => i.state === 'pending' && !active.has(i.device));
      if (next) this.#run(now, next, active);
    }
    const fresh = this.#h.registry.campaigns.get(id)!;
    // (A nested kick may have finished it already.)
    if (fresh.state === 'running' && fresh.items.every((i) => TERMINAL.has(i.state))) {
      this.#active.delete(id);
      const failed = fresh.items.filter((i) => i.state !== 'done');
      // State and entry in one transaction: a daemon killed between the two left a finished campaign
      // that no restart resumes and no campaign.done records (crash-safety run, docs/reliability.md).
      this.#h.registry.atomically(() => {
        this.#h.registry.campaigns.setState(id, 'finished');
        this.#h.journal(
          'campaign.done',
          failed.length ? 'error' : 'info',
          `campaign ${id} finished: ${fresh.items.length - failed.length} of ${fresh.items.length} updated${failed.length ? `; ${failed.map((f) => `0x${f.device.toString(16)} ${f.state}`).join(', ')}` : ''}`,
          { data: { campaign: id, items: fresh.items.map((i) => ({ device: i.device, state: i.state })) } },
        );
      });
    }
  }

  #run(c: CampaignRecord, item: CampaignItemRecord, active: Set<number>): void {
    const store = this.#h.registry.campaigns;
    // The device may have booted its new image while no daemon listened (killed after ACTIVATE): its
    // HELLO was lost and the registry still names the old version, so an update would be begun again
    // and refused (a test image runs). Ask the device first; the item holds its bus meanwhile.
    if (this.#h.identify && this.#resumed.delete(`${c.id}:${item.device}`)) {
      store.setItem(c.id, item.device, 'running', 'asking the device what it runs');
      active.add(item.device);
      void this.#h.identify(item.device).then(() =>
        this.#guarded(() => {
          active.delete(item.device);
          if (this.#stopped) return;
          const now = store.get(c.id);
          if (now?.state === 'running') this.#run(now, item, active);
          else store.setItem(c.id, item.device, 'cancelled', 'cancelled before it started');
        }),
      );
      return;
    }
    let image: UpdateImage;
    try {
      const envelope = readManifestFile(item.manifestPath);
      image = { image: readImageFile(item.imagePath), envelope, manifest: manifestOf(item.manifestPath) };
    } catch (e) {
      store.setItem(c.id, item.device, 'refused', (e as Error).message);
      this.#kick(c.id);
      return;
    }
    // Restarted after the device took its new image: confirm it if its trial was cut short.
    const now = this.#h.running(item.device, image.manifest.kind);
    const want = formatVersion(image.manifest.version);
    if (now?.version === want) {
      if (now.confirmed) {
        store.setItem(c.id, item.device, 'done', `already running ${want}`);
        this.#kick(c.id);
        return;
      }
      store.setItem(c.id, item.device, 'running', `running ${want} unconfirmed; confirming`);
      active.add(item.device);
      void this.#h.confirm(item.device, now.slot).then((ok) =>
        this.#guarded(() => {
          active.delete(item.device);
          if (this.#stopped) return;
          store.setItem(
            c.id,
            item.device,
            ok ? 'done' : 'failed',
            ok ? `running ${want}, confirmed` : 'confirm refused',
          );
          this.#kick(c.id);
        }),
      );
      return;
    }
    let started: Promise<UpdateView>;
    try {
      started = this.#h.update(item.device, image, c.options);
    } catch (e) {
      // Not heard since the daemon (re)started — no route yet: try again shortly, for a minute.
      if (e instanceof UpdateRefused && e.code === 'unknown_device') {
        const tries = (this.#waits.get(`${c.id}:${item.device}`) ?? 0) + 1;
        this.#waits.set(`${c.id}:${item.device}`, tries);
        if (tries <= UNHEARD_RETRIES) {
          this.#h.after(UNHEARD_RETRY_MS, () => this.#kick(c.id));
          return;
        }
      }
      const detail = e instanceof UpdateRefused ? `${e.code}: ${e.message}` : (e as Error).message;
      store.setItem(c.id, item.device, 'refused', detail);
      this.#kick(c.id);
      return;
    }
    store.setItem(c.id, item.device, 'running', '');
    active.add(item.device);
    void started.then((v) =>
      this.#guarded(() => {
        active.delete(item.device);
        if (this.#stopped) return;
        if (v.phase === 'failed' && v.reason && TRANSIENT.has(v.reason) && this.#retry(c.id, item, v)) return;
        store.setItem(c.id, item.device, v.phase, v.detail);
        this.#kick(c.id);
      }),
    );
  }

  /**
   * Schedules another attempt of a failed item, if it has any left; the item keeps its bus (and its
   * `running` state, so that a daemon restarted meanwhile resumes it) until then.
   */
  #retry(id: number, item: CampaignItemRecord, v: UpdateView): boolean {
    const key = `${id}:${item.device}`;
    const attempt = (this.#attempts.get(key) ?? 1) + 1;
    if (attempt > CAMPAIGN_RETRIES + 1) return false;
    this.#attempts.set(key, attempt);
    const inMs = RETRY_AFTER_MS * (attempt - 1);
    const why = `${v.reason}: ${v.detail}`;
    this.#h.registry.campaigns.setItem(
      id,
      item.device,
      'running',
      `attempt ${attempt - 1} failed (${why}); attempt ${attempt} of ${CAMPAIGN_RETRIES + 1} in ${inMs / 1000} s`,
    );
    this.#h.journal(
      'campaign.retry',
      'warning',
      `campaign ${id}: 0x${item.device.toString(16)} failed (${why}); trying again in ${inMs / 1000} s (attempt ${attempt} of ${CAMPAIGN_RETRIES + 1})`,
      { device: item.device, data: { campaign: id, attempt, reason: v.reason } },
    );
    const active = this.#active.get(id);
    active?.add(item.device);
    this.#h.after(inMs, () =>
      this.#guarded(() => {
        active?.delete(item.device);
        if (this.#stopped) return;
        const c = this.#h.registry.campaigns.get(id);
        if (c?.state !== 'running') {
          this.#h.registry.campaigns.setItem(id, item.device, 'cancelled', `cancelled; ${why}`);
          return;
        }
        // Ask the device first, as after a restart: it may have booted the image after all.
        this.#resumed.add(key);
        this.#run(c, item, active ?? new Set());
      }),
    );
    return true;
  }
}

function manifestOf(path: string): Manifest {
  const env = decodeEnvelope(readManifestFile(path));
  if (!env.ok) throw new ImageFileError('unreadable', path, env.error.message);
  const m = decodeManifest(env.value.manifest);
  if (!m.ok) throw new ImageFileError('unreadable', path, m.error.message);
  return m.value;
}
