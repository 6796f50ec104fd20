import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import type { Requirement } from './requirements.js';

/** Debian's Chromium: playwright-core drives it; its own browser download is not used (no network). */
export const CHROMIUM_PATH = process.env.MCUBUS_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumRequirement: Requirement = existsSync(CHROMIUM_PATH)
  ? { ok: true, reason: '' }
  : {
      ok: false,
      reason: `${CHROMIUM_PATH} is not installed (apt-get install chromium; .ci/run installs it)`,
    };

/** Screenshots the browser tests save (gitignored): the CI run's artifacts. */
export const ARTIFACTS_DIR = join(import.meta.dirname, '../../test-artifacts');

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

/**
 * Headless Chromium as the test user (root in CI: hence no sandbox). Background networking is off:
 * this machine has no network, and Chromium's own connections would only fail and add noise.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
