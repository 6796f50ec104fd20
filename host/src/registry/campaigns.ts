import type Database from 'better-sqlite3';

/** One device's part of a campaign, as stored. */
export interface CampaignItemRecord {
  readonly campaign: number;
  /** Items of a step run after every item of the steps before on the same bus. */
  readonly step: number;
  readonly device: number;
  readonly bus: string;
  readonly imagePath: string;
  readonly manifestPath: string;
  /** pending | running | done | failed | rolled_back | cancelled | refused */
  readonly state: string;
  readonly detail: string;
}

export interface CampaignRecord {
  readonly id: number;
  readonly createdMs: number;
  /** running | finished | cancelled */
  readonly state: string;
  readonly options: { allowDowngrade?: boolean; trialMs?: number };
  readonly items: CampaignItemRecord[];
}

interface ItemRow {
  campaign: number;
  step: number;
  device: number;
  bus: string;
  image_path: string;
  manifest_path: string;
  state: string;
  detail: string;
}

/** Update campaigns in SQLite: written at every step, so a restarted daemon picks them up. */
export class CampaignStore {
  constructor(private readonly db: Database.Database) {}

  create(
    createdMs: number,
    options: CampaignRecord['options'],
    items: readonly Omit<CampaignItemRecord, 'campaign' | 'state' | 'detail'>[],
  ): number {
    return this.db.transaction(() => {
      const id = Number(
        this.db
          .prepare('INSERT INTO campaigns (created_ms, state, options_json) VALUES (?, ?, ?)')
          .run(createdMs, 'running', JSON.stringify(options)).lastInsertRowid,
      );
      const insert = this.db.prepare(
        `INSERT INTO campaign_items (campaign, step, device, bus, image_path, manifest_path, state)
         VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
      );
      for (const i of items) insert.run(id, i.step, i.device, i.bus, i.imagePath, i.manifestPath);
      return id;
    })();
  }

  setItem(campaign: number, device: number, state: string, detail: string): void {
    this.db
      .prepare('UPDATE campaign_items SET state = ?, detail = ? WHERE campaign = ? AND device = ?')
      .run(state, detail, campaign, device);
  }

  setState(campaign: number, state: string): void {
    this.db.prepare('UPDATE campaigns SET state = ? WHERE id = ?').run(state, campaign);
  }

  get(id: number): CampaignRecord | undefined {
    const row = this.db
      .prepare<[number], { id: number; created_ms: number; state: string; options_json: string }>(
        'SELECT * FROM campaigns WHERE id = ?',
      )
      .get(id);
    if (!row) return undefined;
    const items = this.db
      .prepare<[number], ItemRow>('SELECT * FROM campaign_items WHERE campaign = ? ORDER BY step, device')
      .all(id)
      .map((r) => ({
        campaign: r.campaign,
        step: r.step,
        device: r.device,
        bus: r.bus,
        imagePath: r.image_path,
        manifestPath: r.manifest_path,
        state: r.state,
        detail: r.detail,
      }));
    return {
      id: row.id,
      createdMs: row.created_ms,
      state: row.state,
      options: JSON.parse(row.options_json) as CampaignRecord['options'],
      items,
    };
  }

  /** Newest first; `running` only the unfinished ones. */
  list(opts: { running?: boolean; limit?: number } = {}): CampaignRecord[] {
    const ids = this.db
      .prepare<[number], { id: number }>(
        `SELECT id FROM campaigns ${opts.running ? "WHERE state = 'running'" : ''} ORDER BY id DESC LIMIT ?`,
      )
      .all(opts.limit ?? 20);
    return ids.map((r) => this.get(r.id)).filter((c): c is CampaignRecord => c !== undefined);
  }
}
