/** `node` in a rig file means the Node running the rig, so a rig needs no particular PATH. */
export function resolveArgv(command: readonly string[]): { file: string; args: string[] } {
  const [first, ...args] = command;
  if (first === undefined) throw new Error('empty command');
  return { file: first === 'node' ? process.execPath : first, args };
}
