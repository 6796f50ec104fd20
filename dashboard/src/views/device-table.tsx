import { hexAddress, rowSeverity } from '../model.js';
import type { DeviceView, HealthView } from '../types.js';

function route(d: DeviceView): string {
  return d.via === null ? 'direct' : `via ${hexAddress(d.via)} (${d.hops} hop${d.hops === 1 ? '' : 's'})`;
}

function healthText(h: HealthView | undefined): string {
  if (!h) return 'unknown';
  const level = h.healthLevel && h.healthLevel !== 'ok' ? ` (${h.healthLevel})` : '';
  return `${h.state}${level}${h.crashLoop ? ' · crash loop' : ''}`;
}

/** Every known device with its route, mode, versions and health; the row's colour is its health. */
export function DeviceTable({ devices, health }: { devices: DeviceView[]; health: HealthView[] }) {
  const byAddress = new Map(health.map((h) => [h.address, h]));
  return (
    <table class="devices" data-testid="device-table">
      <thead>
        <tr>
          <th>Address</th>
          <th>Name</th>
          <th>Bus</th>
          <th>Route</th>
          <th>Mode</th>
          <th>Firmware</th>
          <th>Bootloader</th>
          <th>Health</th>
          <th>Resets</th>
          <th>RTT</th>
        </tr>
      </thead>
      <tbody>
        {devices.map((d) => {
          const h = byAddress.get(d.address);
          const severity = rowSeverity(h);
          return (
            <tr key={d.address} class={`row-${severity}`} data-address={d.address} data-severity={severity}>
              <td class="mono">{hexAddress(d.address)}</td>
              <td>{d.name ?? ''}</td>
              <td>{d.bus}</td>
              <td>{route(d)}</td>
              <td>{d.mode}</td>
              <td class="mono">{d.firmwareVersion ?? '?'}</td>
              <td class="mono">{d.bootloaderVersion ?? '?'}</td>
              <td class="health">{healthText(h)}</td>
              <td>{h?.resetCount ?? ''}</td>
              <td>{h?.lastRttMs !== undefined ? `${h.lastRttMs.toFixed(1)} ms` : ''}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
