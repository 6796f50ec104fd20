import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiRequestError, api } from './api.js';
import { Histories } from './history.js';
import { type LiveStatus, subscribeEvents } from './live.js';
import { healthLanes } from './model.js';
import type { DeviceView, EventView, HealthView, TraceRecord, UpdateStatusView } from './types.js';
import { ClockPlots } from './views/clock-plots.js';
import { DeviceTable } from './views/device-table.js';
import { HealthTimeline } from './views/health-timeline.js';
import { TelemetryPlot } from './views/telemetry-plot.js';
import { Traces } from './views/traces.js';
import { Updates } from './views/updates.js';

const POLL_MS = 1000;
const TRACE_POLL_EVERY = 3;
const EVENTS_KEPT = 1000;
const TIMELINE_MS = 10 * 60_000;

interface Snapshot {
  devices: DeviceView[];
  health: HealthView[];
  updates: UpdateStatusView[];
  traces: TraceRecord[];
}

/**
 * The dashboard: current state polled every second (the API serves state, not its history), the
 * event stream for what changed — an event also triggers an immediate refresh, so a crash shows
 * without waiting for the next poll.
 */
export function App() {
  const [snap, setSnap] = useState<Snapshot>({ devices: [], health: [], updates: [], traces: [] });
  const [events, setEvents] = useState<EventView[]>([]);
  const [live, setLive] = useState<LiveStatus>('connecting');
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<TraceRecord | undefined>();
  const [tick, setTick] = useState(0);
  const histories = useRef(new Histories());
  const startedMs = useRef(Date.now());

  useEffect(() => {
    let stopped = false;
    let busy = false;
    let round = 0;
    let traces: TraceRecord[] = [];
    const refresh = async () => {
      if (busy || stopped) return;
      busy = true;
      try {
        const h = histories.current;
        const [devices, health, updates, time, telemetry] = await Promise.all([
          api.devices(),
          api.health(),
          api.updates(),
          api.time(),
          api.telemetry(h.lastTelemetryId, 2000),
        ]);
        if (round++ % TRACE_POLL_EVERY === 0) traces = await api.traces(50);
        h.addTime(time, Date.now());
        h.addTelemetry(telemetry);
        if (!stopped) {
          setSnap({ devices, health, updates, traces });
          setTick((t) => t + 1);
          setError(undefined);
        }
      } catch (e) {
        if (!stopped) setError(e instanceof ApiRequestError ? e.message : String(e));
      } finally {
        busy = false;
      }
    };
    // The timeline starts from the journal's recent health events, then follows the stream.
    api
      .events(EVENTS_KEPT)
      .then((recent) => !stopped && setEvents((now) => merge(now, recent)))
      .catch((e: unknown) => setError(String(e)));
    const unsubscribe = subscribeEvents((e) => {
      setEvents((now) => merge(now, [e]));
      void refresh();
    }, setLive);
    void refresh();
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
    };
  }, []);

  const select = (id: number) => {
    api
      .trace(id)
      .then(setSelected)
      .catch((e: unknown) => setError(String(e)));
  };

  const nowMs = Date.now();
  // From the oldest event the page holds (the daemon's start, on a young daemon), at most 10 minutes.
  const sinceMs = Math.max(nowMs - TIMELINE_MS, Math.min(events[0]?.atMs ?? nowMs, startedMs.current));
  return (
    <main data-tick={tick}>
      <header>
        <h1>mcubus</h1>
        <span class={`live live-${live}`} data-testid="live">
          {live}
        </span>
        {error ? <span class="error">{error}</span> : null}
      </header>
      <section>
        <h2>Devices</h2>
        <DeviceTable devices={snap.devices} health={snap.health} />
      </section>
      <section>
        <h2>Health timeline</h2>
        <HealthTimeline
          lanes={healthLanes(events, snap.health, sinceMs, nowMs)}
          sinceMs={sinceMs}
          nowMs={nowMs}
        />
      </section>
      <section>
        <h2>Updates</h2>
        <Updates updates={snap.updates} />
      </section>
      <section>
        <h2>Clocks</h2>
        <ClockPlots clocks={histories.current.clocks()} />
      </section>
      <section>
        <h2>Telemetry</h2>
        <TelemetryPlot histories={histories.current.telemetry()} />
      </section>
      <section>
        <h2>Message traces</h2>
        <Traces traces={snap.traces} selected={selected} onSelect={select} />
      </section>
    </main>
  );
}

/** Events by id, newest last, at most EVENTS_KEPT (replays and the stream can overlap). */
function merge(now: EventView[], more: readonly EventView[]): EventView[] {
  const byId = new Map(now.map((e) => [e.id, e]));
  for (const e of more) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => a.id - b.id).slice(-EVENTS_KEPT);
}
