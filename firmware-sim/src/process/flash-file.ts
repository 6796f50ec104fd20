import { closeSync, existsSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Flash } from '../flash/flash.js';

/**
 * Keeps a simulated MCU's flash in a file, for process mode: a simulator that is killed (the rig's
 * "power cut") and started again boots from what the chip held, so an update resumes where the device
 * had persisted it and a confirmed image stays confirmed. Every change is written through at once
 * (a pwrite of the touched range, at most a sector), so SIGKILL loses nothing that had finished.
 *
 * Returns a function that closes the file.
 */
export function keepFlashInFile(flash: Flash, dir: string, mcuName: string): () => void {
  const path = join(dir, `${mcuName}.flash`);
  const fresh = !existsSync(path);
  const fd = openSync(path, fresh ? 'w+' : 'r+');
  if (fresh) {
    writeSync(fd, flash.read(0, flash.size), 0, flash.size, 0);
  } else {
    const size = fstatSync(fd).size;
    if (size !== flash.size) {
      closeSync(fd);
      throw new Error(
        `${path} holds ${size} bytes, but ${mcuName}'s flash is ${flash.size}: delete it or use another --flash-dir`,
      );
    }
    const bytes = new Uint8Array(size);
    readSync(fd, bytes, 0, size, 0);
    // What a programmer would write over SWD: the factory image is replaced by the saved contents
    // before the first power-on, which reads them.
    flash.factoryProgram(0, bytes);
  }
  flash.onContentsChanged((offset, length) => {
    writeSync(fd, flash.read(offset, length), 0, length, offset);
  });
  return () => closeSync(fd);
}
