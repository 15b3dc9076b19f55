/**
 * OCPP-J transport: one WebSocket to the CSMS through the HAL, the message framing of OCPP-J
 * ([2,id,action,payload], [3,id,payload], [4,id,code,description,details]), one outstanding CALL at a time
 * with a timeout, CALLs from the CSMS answered while ours waits, WebSocket ping and a dead-link check, and
 * reconnection with randomized exponential back-off.
 *
 * No promises: results are delivered through callbacks, so the order of events is the same on XS and on
 * Node (the simulator checks that the two runs are identical).
 */
import type { Hal, HalError, TimerId, WebSocketClient, TlsOptions } from "../../../hal/index.js";
import type { Prng } from "../../util/prng.js";
import { utf8Decode, utf8Encode } from "../../util/utf8.js";
import { RpcError } from "./errors.js";

export type CallResult = (error: RpcError | null, payload: Record<string, unknown> | null) => void;

/** Answers a CALL from the CSMS: return the CALLRESULT payload or throw RpcError. */
export type CallHandler = (action: string, payload: unknown) => Record<string, unknown>;

export interface RpcOptions {
  url: string;
  protocol: string;
  headers?: Record<string, string>;
  secure?: TlsOptions;
  callTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** 0 disables the ping. */
  pingIntervalMs: number;
  prng: Prng;
  handleCall: CallHandler;
  /** Validates a received CALLRESULT payload for the action we called; returns an error or null. */
  checkResult?: (action: string, payload: unknown) => RpcError | null;
  onOpen?: () => void;
  onClose?: (reason: string) => void;
  /** A connection attempt failed before it opened (ETLS: the CSMS certificate was refused; EHTTP401: credentials). */
  onConnectError?: (error: HalError) => void;
  /** Every frame, as sent or received (text). */
  onFrame?: (dir: "in" | "out", text: string) => void;
}

interface PendingCall {
  action: string;
  payload: Record<string, unknown>;
  done: CallResult;
}

export type RpcState = "idle" | "connecting" | "open" | "backoff" | "closed";

/** Where and how to connect; changed by configure() from the next connection on. */
export interface RpcEndpoint {
  url: string;
  headers: Record<string, string>;
  /** TLS parameters for wss://; null: none (ws://, or the HAL's defaults). */
  secure: TlsOptions | null;
}

const MAX_ID = 36;

export class OcppConnection {
  private ws: WebSocketClient | null = null;
  private _state: RpcState = "idle";
  private readonly queue: PendingCall[] = [];
  private inflight: (PendingCall & { id: string; timer: TimerId }) | null = null;
  private counter = 0;
  private readonly idPrefix: string;
  private attempt = 0;
  private retryTimer: TimerId | 0 = 0;
  private pingTimer: TimerId | 0 = 0;
  private lastHeard = 0;
  private awaitingPong = false;
  private endpoint: RpcEndpoint;
  private pingIntervalMs: number;
  readonly stats = { sent: 0, received: 0, timeouts: 0, reconnects: 0, badFrames: 0, deadLinks: 0, lastBackoffMs: 0 };

  constructor(private readonly hal: Hal, private readonly options: RpcOptions) {
    this.idPrefix = (options.prng.next() >>> 8).toString(36) + "-";
    this.endpoint = { url: options.url, headers: { ...(options.headers ?? {}) }, secure: options.secure ?? null };
    this.pingIntervalMs = options.pingIntervalMs;
  }

  /** The endpoint the next connection uses. */
  get target(): RpcEndpoint {
    return this.endpoint;
  }

  /** Changes the endpoint (URL, headers, TLS) from the next connection on; see reconnect(). */
  configure(endpoint: Partial<RpcEndpoint>): void {
    this.endpoint = {
      url: endpoint.url ?? this.endpoint.url,
      headers: endpoint.headers ?? this.endpoint.headers,
      secure: endpoint.secure !== undefined ? endpoint.secure : this.endpoint.secure,
    };
  }

