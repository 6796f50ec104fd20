import { CauseCounters, type CodedError, codedError, err, ok, type Result } from '@mcubus/protocol';
import type { CaptureRecord } from '../transports/capture-tap.js';
import type { FrameTransport } from '../transports/transport.js';
import { LINK_DESCRIPTION, LINK_TYPE_OF, originalLength, packetBytes, packetComment } from './link-types.js';
import {
  concatBlocks,
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  sectionHeaderBlock,
} from './pcapng.js';

/** Where a capture's pcapng bytes go: the header blocks first (packets = 0), then one block per packet. */
export interface CaptureSink {
  write(chunk: Uint8Array, packets: number): void;
}

export interface CaptureSession {
  readonly buses: readonly string[];
  /** Packets written so far. */
  readonly packets: number;
  /**
   * Re-reads the wall clock for the timestamps that follow and returns a new section header with the
   * interfaces, to start a new file with (rotation). Nothing is written to the sink.
   */
  rebase(): Uint8Array;
  /** Stops the capture; nothing is written afterwards. Idempotent. */
  close(): void;
}

export type CaptureErrorCode = 'unknown_bus' | 'not_capturable';
export type CaptureError = CodedError<CaptureErrorCode>;

/** The clocks a capture needs: the host clock the transports stamp with, and the wall clock. */
export interface CaptureClock {
  nowUs(): number;
  nowWallUs(): number;
}

type Source = Pick<FrameTransport, 'name' | 'kind' | 'onCapture'>;

const LINKS = new Set<string>(['uart', 'can', 'modbus']);

/**
 * Live packet captures of the daemon's buses as pcapng streams. Each session has its own section:
 * one interface per bus (in the order asked), timestamps in µs. Transports are only tapped while a
 * session listens to them.
 *
 * Timestamps: the transports stamp on the host's monotonic clock; a session adds the offset of the
 * wall clock read once when it opens (or rebases), so packets keep their exact spacing on the host
 * clock and Wireshark still shows wall-clock dates.
 */
export class CaptureHub {
  readonly counters = new CauseCounters();
  readonly #sources = new Map<string, Source>();

  constructor(
    sources: readonly Source[],
    readonly clock: CaptureClock,
    readonly userAppl = 'mcubusd',
  ) {
    for (const s of sources) this.#sources.set(s.name, s);
  }

  /** Names of the buses that can be captured, in configuration order. */
  capturable(): string[] {
    return [...this.#sources.values()].filter((s) => s.onCapture && LINKS.has(s.kind)).map((s) => s.name);
  }

  /** Opens a capture of `buses` (empty: every capturable bus) and writes its header to `sink` at once. */
  open(buses: readonly string[], sink: CaptureSink): Result<CaptureSession, CaptureError> {
    const names = buses.length > 0 ? [...new Set(buses)] : this.capturable();
    const chosen: { source: Source; link: CaptureRecord['link'] }[] = [];
    for (const name of names) {
      const source = this.#sources.get(name);
      if (!source) {
        this.counters.add('open_unknown_bus');
        const known = [...this.#sources.keys()].join(', ');
        return err(codedError('unknown_bus', `no bus is named "${name}" (buses: ${known || 'none'})`));
      }
      if (!source.onCapture || !LINKS.has(source.kind)) {
        this.counters.add('open_not_capturable');
        return err(codedError('not_capturable', `bus "${name}" (${source.kind}) has no capture tap`));
      }
      chosen.push({ source, link: source.kind as CaptureRecord['link'] });
    }
    if (chosen.length === 0) {
      this.counters.add('open_not_capturable');
      return err(codedError('not_capturable', 'the daemon has no bus that can be captured'));
    }
    return ok(this.#session(chosen, sink));
  }

  #session(chosen: { source: Source; link: CaptureRecord['link'] }[], sink: CaptureSink): CaptureSession {
    let offsetUs = 0;
    let packets = 0;
    let closed = false;
    const header = (): Uint8Array => {
      offsetUs = Math.round(this.clock.nowWallUs() - this.clock.nowUs());
      const blocks = [
        sectionHeaderBlock({
          userAppl: this.userAppl,
          comment: `timestamps: mcubusd host clock (µs) + ${offsetUs} µs, the wall clock when this file began`,
        }),
        ...chosen.map((c) =>
          interfaceDescriptionBlock({
            linkType: LINK_TYPE_OF[c.link],
            name: c.source.name,
            description: LINK_DESCRIPTION[c.link],
          }),
        ),
      ];
      return concatBlocks(blocks);
    };
    // The header goes first: no packet may precede the interfaces it refers to.
    sink.write(header(), 0);
    const unsubscribe = chosen.map((c, interfaceId) =>
      c.source.onCapture!((record) => {
        if (closed) return;
        if (record.link !== c.link) {
          // A transport reporting another link than its kind is a bug; count it rather than write a lie.
          this.counters.add('record_link_mismatch');
          return;
        }
        const data = packetBytes(record);
        const comment = packetComment(record);
        const epb = enhancedPacketBlock({
          interfaceId,
          timestampUs: Math.max(0, Math.round(record.atUs + offsetUs)),
          data,
          originalLength: originalLength(record) ?? data.length,
          direction: record.direction,
          ...(comment !== undefined ? { comment } : {}),
        });
        packets++;
        this.counters.add('packets');
        sink.write(epb, 1);
      }),
    );
    return {
      buses: chosen.map((c) => c.source.name),
      get packets() {
        return packets;
      },
      rebase: header,
      close() {
        if (closed) return;
        closed = true;
        for (const u of unsubscribe) u();
      },
    };
  }
}
