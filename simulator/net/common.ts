/**
 * Shared machinery of the simulated network services: the context every connection sees (scheduler,
 * reply predicate, fault state), the base class that posts firmware callbacks into virtual time and keeps
 * the holds, and small conversion / validation helpers.
 *
 * Determinism rules (see simulator/scheduler.ts):
 *  - A firmware callback is never called from a Node I/O callback: it is `scheduler.post()`ed, and the
 *    posted function returns the callback's result (a promise in XS mode, which the scheduler awaits).
 *  - Firmware-visible state (open, dead, the pending message) changes only inside posted functions, so the
 *    firmware sees it change at a deterministic point of virtual time.
 *  - A hold is taken before real I/O whose outcome the simulation waits for and released right after the
 *    outcome has been posted.
 */
import { isIP } from "node:net";
import type { HalError } from "../../hal/common.js";
import type { Release, Scheduler } from "../scheduler.js";

export type ReplyPredicate = (data: ArrayBuffer | string) => boolean;

/** What a live connection must support for the fault handle. */
export interface FaultTarget {
  /** Blackhole switched on or off. */
  blackholeChanged(on: boolean): void;
  /** Reset the connection: kill the real socket, post onError. */
  reset(): void;
  /** Tear down the real resources without posting anything (network shutdown). */
  destroy(): void;
}

export interface NetContext {
  readonly scheduler: Scheduler;
  readonly expectsReply: ReplyPredicate;
  readonly onFrame: ((dir: "in" | "out", text: string) => void) | undefined;
  readonly keys: Record<string, string>;
  blackholed: boolean;
  refusing: boolean;
  readonly live: Set<FaultTarget>;
  /** Nominal free space reported through onWritable. */
  readonly writeWindow: number;
}

export function halError(code: string, message: string): HalError {
  return { code, message };
}

/** A Node error (or anything thrown) to a HalError with a stable code. */
export function toHalError(err: unknown, fallback = "EIO"): HalError {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = e && typeof e.code === "string" && e.code ? e.code : fallback;
  const message = e && typeof e.message === "string" ? e.message : String(err);
  return { code, message };
}

/** A socket/TLS/WebSocket error to a HalError: TLS failures are "ETLS", Node's E* codes are kept. */
export function classifyError(err: unknown, fallback = "EIO"): HalError {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = e && typeof e.code === "string" ? e.code : "";
  const message = e && typeof e.message === "string" ? e.message : String(err);
  if (/CERT|TLS|SSL|SELF_SIGNED|HOSTNAME|ALTNAME/.test(code) || /certificate|self[- ]signed|altname|SSL routines|TLS/i.test(message)) {
    return { code: "ETLS", message };
  }
  if (/subprotocol/i.test(message)) return { code: "EPROTOCOL", message };
  if (code.startsWith("E") && !code.startsWith("ERR_")) return { code, message };
  return { code: fallback, message };
}

/** Copies BufferLike bytes into a Node Buffer; throws TypeError for anything else. */
export function bufferFrom(data: unknown, what = "data"): Buffer {
  if (data instanceof ArrayBuffer) return Buffer.from(new Uint8Array(data).slice());
  if (data instanceof Uint8Array) return Buffer.from(data.slice());
  if (data instanceof DataView) return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
  throw new TypeError(`${what} must be an ArrayBuffer, Uint8Array or DataView`);
}

/** A fresh ArrayBuffer holding exactly the bytes of `buf`. */
export function arrayBufferOf(buf: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(buf.byteLength);
  new Uint8Array(out).set(buf);
  return out;
}

export function checkOptions(options: unknown, what: string): Record<string, unknown> {
  if (options === null || typeof options !== "object") throw new TypeError(`${what}: options must be an object`);
  return options as Record<string, unknown>;
}

export function checkCallback(options: Record<string, unknown>, name: string): void {
  const cb = options[name];
  if (cb !== undefined && typeof cb !== "function") throw new TypeError(`${name} must be a function`);
}

export function checkPort(value: unknown, name: string, optional: boolean): void {
  if (value === undefined && optional) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(`${name} must be an integer 0..65535`);
  }
}

export function checkString(value: unknown, name: string, optional: boolean): void {
  if (value === undefined && optional) return;
  if (typeof value !== "string") throw new TypeError(`${name} must be a string`);
}

export interface TlsNodeOptions {
  ca?: string[];
  cert?: string;
  key?: string;
  servername?: string;
}

