/**
 * The V2GTP message channel of one TCP (or TLS) connection from the EV: what the DIN 70121 / ISO 15118-2 / -20
 * session layer talks through. Bytes in → V2gtpFramer → onMessage(payloadType, payload); send(payloadType,
 * payload) → header + payload out, queued while the socket's write budget is short. Runs the standard's
 * connection-level timers: the sequence timeout (re-armed after every response, cancelled while a request is
 * being handled) and the communication-setup timer (until setupDone()); session timers of its own with timer(),
 * cleared when the channel closes. A bad V2GTP header closes the connection (ISO 15118-2 V2GTP header
 * processing). Platform-neutral; allocation on the receive path only where the TCP read returns a buffer.
 */
import type { TCP } from "../../../hal/network.js";
import type { Timers, TimerId } from "../../../hal/clock.js";
import { V2GTP_HEADER_LEN, V2gtpFramer, writeV2gtpHeader, PAYLOAD_EXI, PAYLOAD_ISO20_MAIN, PAYLOAD_ISO20_AC, PAYLOAD_ISO20_DC, PAYLOAD_ISO20_ACDP, PAYLOAD_ISO20_WPT } from "../v2gtp/header.js";
import type { SeccTimings } from "./timings.js";

/** Payload types accepted on the TCP channel (SDP types belong to UDP). */
export const CHANNEL_PAYLOAD_TYPES: readonly number[] = [PAYLOAD_EXI, PAYLOAD_ISO20_MAIN, PAYLOAD_ISO20_AC, PAYLOAD_ISO20_DC, PAYLOAD_ISO20_ACDP, PAYLOAD_ISO20_WPT];

export type ChannelCloseReason =
  | "peer" // the EV closed the connection or it broke
  | "header" // a bad V2GTP header (version, type, length over the limit)
  | "sequence_timeout"
  | "setup_timeout"
  | "unplugged"
  | "stopped"
  | (string & {}); // the session layer's own reasons

export interface V2gChannelStats {
  rxMessages: number;
  txMessages: number;
  rxBytes: number;
  txBytes: number;
  /** Time from the last received message to the send() that answered it, ms: last and largest. */
  lastResponseMs: number;
  maxResponseMs: number;
}

export interface ChannelDeps {
  timers: Timers;
  now: () => number;
  timings: SeccTimings;
  maxPayload: number;
  /** TLS in use (the SDP answer offered it and the socket was wrapped with `secure`). */
  secure: boolean;
  /** What is left of the communication-setup time (the SECC started it at the SLAC match); default the whole. */
  setupRemaining?: number;
  /** Called once when the channel closed (after its session handler's onClose). */
  closed?: (reason: ChannelCloseReason) => void;
}

/** What the session layer implements: it is attached with channel.attach(handler). */
export interface V2gSessionHandler {
  /** A whole V2GTP message; `payload` is only valid during the call (copy what you keep). */
  onMessage(payloadType: number, payload: Uint8Array, channel: V2gChannel): void;
  /** The channel closed (once); no more messages or sends. */
  onClose?(reason: ChannelCloseReason, channel: V2gChannel): void;
}

export class V2gChannel {
  readonly stats: V2gChannelStats = { rxMessages: 0, txMessages: 0, rxBytes: 0, txBytes: 0, lastResponseMs: 0, maxResponseMs: 0 };
  readonly timings: SeccTimings;
  readonly secure: boolean;
  #socket: TCP | null = null;
  readonly #d: ChannelDeps;
  readonly #framer: V2gtpFramer;
  #handler: V2gSessionHandler | null = null;
  #closed: ChannelCloseReason | null = null;
  #budget = 0;
  /** Outgoing bytes that did not fit the write budget yet. */
  readonly #pending: Uint8Array[] = [];
  #tx: Uint8Array;
  /** #tx as a DataView (the payload length in one store) and the payload type its header holds (-1: none yet). */
  #txView: DataView;
  #txType = -1;
  #rxAt = -1;
  /**
   * The sequence timeout: the deadline (ms, -1 while not armed) moves with every response; the timer behind it is
   * set only when none is pending, and when it fires before the deadline it is set again for the rest. So a
   * response costs no timer clear + set (~100 units on XS in the bench's timer table) and the timeout still
   * fires at the same instant.
   */
  #sequenceAt = -1;
  #sequenceTimer: TimerId | 0 = 0;
  /** When the pending sequence timer fires, ms. */
  #sequenceTimerAt = 0;
  #setupTimer: TimerId | 0 = 0;
  readonly #timers = new Set<TimerId>();
  /** Messages received before a handler was attached (the first one, typically supportedAppProtocolReq). */
  readonly #early: { type: number; payload: Uint8Array }[] = [];

