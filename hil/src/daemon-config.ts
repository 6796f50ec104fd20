import { join } from 'node:path';

type RawMap = Readonly<Record<string, unknown>>;

/**
 * The mcubusd configuration the rig starts the daemon with: the rig file's, with the daemon's state
 * and socket in the run's work directory unless the rig file placed them, and `extraTrustedKeys` (the
 * key the rig signs its generated images with) added to `updates.trustedKeys`.
 */
export function daemonConfig(config: RawMap, work: string, extraTrustedKeys: readonly string[]): RawMap {
  const api = (config.api as RawMap | undefined) ?? {};
  const updates = (config.updates as RawMap | undefined) ?? {};
  const trusted = Array.isArray(updates.trustedKeys) ? (updates.trustedKeys as unknown[]) : [];
  return {
    ...config,
    stateDir: config.stateDir ?? join(work, 'state'),
    api: { ...api, socket: api.socket ?? join(work, 'mcubusd.sock') },
    ...(extraTrustedKeys.length > 0 || 'updates' in config
      ? { updates: { ...updates, trustedKeys: [...trusted, ...extraTrustedKeys] } }
      : {}),
  };
}

/** YAML is a superset of JSON: the written file is JSON, which mcubusd reads as its YAML. */
export function configText(config: RawMap): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
