/**
 * The daemon's event stream (GET /v1/events/stream, SSE). Every message is sent as a named event (its
 * kind), and EventSource only delivers named events to listeners registered for that name, so the kinds
 * the page reacts to are listed here (host/src/daemon/daemon.ts journals them). EventSource reconnects
 * on its own and sends Last-Event-ID, and the daemon replays what was missed.
 */
import type { EventView } from './types.js';

export const LIVE_KINDS = [
  'health.state',
  'health.reset',
  'health.crash_loop',
  'health.route_down',
  'health.bus_down',
  'device.new',
  'device.changed',
  'device.unidentified',
  'update.start',
  'update.resumed',
  'update.downgrade',
  'campaign.start',
  'campaign.done',
  'campaign.error',
  'bus.open',
  'bus.lost',
  'bus.closed',
  'bus.failed',
  'time.synced',
  'time.jump',
  'time.epoch',
] as const;

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

export function subscribeEvents(
  onEvent: (e: EventView) => void,
  onStatus: (s: LiveStatus) => void,
): () => void {
  const source = new EventSource('/v1/events/stream');
  onStatus('connecting');
  source.onopen = () => onStatus('live');
  source.onerror = () => onStatus('reconnecting');
  const listener = (m: MessageEvent<string>) => {
    try {
      onEvent(JSON.parse(m.data) as EventView);
    } catch {
      // A malformed message is skipped: the periodic refresh still brings the state.
    }
  };
  for (const kind of LIVE_KINDS) source.addEventListener(kind, listener);
  return () => source.close();
}
