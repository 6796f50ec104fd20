import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '@mcubus/host';
import { RigSetupError } from '../errors.js';
import { captureIo } from './capture-io.js';

/**
 * Writes the simulated MCUs' signing key (`mcubus image keygen --simulator`) into the work directory:
 * returns the private key the rig signs with and the public key the daemon must trust.
 */
export async function simulatorKey(work: string): Promise<{ privateKey: string; publicKey: string }> {
  const dir = join(work, 'keys');
  mkdirSync(dir, { recursive: true });
  const privateKey = join(dir, 'sim.pem');
  const publicKey = join(dir, 'sim.pub.pem');
  // The same fixed key every time: written once per work directory.
  if (existsSync(privateKey) && existsSync(publicKey)) return { privateKey, publicKey };
  const cap = captureIo();
  if ((await runCli(['image', 'keygen', '--simulator', '--out', privateKey], cap.io)) !== 0) {
    throw new RigSetupError(`cannot write the simulator's signing key: ${cap.err().trim()}`);
  }
  return { privateKey, publicKey };
}
