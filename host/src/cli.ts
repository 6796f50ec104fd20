#!/usr/bin/env node
import { runCli } from './cli/run.js';

const abort = new AbortController();
process.once('SIGINT', () => abort.abort());
process.once('SIGTERM', () => abort.abort());

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: abort.signal }).then(
  (code) => {
    process.exitCode = code;
    // The signal handlers must not keep a finished command alive.
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
  },
  (e: unknown) => {
    console.error(`mcubus: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  },
);
