import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { Hello } from '../src/registry/device-record.js';
import { Registry } from '../src/registry/registry.js';

/** A fresh temp state directory; call the returned cleanup in afterEach. */
export function tempStateDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-registry-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function makeHello(overrides: Partial<Hello> = {}): Hello {
  return {
    uid: Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x01, 0x02]),
    hardwareId: 'mcubus-node-f4',
    hardwareRev: 3,
    firmwareVersion: [1, 2, 3],
    bootloaderVersion: [0, 9, 1],
    slots: [{ index: 0, version: [1, 2, 3], flags: 0b1011 }],
    capabilities: 0x15,
    maxFrame: 512,
    mode: 1,
    protocolVersions: [1],
    name: 'pump-ctl',
    ...overrides,
  };
}

/**
 * A registry in a fresh temp state directory for every test of the file: opened before each test,
 * closed and removed after it. Read `dir` and `reg` inside the tests (they change per test).
 */
export function registryPerTest(): { readonly dir: string; readonly reg: Registry } {
  const current = {} as { dir: string; reg: Registry; cleanup: () => void };
  beforeEach(() => {
    const t = tempStateDir();
    current.dir = t.dir;
    current.cleanup = t.cleanup;
    current.reg = Registry.open(t.dir);
  });
  afterEach(() => {
    current.reg.close();
    current.cleanup();
  });
  return current;
}
