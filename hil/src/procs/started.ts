/**
 * Everything the rig started and has not stopped yet, so an interrupted rig (Ctrl-C, a CI timeout's
 * SIGTERM) can end it: device processes run in process groups of their own, which a terminal's
 * Ctrl-C does not reach.
 */
const live = new Set<() => void>();

/** Registers how to end one process at once; returns the function that unregisters it. */
export function track(killNow: () => void): () => void {
  live.add(killNow);
  return () => live.delete(killNow);
}

export function killAllStarted(): void {
  for (const k of live) k();
  live.clear();
}
