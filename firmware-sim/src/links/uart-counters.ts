/** Counters of one endpoint of a UART link or an RS-485 line (live objects: read, never write). */
export interface LineEndpointCounters {
  /** Non-empty writes the endpoint made. */
  writes: number;
  /** Characters the endpoint put on the wire (a duplicated write counts twice, a dropped one not). */
  bytesSent: number;
  /** Writes the fault plan dropped, duplicated, delayed, corrupted (this endpoint as sender). */
  faultDrops: number;
  faultDuplicates: number;
  faultDelays: number;
  faultCorruptions: number;
  /** Bytes handed to the receive listeners. */
  bytesReceived: number;
  /** Bits flipped on the wire in characters heading to this endpoint. */
  bitErrors: number;
  /** Characters that failed the parity check (delivered anyway). */
  parityErrors: number;
  /** Characters with a bad stop bit (delivered) or a bad start bit (lost). */
  framingErrors: number;
  /** Characters lost on the line: random byte drops, bad start bits, swallowed by an overlap. */
  dropped: number;
  /** Characters received corrupted because noise or another transmission overlapped them. */
  garbled: number;
  /** Characters lost because the receive FIFO was full while the CPU was busy. */
  overrun: number;
}

export function newEndpointCounters(): LineEndpointCounters {
  return {
    writes: 0,
    bytesSent: 0,
    faultDrops: 0,
    faultDuplicates: 0,
    faultDelays: 0,
    faultCorruptions: 0,
    bytesReceived: 0,
    bitErrors: 0,
    parityErrors: 0,
    framingErrors: 0,
    dropped: 0,
    garbled: 0,
    overrun: 0,
  };
}

/** Counters of one wire: a direction of a UART link, or a whole RS-485 line. */
export interface LineCounters {
  /** Characters the receivers framed (whatever happened to them next). */
  framed: number;
  /** Garbage characters injected by noise bursts. */
  noiseBytes: number;
  /** Bits flipped by the bit error rate. */
  bitErrors: number;
  /** Characters removed by the byte drop rate. */
  dropped: number;
  /** Characters lost to a flipped start bit. */
  startBitLosses: number;
  /** Characters that started while the receivers were framing another one, hence lost. */
  absorbed: number;
  /** Framed characters overlapped by another transmission or noise, received corrupted. */
  garbled: number;
}

export function newLineCounters(): LineCounters {
  return { framed: 0, noiseBytes: 0, bitErrors: 0, dropped: 0, startBitLosses: 0, absorbed: 0, garbled: 0 };
}