  /** Drops the current connection (if any) and connects again now, with the current endpoint. */
  reconnect(reason: string): void {
    if (this._state === "closed") return;
    this.stopTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try {
        ws.close();
      } catch {
        // already dead
      }
    }
    const wasOpen = this._state === "open";
    this.failAll(`reconnecting (${reason})`);
    this._state = "idle";
    this.attempt = 0;
    if (wasOpen) this.options.onClose?.(reason);
    this.connect();
  }

  /** WebSocket ping period (WebSocketPingInterval); 0 disables the ping and the dead-link check. */
  setPingInterval(ms: number): void {
    if (!(ms >= 0)) throw new RangeError("ping interval must be >= 0");
    this.pingIntervalMs = ms;
    if (this.pingTimer) this.hal.timers.clear(this.pingTimer);
    this.pingTimer = 0;
    if (this._state === "open" && ms > 0) this.pingTimer = this.hal.timers.set(() => this.checkLink(), ms, ms);
  }

  get state(): RpcState {
    return this._state;
  }

  get isOpen(): boolean {
    return this._state === "open";
  }

  /** Calls waiting to be sent, not counting the one in flight. */
  get backlog(): number {
    return this.queue.length;
  }

  connect(): void {
    if (this._state === "connecting" || this._state === "open") return;
    this._state = "connecting";
    const self = this;
    let opened = false;
    try {
      const ep = this.endpoint;
      this.ws = new this.hal.network.WebSocketClient({
        url: ep.url,
        protocols: [this.options.protocol],
        headers: ep.headers,
        ...(ep.secure ? { secure: ep.secure } : {}),
        onWritable() {
          if (opened || self.ws !== this) return;
          opened = true;
          self.onOpen();
        },
        onReadable() {
          if (self.ws !== this) return;
          self.onMessage(this.read());
        },
        onPong() {
          if (self.ws !== this) return;
          self.awaitingPong = false;
          self.lastHeard = self.hal.clock.now();
        },
        onClose(code: number, reason: string) {
          if (self.ws !== this) return;
          self.lost(`closed ${code} ${reason}`);
        },
        onError(error: HalError) {
          if (self.ws !== this) return;
          if (!opened) self.options.onConnectError?.(error);
          self.lost(`error ${error.code}: ${error.message}`);
        },
      });
    } catch (e) {
      this.ws = null;
      this.lost(`cannot connect: ${(e as Error).message}`);
    }
  }

  /** Closes for good (no reconnect). Pending calls fail. */
  close(): void {
    this._state = "closed";
    this.stopTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.failAll("connection closed");
  }

  /** Queues a CALL; `done` receives the CALLRESULT payload or an RpcError (CALLERROR, timeout, connection lost). */
  call(action: string, payload: Record<string, unknown>, done: CallResult): void {
    this.queue.push({ action, payload, done });
    this.pump();
  }

  /** Drops queued (not yet sent) calls matching the predicate, failing them with "cancelled". */
  cancelQueued(match: (action: string, payload: Record<string, unknown>) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const c = this.queue[i]!;
      if (match(c.action, c.payload)) {
        this.queue.splice(i, 1);
        c.done(new RpcError("GenericError", "cancelled"), null);
      }
    }
  }

  private onOpen(): void {
    const ws = this.ws!;
    if (ws.protocol !== this.options.protocol) {
      this.stats.badFrames++;
      ws.close();
      this.ws = null;
      this.lost(`CSMS did not accept subprotocol ${this.options.protocol} (got "${ws.protocol}")`);
      return;
    }
    this._state = "open";
    this.attempt = 0;
    this.lastHeard = this.hal.clock.now();
    this.awaitingPong = false;
    if (this.pingIntervalMs > 0) {
      this.pingTimer = this.hal.timers.set(() => this.checkLink(), this.pingIntervalMs, this.pingIntervalMs);
    }
    this.options.onOpen?.();
    this.pump();
  }

  /** WebSocket ping, and the dead-link check: a socket that is open but silent is replaced. */
  private checkLink(): void {
    if (this._state !== "open" || !this.ws) return;
    const silentFor = this.hal.clock.now() - this.lastHeard;
    if (this.awaitingPong && silentFor >= this.pingIntervalMs) {
      this.stats.deadLinks++;
      const ws = this.ws;
      this.ws = null;
      ws.close();
      this.lost(`no answer for ${silentFor} ms: link dead`);
      return;
    }
    this.awaitingPong = true;
    this.ws.ping();
  }

  private lost(reason: string): void {
    const wasClosed = this._state === "closed";
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close();
      } catch {
        // already dead
      }
    }
    this.stopTimers();
    this.failAll(`connection lost (${reason})`);
    if (wasClosed) return;
    this._state = "backoff";
    this.options.onClose?.(reason);
    const base = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** Math.min(this.attempt, 20));
    const delay = Math.round(base / 2 + (base / 2) * this.options.prng.float());
    this.attempt++;
    this.stats.reconnects++;
    this.stats.lastBackoffMs = delay;
    this.hal.log.event("ocpp-link", { event: "backoff", attempt: this.attempt, delayMs: delay, reason });
    this.retryTimer = this.hal.timers.set(() => {
      this.retryTimer = 0;
      if (this._state === "backoff") {
        this._state = "idle";
        this.connect();
      }
    }, delay);
  }

  private stopTimers(): void {
    if (this.pingTimer) this.hal.timers.clear(this.pingTimer);
    if (this.retryTimer) this.hal.timers.clear(this.retryTimer);
    this.pingTimer = 0;
    this.retryTimer = 0;
  }

  private failAll(reason: string): void {
    const inflight = this.inflight;
    this.inflight = null;
    if (inflight) {
      this.hal.timers.clear(inflight.timer);
      inflight.done(new RpcError("GenericError", reason, { transport: true }), null);
    }
  }

  private pump(): void {
    if (this._state !== "open" || this.inflight || this.queue.length === 0) return;
    const next = this.queue.shift()!;
    const id = this.idPrefix + (++this.counter).toString(36);
    const timer = this.hal.timers.set(() => this.onTimeout(id), this.options.callTimeoutMs);
    this.inflight = { ...next, id, timer };
    this.send([2, id.length > MAX_ID ? id.slice(0, MAX_ID) : id, next.action, next.payload]);
  }

  private onTimeout(id: string): void {
    const c = this.inflight;
    if (!c || c.id !== id) return;
    this.inflight = null;
    this.stats.timeouts++;
    c.done(new RpcError("GenericError", `no answer to ${c.action} within ${this.options.callTimeoutMs} ms`, { timeout: true }), null);
    this.pump();
  }

  private send(frame: unknown[]): void {
    const text = JSON.stringify(frame);
    this.stats.sent++;
    this.options.onFrame?.("out", text);
    this.ws!.write(utf8Encode(text));
  }

  private onMessage(data: ArrayBuffer): void {
    this.lastHeard = this.hal.clock.now();
    this.awaitingPong = false;
    this.stats.received++;
    let text: string;
    let frame: unknown;
    try {
      text = utf8Decode(data);
    } catch {
      this.stats.badFrames++;
      return;
    }
    this.options.onFrame?.("in", text);
    try {
      frame = JSON.parse(text);
    } catch {
      // Not JSON: no message id can be recovered, so nothing can be answered (OCPP-J 1.6 4.2.3).
      this.stats.badFrames++;
      return;
    }
    if (!Array.isArray(frame) || frame.length < 3 || typeof frame[1] !== "string" || frame[1].length === 0 || frame[1].length > MAX_ID) {
      this.stats.badFrames++;
      if (Array.isArray(frame) && frame[0] === 2 && typeof frame[1] === "string") this.sendError(frame[1], "FormationViolation", "malformed frame");
      return;
    }
    const type = frame[0];
    const id = frame[1] as string;
    if (type === 2) this.onCall(id, frame);
    else if (type === 3) this.onResult(id, frame);
    else if (type === 4) this.onCallError(id, frame);
    else {
      this.stats.badFrames++;
      this.sendError(id, "FormationViolation", `unknown message type ${JSON.stringify(type)}`);
    }
  }

  private onCall(id: string, frame: unknown[]): void {
    if (frame.length !== 4 || typeof frame[2] !== "string" || frame[3] === null || typeof frame[3] !== "object" || Array.isArray(frame[3])) {
      this.stats.badFrames++;
      this.sendError(id, "FormationViolation", "a CALL is [2, id, action, {payload}]");
      return;
    }
    let result: Record<string, unknown>;
    try {
      result = this.options.handleCall(frame[2], frame[3]);
    } catch (e) {
      if (e instanceof RpcError) this.sendError(id, e.code, e.description, e.details);
      else this.sendError(id, "InternalError", "the charge point failed to process the request");
      return;
    }
    this.send([3, id, result]);
  }

  private onResult(id: string, frame: unknown[]): void {
    const c = this.inflight;
    if (!c || c.id !== id) {
      this.stats.badFrames++;
      return; // a late or unknown answer: ignore
    }
    const payload = frame[2];
    if (frame.length !== 3 || payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      this.finish(c, new RpcError("FormationViolation", "a CALLRESULT is [3, id, {payload}]"), null);
      return;
    }
    const invalid = this.options.checkResult?.(c.action, payload) ?? null;
    this.finish(c, invalid, invalid ? null : (payload as Record<string, unknown>));
  }

  private onCallError(id: string, frame: unknown[]): void {
    const c = this.inflight;
    if (!c || c.id !== id) {
      this.stats.badFrames++;
      return;
    }
    const code = typeof frame[2] === "string" ? frame[2] : "GenericError";
    const description = typeof frame[3] === "string" ? frame[3] : "";
    const details = frame[4] !== null && typeof frame[4] === "object" && !Array.isArray(frame[4]) ? (frame[4] as Record<string, unknown>) : {};
    this.finish(c, new RpcError(code, description, details), null);
  }

  private finish(c: PendingCall & { id: string; timer: TimerId }, error: RpcError | null, payload: Record<string, unknown> | null): void {
    this.inflight = null;
    this.hal.timers.clear(c.timer);
    c.done(error, payload);
    this.pump();
  }

  private sendError(id: string, code: string, description: string, details: Record<string, unknown> = {}): void {
    if (this._state !== "open" || !this.ws) return;
    this.send([4, id, code, description, details]);
  }
}
