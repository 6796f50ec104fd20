import type { CliIo } from '@mcubus/host';

/** A CliIo that keeps what `mcubus image …` prints, for its messages and its JSON. */
export function captureIo(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: {
        write: (s: string) => {
          out += s;
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          err += s;
          return true;
        },
      },
    },
    out: () => out,
    err: () => err,
  };
}