/** Validates HAL TlsOptions and maps them to Node tls options (key names resolved through ctx.keys). */
export function tlsOptions(ctx: NetContext, secure: unknown, host: string): TlsNodeOptions {
  const s = checkOptions(secure, "secure");
  const out: TlsNodeOptions = {};
  if (s.ca !== undefined) {
    if (!Array.isArray(s.ca) || !s.ca.every((c) => typeof c === "string")) throw new TypeError("secure.ca must be an array of PEM strings");
    out.ca = s.ca as string[];
  }
  checkString(s.certificate, "secure.certificate", true);
  checkString(s.key, "secure.key", true);
  checkString(s.serverName, "secure.serverName", true);
  if (s.certificate !== undefined) out.cert = s.certificate as string;
  if (s.key !== undefined) {
    const pem = ctx.keys[s.key as string];
    if (pem === undefined) throw new RangeError(`secure.key: no key named "${s.key as string}"`);
    out.key = pem;
  }
  // SNI (and the name checked against the certificate) is serverName, else the host unless it is an IP
  // address (then Node checks the IP against the certificate's IP SANs).
  const name = (s.serverName as string | undefined) ?? host;
  if (s.serverName !== undefined || isIP(name) === 0) out.servername = name;
  return out;
}

/**
 * The base of every simulated stream client: posting callbacks, holds, and the death protocol.
 *
 * States as the firmware sees them: `closed` (close() called), `dead` (onError/onClose delivered or about to
 * be), `open` (the first onWritable ran). `realDead` means the real connection is gone (or reset by a fault)
 * and further real events are ignored.
 */
export abstract class SimConnection {
  protected readonly ctx: NetContext;
  protected readonly label: string;
  protected closed = false;
  /** Firmware-visible: set inside the posted function that delivers onError/onClose. */
  protected dead = false;
  /** Firmware-visible: set inside the posted function that delivers the first onWritable. */
  protected open = false;
  /** The outcome (open, error, close) has been posted, or the connection was reset. */
  protected settled = false;
  protected realDead = false;
  private connectHold: Release | null = null;
  private readonly replyHolds: Release[] = [];
  private readonly pingHolds: Release[] = [];
  protected readonly target: FaultTarget;

  constructor(ctx: NetContext, label: string) {
    this.ctx = ctx;
    this.label = label;
    this.target = {
      blackholeChanged: (on) => this.blackholeChanged(on),
      reset: () => this.reset(),
      destroy: () => {
        this.realDead = true;
        this.releaseAll();
        this.destroyReal();
      },
    };
  }

  /** Posts a firmware callback: runs at the current virtual time unless the instance was closed meanwhile. */
  protected post(fn: () => unknown): void {
    this.ctx.scheduler.postExternal(() => {
      if (this.closed) return undefined;
      return fn();
    });
  }

  protected callback<A extends unknown[]>(cb: ((...args: A) => unknown) | undefined, ...args: A): unknown {
    if (typeof cb !== "function") return undefined;
    return cb.apply(this, args);
  }

  protected takeConnectHold(): void {
    if (!this.connectHold) this.connectHold = this.ctx.scheduler.hold(`${this.label} connect`);
  }

  protected releaseConnectHold(): void {
    const r = this.connectHold;
    this.connectHold = null;
    if (r) r();
  }

  protected holdReply(kind: string): void {
    this.replyHolds.push(this.ctx.scheduler.hold(`${this.label} ${kind}`));
  }

  protected releaseReply(): void {
    const r = this.replyHolds.shift();
    if (r) r();
  }

  protected holdPing(): void {
    this.pingHolds.push(this.ctx.scheduler.hold(`${this.label} pong`));
  }

  protected releasePing(): void {
    const r = this.pingHolds.shift();
    if (r) r();
  }

  protected releaseReplies(): void {
    for (const r of this.replyHolds.splice(0)) r();
    for (const r of this.pingHolds.splice(0)) r();
  }

  protected releaseAll(): void {
    this.releaseConnectHold();
    this.releaseReplies();
  }

  /** The connection failed or broke: post onError once, stop listening to the real world. */
  protected fail(error: HalError, onError: () => ((e: HalError) => unknown) | undefined): void {
    if (this.settled && this.realDead) return;
    this.settled = true;
    this.realDead = true;
    this.ctx.live.delete(this.target);
    this.post(() => {
      if (this.dead) return undefined;
      this.dead = true;
      return this.callback(onError(), error);
    });
    this.releaseAll();
    this.destroyReal();
  }

  /** Registers with the fault handle; returns false (after posting onError) when connections are refused. */
  protected admit(onError: () => ((e: HalError) => unknown) | undefined): boolean {
    if (this.ctx.refusing) {
      this.settled = true;
      this.realDead = true;
      this.post(() => {
        this.dead = true;
        return this.callback(onError(), halError("ECONNREFUSED", `${this.label}: connection refused (fault)`));
      });
      return false;
    }
    this.ctx.live.add(this.target);
    return true;
  }

  protected forget(): void {
    this.ctx.live.delete(this.target);
  }

  protected abstract blackholeChanged(on: boolean): void;
  protected abstract reset(): void;
  protected abstract destroyReal(): void;
}

/** Nominal MQTT packet framing: splits a byte stream into whole MQTT control packets. */
export class MqttFramer {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the complete packets now available. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      let len = 0;
      let mul = 1;
      let i = 1;
      let complete = false;
      for (; i < 5 && i < this.buf.length; i++) {
        const b = this.buf[i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete) break;
      const total = i + len;
      if (this.buf.length < total) break;
      out.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
    return out;
  }
}
