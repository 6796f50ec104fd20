#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { decodeCommand } from './commands/decode.js';
import { demoCommand } from './commands/demo.js';

const HELP = `mcubus — coordinate the MCUs of a board: firmware updates, clock alignment, health.

Usage:
  mcubus demo                   show a host↔device exchange on a UART, with line noise, decoded back
  mcubus decode HEX…            decode one mcubus frame given in hex
  mcubus decode --stream HEX…   decode a UART byte stream (COBS frames separated by 00)
  mcubus --help                 this text

The protocol is specified in docs/protocol.md. The daemon (mcubusd), its buses and its API arrive with
the daemon work; until then this CLI exercises the protocol package.

Exit status: 0 success, 1 a frame failed to decode, 2 bad usage.`;

function main(argv: string[]): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    console.error(`mcubus: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command = 'demo', ...rest] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  switch (command) {
    case 'demo':
      return demoCommand();
    case 'decode':
      return decodeCommand(rest, { stream: values.stream ?? false });
    case 'help':
      console.log(HELP);
      return 0;
    default:
      console.error(`mcubus: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, stream: { type: 'boolean' } },
  });
}

process.exitCode = main(process.argv.slice(2));
