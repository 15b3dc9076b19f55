/**
 * The link the SLAC and IPv6 layers talk through: one Ethernet port (the PLC modem as seen by the host) with
 * receivers per EtherType. The port is whatever moves frames: on the charger the QCA7000 driver
 * (hal/drivers/qca7000.ts), in the simulator's car the EV-side modem model. Platform-neutral.
 */
import { etherTypeOf, finishFrame, macAccepts } from "./ethernet.js";

/** What moves frames (the QCA7000 driver implements it). */
export interface FramePort {
  /**
   * Queues one Ethernet frame (no FCS; 14..1522 bytes; shorter than 60 is zero-padded). The bytes are copied
   * before write returns. Returns false when the transmit queue is full (backpressure: the frame is not sent;
   * try again after onWritable). Throws RangeError for a malformed frame.
   */
  send(frame: Uint8Array): boolean;
  /** True while the modem is in sync and frames can be sent. */
  readonly ready: boolean;
}

/** A receiver: `frame` is only valid during the call (the link reuses the buffer): copy what you keep. */
export type FrameReceiver = (frame: Uint8Array, length: number) => void;

export interface LinkStats {
  received: number;
  /** Frames with no receiver for their EtherType, or addressed to another host. */
  unhandled: number;
  sent: number;
  /** send() calls refused by the port (queue full or not ready). */
  refused: number;
}

/**
 * Demultiplexes received frames by EtherType and filters by destination MAC (unicast to `mac`, broadcast or
 * multicast). The owner feeds it with `receive(frame)` from the port's onReadable.
 */
export class Link {
  readonly stats: LinkStats = { received: 0, unhandled: 0, sent: 0, refused: 0 };
  private readonly receivers = new Map<number, FrameReceiver>();
  /** @param mac the host's own MAC (the charger's, not the modem's). */
  constructor(
    private readonly port: FramePort,
    readonly mac: Uint8Array,
  ) {
    if (mac.length !== 6) throw new RangeError("MAC addresses are 6 bytes");
  }

  get ready(): boolean {
    return this.port.ready;
  }

  /** Registers the receiver of an EtherType (one per EtherType; a second call replaces it; null removes). */
  on(etherType: number, receiver: FrameReceiver | null): void {
    if (receiver) this.receivers.set(etherType, receiver);
    else this.receivers.delete(etherType);
  }

  /** A frame came in from the port. */
  receive(frame: Uint8Array, length = frame.length): void {
    this.stats.received++;
    const type = etherTypeOf(frame, length);
    const r = type < 0 ? undefined : this.receivers.get(type);
    if (!r || !macAccepts(frame, 0, this.mac)) {
      this.stats.unhandled++;
      return;
    }
    r(frame, length);
  }

  /** Sends `buf[0, length)` (padded to 60 bytes). False when the port refused it. */
  send(buf: Uint8Array, length = buf.length): boolean {
    const ok = this.port.send(finishFrame(buf, length));
    if (ok) this.stats.sent++;
    else this.stats.refused++;
    return ok;
  }
}
