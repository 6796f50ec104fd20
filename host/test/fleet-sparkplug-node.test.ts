import { describe, expect, it } from 'vitest';
import type { Metric } from '../src/fleet/metric.js';
import { type Snapshot, SparkplugNode } from '../src/fleet/sparkplug-node.js';

const m = (name: string, value: Metric['value'], type: Metric['type'] = 'Double'): Metric => ({
  name,
  type,
  value,
});
const snap = (node: Metric[], devices: Record<string, Metric[]>): Snapshot => ({
  node,
  devices: new Map(Object.entries(devices)),
});
const summary = (out: { topic: string; payload: { seq?: number; metrics: readonly Metric[] } }[]) =>
  out.map((o) => [o.topic, o.payload.seq, o.payload.metrics.map((x) => `${x.name}=${x.value}`).join(',')]);

describe('Sparkplug edge node state machine', () => {
  const base = () => snap([m('Up', 1)], { 'mcu-0x21': [m('Temp', 20), m('Mode', 'app', 'String')] });

  it('registers the NDEATH will with the bdSeq that the NBIRTH then carries, seq from 0', () => {
    const n = new SparkplugNode({ groupId: 'G', edgeNodeId: 'E' });
    const will = n.will(1000);
    expect(will).toEqual({
      topic: 'spBv1.0/G/NDEATH/E',
      qos: 1,
      payload: { timestamp: 1000, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 0 }] },
    });
    expect(n.update(base(), 1000)).toEqual([]); // nothing before the birth
    expect(summary(n.connected(base(), 1001))).toEqual([
      ['spBv1.0/G/NBIRTH/E', 0, 'bdSeq=0,Node Control/Rebirth=false,Up=1'],
      ['spBv1.0/G/DBIRTH/E/mcu-0x21', 1, 'Temp=20,Mode=app'],
    ]);
    expect(n.commandTopics()).toEqual(['spBv1.0/G/NCMD/E', 'spBv1.0/G/DCMD/E/+']);
  });

  it('publishes only changed metrics, and births, deaths and rebirths of devices', () => {
    const n = new SparkplugNode({ groupId: 'G', edgeNodeId: 'E' });
    n.will(0);
    n.connected(base(), 0);
    expect(n.update(base(), 5)).toEqual([]);
    const next = snap([m('Up', 2)], {
      'mcu-0x21': [m('Temp', 21), m('Mode', 'app', 'String')],
      'mcu-0x22': [m('Temp', 30)],
    });
    expect(summary(n.update(next, 6))).toEqual([
      ['spBv1.0/G/NDATA/E', 2, 'Up=2'],
      ['spBv1.0/G/DDATA/E/mcu-0x21', 3, 'Temp=21'],
      ['spBv1.0/G/DBIRTH/E/mcu-0x22', 4, 'Temp=30'],
    ]);
    // 0x21 dies; 0x22 gains a metric: a DDATA could not carry an undeclared one, so it is born again.
    const later = snap([m('Up', 2)], { 'mcu-0x22': [m('Temp', 30), m('Telemetry/Channel 1', 5)] });
    expect(summary(n.update(later, 7))).toEqual([
      ['spBv1.0/G/DDEATH/E/mcu-0x21', 5, ''],
      ['spBv1.0/G/DDEATH/E/mcu-0x22', 6, ''],
      ['spBv1.0/G/DBIRTH/E/mcu-0x22', 7, 'Temp=30,Telemetry/Channel 1=5'],
    ]);
    // A rebirth: same session (same bdSeq), seq back to 0.
    expect(summary(n.rebirth(later, 8))).toEqual([
      ['spBv1.0/G/NBIRTH/E', 0, 'bdSeq=0,Node Control/Rebirth=false,Up=2'],
      ['spBv1.0/G/DBIRTH/E/mcu-0x22', 1, 'Temp=30,Telemetry/Channel 1=5'],
    ]);
  });

  it('wraps seq after 255', () => {
    const n = new SparkplugNode({ groupId: 'G', edgeNodeId: 'E' });
    n.will(0);
    n.connected(snap([m('X', 0)], {}), 0);
    const seqs: (number | undefined)[] = [];
    for (let i = 1; i <= 257; i++) seqs.push(n.update(snap([m('X', i)], {}), i)[0]?.payload.seq);
    expect(seqs.slice(253)).toEqual([254, 255, 0, 1]);
  });

  it('advances bdSeq once per accepted session, not per refused CONNECT, and wraps at 255', () => {
    const n = new SparkplugNode({ groupId: 'G', edgeNodeId: 'E', lastBdSeq: 254 });
    expect(n.will(0).payload.metrics[0]!.value).toBe(255);
    // Refused: the next attempt offers the same number again.
    expect(n.will(0).payload.metrics[0]!.value).toBe(255);
    n.connected(base(), 0);
    expect(n.bdSeq).toBe(255);
    n.disconnected();
    expect(n.update(base(), 1)).toEqual([]);
    expect(n.rebirth(base(), 1)).toEqual([]);
    expect(n.will(2).payload.metrics[0]!.value).toBe(0);
    expect(n.connected(base(), 3)[0]!.payload.metrics[0]).toEqual({
      name: 'bdSeq',
      type: 'UInt64',
      value: 0,
    });
  });

  it('publishes an NDEATH with the session bdSeq on a clean stop, once', () => {
    const n = new SparkplugNode({ groupId: 'G', edgeNodeId: 'E', lastBdSeq: 6 });
    expect(n.stopping(0)).toBeNull();
    n.will(0);
    n.connected(base(), 0);
    expect(n.stopping(9)).toEqual({
      topic: 'spBv1.0/G/NDEATH/E',
      qos: 1,
      payload: { timestamp: 9, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 7 }] },
    });
    expect(n.stopping(10)).toBeNull();
    expect(() => new SparkplugNode({ groupId: 'G', edgeNodeId: 'E' }).connected(base(), 0)).toThrow(/will/);
  });
});