  constructor(deps: ChannelDeps) {
    this.#d = deps;
    this.timings = deps.timings;
    this.secure = deps.secure;
    this.#tx = new Uint8Array(V2GTP_HEADER_LEN + 512);
    this.#txView = new DataView(this.#tx.buffer);
    this.#framer = new V2gtpFramer(deps.maxPayload, (type, payload) => this.#message(type, payload), CHANNEL_PAYLOAD_TYPES);
    const setup = Math.max(1, deps.setupRemaining ?? deps.timings.communicationSetup);
    this.#setupTimer = deps.timers.set(() => {
      this.#setupTimer = 0;
      this.close("setup_timeout");
    }, setup);
  }

  /** The socket callbacks call these (the server owns the TCP instance). */
  bind(socket: TCP): void {
    this.#socket = socket;
  }

  /** TCP onWritable. */
  writable(n: number): void {
    this.#budget = n;
    this.#flush();
  }

  /** TCP onReadable. */
  readable(): void {
    const s = this.#socket;
    if (s === null || this.#closed !== null) return;
    const bytes = new Uint8Array(s.read());
    this.stats.rxBytes += bytes.length;
    const r = this.#framer.push(bytes);
    if (r !== "ok" && this.#closed === null) this.close("header");
  }

  /** TCP onError: the EV closed the connection, or it broke. */
  broken(): void {
    this.close("peer");
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  get closeReason(): ChannelCloseReason | null {
    return this.#closed;
  }

  /** Attaches the session layer; messages received before are delivered now, in order. */
  attach(handler: V2gSessionHandler): void {
    this.#handler = handler;
    while (this.#early.length > 0 && this.#closed === null && this.#handler === handler) {
      const m = this.#early.shift()!;
      this.#deliver(m.type, m.payload);
    }
  }

  /**
   * Sends one V2GTP message. Returns false when the channel is closed. The sequence timer restarts (the SECC now
   * waits for the next request); the time since the last received message is recorded as the response time.
   */
  send(payloadType: number, payload: Uint8Array): boolean {
    if (this.#closed !== null || this.#socket === null) return false;
    const len = payload.length;
    const n = V2GTP_HEADER_LEN + len;
    if (len > this.#d.maxPayload) throw new RangeError("V2GTP payload over the limit");
    let tx = this.#tx;
    if (tx.length < n) {
      tx = this.#tx = new Uint8Array(n);
      this.#txView = new DataView(tx.buffer);
      this.#txType = -1;
    }
    // The same payload type as the last message: only the length changes (one store, not the header's eight
    // checked ones: ~60 units on XS).
    if (payloadType === this.#txType) this.#txView.setUint32(4, len);
    else {
      writeV2gtpHeader(tx, 0, payloadType, len);
      this.#txType = payloadType;
    }
    tx.set(payload, V2GTP_HEADER_LEN);
    const msg = tx.subarray(0, n);
    if (this.#pending.length === 0 && n <= this.#budget) {
      this.#budget -= n;
      this.#socket.write(msg);
    } else {
      this.#pending.push(msg.slice());
      this.#flush();
    }
    this.stats.txMessages++;
    this.stats.txBytes += n;
    const now = this.#d.now();
    if (this.#rxAt >= 0) {
      const ms = now - this.#rxAt;
      this.stats.lastResponseMs = ms;
      if (ms > this.stats.maxResponseMs) this.stats.maxResponseMs = ms;
      this.#rxAt = -1;
    }
    this.#armSequence(now, this.timings.sequenceTimeout);
    return true;
  }

  /** The session is set up (SessionSetupRes sent): stops the communication-setup timer. */
  setupDone(): void {
    if (this.#setupTimer !== 0) {
      this.#d.timers.clear(this.#setupTimer);
      this.#setupTimer = 0;
    }
  }

  /** Changes the sequence timeout (ISO 15118-20 uses its own values); re-armed at the next send(). */
  setSequenceTimeout(ms: number): void {
    if (!(Number.isInteger(ms) && ms > 0)) throw new RangeError("sequence timeout must be a positive integer (ms)");
    (this as { timings: SeccTimings }).timings = { ...this.timings, sequenceTimeout: ms };
  }

  /** A one-shot timer of the session layer, cleared when the channel closes. */
  timer(ms: number, fn: () => void): TimerId {
    const id = this.#d.timers.set(() => {
      this.#timers.delete(id);
      if (this.#closed === null) fn();
    }, ms);
    this.#timers.add(id);
    return id;
  }

  clearTimer(id: TimerId): void {
    if (this.#timers.delete(id)) this.#d.timers.clear(id);
  }

  /** Closes the connection (idempotent); the session handler's onClose gets the reason. */
  close(reason: ChannelCloseReason): void {
    if (this.#closed !== null) return;
    this.#closed = reason;
    this.#dropSequenceTimer();
    this.setupDone();
    for (const id of this.#timers) this.#d.timers.clear(id);
    this.#timers.clear();
    this.#pending.length = 0;
    this.#early.length = 0;
    const s = this.#socket;
    this.#socket = null;
    if (s !== null) s.close();
    const h = this.#handler;
    if (h !== null && h.onClose) h.onClose(reason, this);
    if (this.#d.closed) this.#d.closed(reason);
  }

  #message(type: number, payload: Uint8Array): void {
    if (this.#closed !== null) return;
    this.stats.rxMessages++;
    this.#rxAt = this.#d.now();
    this.#clearSequence(); // handling a request: the response time limits apply now, not the sequence timeout
    if (this.#handler === null) {
      this.#early.push({ type, payload: payload.slice() });
      return;
    }
    this.#deliver(type, payload);
  }

  #deliver(type: number, payload: Uint8Array): void {
    this.#handler!.onMessage(type, payload, this);
  }

  #flush(): void {
    const s = this.#socket;
    if (s === null) return;
    while (this.#pending.length > 0 && this.#budget > 0) {
      const head = this.#pending[0]!;
      const n = head.length <= this.#budget ? head.length : this.#budget;
      this.#budget -= n;
      if (n === head.length) {
        this.#pending.shift();
        s.write(head);
      } else {
        s.write(head.subarray(0, n));
        this.#pending[0] = head.subarray(n);
      }
      if (this.#socket === null) return;
    }
  }

  /** The sequence timer's callback, made once (not a new closure per response). */
  readonly #sequenceExpired = (): void => {
    this.#sequenceTimer = 0;
    if (this.#sequenceAt < 0) return; // a request is being handled (or the channel closed)
    const left = this.#sequenceAt - this.#d.now();
    if (left > 0) {
      // the deadline moved on since this timer was set: wait for the rest
      this.#sequenceTimerAt = this.#sequenceAt;
      this.#sequenceTimer = this.#d.timers.set(this.#sequenceExpired, left);
      return;
    }
    this.#sequenceAt = -1;
    this.close("sequence_timeout");
  };

  #armSequence(now: number, ms: number): void {
    const at = now + ms;
    this.#sequenceAt = at;
    if (this.#sequenceTimer !== 0) {
      if (this.#sequenceTimerAt <= at) return; // it fires first and sets itself again for the rest
      this.#d.timers.clear(this.#sequenceTimer); // a shorter timeout than the pending timer's
    }
    this.#sequenceTimerAt = at;
    this.#sequenceTimer = this.#d.timers.set(this.#sequenceExpired, ms);
  }

  /** No sequence timeout until the next response (the pending timer, if any, finds nothing to do). */
  #clearSequence(): void {
    this.#sequenceAt = -1;
  }

  /** The channel closed: no timer left behind. */
  #dropSequenceTimer(): void {
    this.#sequenceAt = -1;
    if (this.#sequenceTimer !== 0) {
      this.#d.timers.clear(this.#sequenceTimer);
      this.#sequenceTimer = 0;
    }
  }
}
