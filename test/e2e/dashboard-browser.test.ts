import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceBoard } from '@mcubus/firmware-sim';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { artifactPath, chromiumRequirement, launchChromium } from '../support/browser.js';
import { signForSimulator, startDaemonProcess } from '../support/daemon-process.js';
import { assertAvailable, shouldSkip } from '../support/requirements.js';

/** node-b (0x22) crashes three times, 3 s apart (virtual time = wall time in mcubusd): a crash loop. */
const CRASH_AT_MS = [20_000, 23_000, 26_000];
const TOKEN = 'dashboard-e2e-token';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The dashboard in headless Chromium against the real daemon process (host/dist) on the embedded
 * simulated reference board, over a token-protected TCP listener: the page is opened with ?token=
 * like an operator would. It must show the four MCUs, follow an update to the end, turn the row of a
 * device in a crash loop red, and show a message trace hop by hop. Screenshots go to test-artifacts/;
 * MCUBUS_DASHBOARD_SCREENSHOT=1 also refreshes docs/dashboard.png (the README's picture).
 */
describe.skipIf(shouldSkip(chromiumRequirement))('the dashboard in a browser', () => {
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let dir = '';
  afterAll(async () => {
    await browser?.close();
    child?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the board live: devices, an update to completion, a crash loop, a trace', async () => {
    assertAvailable(chromiumRequirement);
    const built = join(import.meta.dirname, '../../dashboard/dist/index.html');
    if (!existsSync(built)) throw new Error(`${built} is missing: run "npm run build:ui" (npm test does)`);
    dir = mkdtempSync(join(tmpdir(), 'mcubus-dash-'));
    const board = {
      ...referenceBoard(),
      faults: CRASH_AT_MS.map((atMs) => ({ atMs, kind: 'crash' as const, mcu: 'node-b' })),
    };
    writeFileSync(join(dir, 'board.json'), JSON.stringify(board));
    const image = join(dir, 'node.bin');
    await signForSimulator(dir, image, Buffer.alloc(32 * 1024, 0x5a), 'mcubus-ref-node', '1.1.0');
    const port = await freePort();
    const config = join(dir, 'mcubus.yaml');
    writeFileSync(
      config,
      `stateDir: ${dir}/state
api:
  socket: ${dir}/mcubusd.sock
  tcp: { host: 127.0.0.1, port: ${port}, token: ${TOKEN} }
simulator: { scenario: ${dir}/board.json, seed: 3 }
buses:
  - { name: uart0, type: sim }
  - { name: rs485, type: sim }
devices:
  - { address: 0x10, name: gw, bus: uart0 }
  - { address: 0x21, name: node-a, via: 0x10 }
  - { address: 0x22, name: node-b, via: 0x10 }
  - { address: 0x30, name: node-m, bus: rs485 }
`,
    );
    const daemon = await startDaemonProcess(dir, config);
    child = daemon.child;
    const { client } = daemon;

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The token is exchanged for a cookie and leaves the address bar.
    const opened = await page.goto(`http://127.0.0.1:${port}/?token=${TOKEN}`);
    expect(opened?.status()).toBe(200);
    expect(page.url()).toBe(`http://127.0.0.1:${port}/`);
    expect(await page.title()).toBe('mcubus dashboard');

    // Four MCUs, all healthy, and the stream live.
    const rows = page.locator('[data-testid=device-table] tbody tr');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=device-table] tbody tr[data-severity=ok]').length === 4,
      undefined,
      { timeout: 20_000 },
    );
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-address')))).toEqual([
      '16',
      '33',
      '34',
      '48',
    ]);
    const gwRow = await page.locator('tr[data-address="16"]').innerText();
    expect(gwRow).toContain('0x10');
    expect(gwRow).toContain('1.0.0');
    expect(await page.locator('tr[data-address="33"]').innerText()).toContain('via 0x10');
    await page.waitForSelector('[data-testid=live]:text("live")');
    await page.screenshot({ path: artifactPath('dashboard-healthy.png'), fullPage: true });

    // An update, started through the API as the CLI would, followed in the page to the end.
    expect(await client.startUpdate(0x21, { image, trialMs: 500 })).toEqual({ started: true });
    const midway = await page.waitForFunction(
      () => {
        const bar = document.querySelector('[data-device="33"][data-phase=transfer] progress');
        const pct = Number(bar?.getAttribute('data-percent'));
        return pct > 0 && pct < 100 ? pct : undefined;
      },
      undefined,
      { timeout: 20_000, polling: 100 },
    );
    const pct = (await midway.jsonValue()) as number;
    expect(pct).toBeGreaterThan(0);
    expect(pct).toBeLessThan(100);
    await page.screenshot({ path: artifactPath('dashboard-update.png'), fullPage: true });
    await page.waitForSelector('[data-device="33"][data-phase=done] progress[data-percent="100"]', {
      timeout: 60_000,
    });
    await page.waitForFunction(
      () => document.querySelector('tr[data-address="33"]')?.textContent?.includes('1.1.0'),
      undefined,
      { timeout: 20_000 },
    );

    // The crash loop of node-b turns its row red, the others stay green.
    await page.waitForSelector('tr[data-address="34"][data-severity=bad]', { timeout: 45_000 });
    expect(await page.locator('tr[data-address="34"] td.health').innerText()).toContain('crash loop');
    expect(await page.locator('tr[data-severity=ok]').count()).toBe(3);
    const bg = await page
      .locator('tr[data-address="34"]')
      .evaluate((tr) => getComputedStyle(tr).backgroundColor);
    expect(bg).toBe('rgb(249, 210, 210)');
    // Its lane on the health timeline carries the resets.
    expect(await page.locator('[data-testid=health-timeline] .mark-reset').count()).toBeGreaterThanOrEqual(3);

    // A message trace, hop by hop: a ping through the gateway.
    expect((await client.ping(0x22)).ok).toBe(true);
    const traceRow = page.locator('[data-testid=trace-list] tr.trace').first();
    await traceRow.waitFor({ timeout: 10_000 });
    await traceRow.click();
    await page.waitForSelector('[data-testid=trace-detail] li.hop');
    expect(await page.locator('[data-testid=trace-detail] li.hop').count()).toBeGreaterThanOrEqual(2);

    // The clock plots and aligned telemetry have data by now.
    expect(await page.locator('[data-testid=clock-plots] .chart').count()).toBeGreaterThanOrEqual(3);
    expect(pageErrors).toEqual([]);
    const shot = artifactPath('dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.MCUBUS_DASHBOARD_SCREENSHOT === '1')
      copyFileSync(shot, join(import.meta.dirname, '../../docs/dashboard.png'));
  });
});
