/**
 * Simulated TCP socket (ECMA-419 embedded:io/socket/tcp shape) over node:net / node:tls.
 *
 *  - The first onWritable(writeWindow) means connected. write() accepts at most what the last onWritable
 *    allowed; each write is handed to the kernel at once and a posted onWritable(writeWindow) restores the
 *    budget (deterministic: it does not depend on real flushing).
 *  - Received chunks are delivered one per posted onReadable(bytesAvailable); read(n) takes up to n bytes.
 *  - The peer closing (FIN) or resetting is reported through onError ("EOF" / the Node code): the instance
 *    is dead, as ECMA-419 reports disconnection.
 *  - Holds: connect; a write for which expectsReply(bytes) is true (released by the next received chunk).
 *  - Blackhole: bytes are dropped both ways (a raw stream is corrupted by that, as in the field).
 *  - `from` (ECMA-419): wraps a connection accepted by a simulated Listener (listener.ts); connected at once
 *    (onWritable posted by the constructor); with `secure` it is the server side of TLS (certificate + key).
 *  - Paired connections (a client of this network reaching a simulated listener): see listener.ts (connect
 *    rendezvous, delivery holds per write, one onReadable per sender write, close holds).
 */
import net from "node:net";
import tls from "node:tls";
import type { TCP, TCPOptions } from "../../hal/network.js";
import { isLinkLocal } from "./link-local.js";
import { PairLink, acceptedOf, pairedListener, type Pipe, type PairEnd, type PairingClient } from "./listener.js";
import {
  SimConnection,
  arrayBufferOf,
  bufferFrom,
  checkCallback,
  checkOptions,
  checkPort,
  checkString,
  classifyError,
  halError,
  tlsOptions,
  type NetContext,
  type TlsNodeOptions,
} from "./common.js";

export function tcpClass(ctx: NetContext): new (options: TCPOptions) => TCP {
  return class SimTCP extends SimConnection implements TCP {
    readonly #options: TCPOptions;
    readonly #host: string;
    readonly #port: number;
    readonly #tls: TlsNodeOptions | undefined;
    readonly #nodelay: boolean;
    #socket: net.Socket | null = null;
    #started = false;
    #openedSilently = false;
    #diedSilently: { code: string; message: string } | null = null;
    readonly #inbox: Buffer[] = [];
    #readable: Buffer = Buffer.alloc(0);
    #budget = 0;
    #remoteAddress: string | undefined;
    #remotePort: number | undefined;
    /** Paired with a simulated listener / accepted from one (listener.ts). */
    #pair: PairLink | null = null;
    #inPipe: Pipe | null = null;
    #outPipe: Pipe | null = null;
    #isServer = false;
    /** Client side of a pair: the listener posted the accept / the real connection (TLS: handshake) is up. */
    #matched = false;
    #connected = false;
    readonly #end: PairEnd = { get finished() { return false; } };

    constructor(options: TCPOptions) {
      const o = checkOptions(options, "TCP");
      if (o.from !== undefined) {
        const rec = acceptedOf(o.from);
        if (!rec) throw new TypeError("TCP: from must be a socket read from a Listener");
        if (rec.taken) throw new Error("TCP: that accepted connection is already wrapped");
        if (o.nodelay !== undefined && typeof o.nodelay !== "boolean") throw new TypeError("nodelay must be a boolean");
        for (const cb of ["onReadable", "onWritable", "onError"]) checkCallback(o, cb);
        super(ctx, `tcp accepted ${rec.remoteAddress ?? "?"}`);
        const self = this;
        this.#end = { get finished() { return self.dead || self.closed || self.realDead; } };
        this.#options = options;
        this.#host = rec.remoteAddress ?? "";
        this.#port = rec.remotePort ?? 0;
        this.#nodelay = (o.nodelay as boolean | undefined) ?? false;
        this.#tls = o.secure !== undefined ? tlsOptions(ctx, o.secure, this.#host) : undefined;
        rec.taken = true;
        this.#isServer = true;
        this.#started = true;
        this.#remoteAddress = rec.remoteAddress;
        this.#remotePort = rec.remotePort;
        if (rec.pair) {
          this.#pair = rec.pair;
          this.#inPipe = rec.pair.up;
          this.#outPipe = rec.pair.down;
          rec.pair.server = this.#end;
        }
        if (!this.admit(() => this.#options.onError)) {
          rec.pair?.dropAll();
          rec.socket.destroy();
          return;
        }
        let socket: net.Socket = rec.socket;
        if (this.#tls) {
          if (this.#tls.cert === undefined || this.#tls.key === undefined) throw new TypeError("TCP: a TLS server socket needs secure.certificate and secure.key");
          socket = new tls.TLSSocket(rec.socket, { isServer: true, cert: this.#tls.cert, key: this.#tls.key, ...(this.#tls.ca ? { ca: this.#tls.ca } : {}) });
        }
        this.#socket = socket;
        socket.setNoDelay(this.#nodelay);
        this.#wire(socket);
        if (rec.socket.destroyed) {
          this.#lost(halError("ECONNRESET", `${this.label}: connection closed`));
          return;
        }
        this.settled = true;
        this.post(() => {
          if (this.dead) return undefined;
          this.open = true;
          this.#budget = this.ctx.writeWindow;
          return this.callback(this.#options.onWritable, this.#budget);
        });
        rec.socket.resume();
        return;
      }
      checkString(o.host, "host", true);
      checkString(o.address, "address", true);
      if (o.host === undefined && o.address === undefined) throw new TypeError("TCP: host or address is required");
      checkPort(o.port, "port", false);
      if (o.port === 0) throw new RangeError("port must be 1..65535");
      if (o.nodelay !== undefined && typeof o.nodelay !== "boolean") throw new TypeError("nodelay must be a boolean");
      for (const cb of ["onReadable", "onWritable", "onError"]) checkCallback(o, cb);
      const host = (o.address as string | undefined) ?? (o.host as string);
      super(ctx, `tcp ${host}:${o.port as number}`);
      const self = this;
      this.#end = { get finished() { return self.dead || self.closed || self.realDead; } };
      this.#options = options;
      this.#host = host;
      this.#port = o.port as number;
      this.#nodelay = (o.nodelay as boolean | undefined) ?? false;
      this.#tls = o.secure !== undefined ? tlsOptions(ctx, o.secure, (o.host as string | undefined) ?? host) : undefined;
      if (!this.admit(() => this.#options.onError)) return;
      if (!ctx.blackholed) this.#start();
    }

    get remoteAddress(): string | undefined {
      return this.#remoteAddress;
    }

    get remotePort(): number | undefined {
      return this.#remotePort;
    }

    read(byteLength?: number): ArrayBuffer {
      if (this.closed) throw new Error("TCP: closed");
      if (byteLength !== undefined && (typeof byteLength !== "number" || !Number.isInteger(byteLength) || byteLength < 0)) {
        throw new RangeError("byteLength must be a non-negative integer");
      }
      const n = Math.min(byteLength ?? this.#readable.length, this.#readable.length);
      const out = arrayBufferOf(this.#readable.subarray(0, n));
      this.#readable = this.#readable.subarray(n);
      return out;
    }

    write(buffer: ArrayBuffer | Uint8Array | DataView): void {
      if (this.closed) throw new Error("TCP: closed");
      if (!this.open) throw new Error("TCP: not connected");
      const buf = bufferFrom(buffer, "buffer");
      if (buf.length > this.#budget) throw new RangeError(`TCP: write of ${buf.length} bytes exceeds the ${this.#budget} allowed`);
      this.#budget -= buf.length;
      this.post(() => {
        if (this.dead) return undefined;
        this.#budget = this.ctx.writeWindow;
        return this.callback(this.#options.onWritable, this.#budget);
      });
      if (this.dead || this.realDead || this.ctx.blackholed || !this.#socket) return;
      if (this.#outPipe) this.#outPipe.expect(buf.length, this.ctx.scheduler.hold(`${this.label} delivery`));
      if (this.ctx.expectsReply(arrayBufferOf(buf))) this.holdReply("reply");
      this.#socket.write(buf);
    }

    close(): void {
      if (this.closed) return;
      const pair = this.#pair;
      // Closing is this side's end too: it releases a peer that closed first and waits for us (both ends closing at
      // the same virtual instant would otherwise hold each other forever).
      if (pair) pair.ended();
      if (pair && !this.realDead) pair.holdClose(this.ctx.scheduler, this.#isServer ? pair.client : pair.server, `${this.label} close`);
      this.closed = true;
      this.forget();
      this.releaseAll();
      this.realDead = true;
      this.#inPipe?.drop();
      this.#socket?.destroy();
    }

    #start(): void {
      if (this.#started) return;
      this.#started = true;
      this.takeConnectHold();
      // A link-local address is one of the simulated link (link-local.ts): its listeners are on ::1.
      const base = { host: net.isIP(this.#host) === 6 && isLinkLocal(this.#host) ? "::1" : this.#host, port: this.#port };
      const listener = pairedListener(this.ctx, this.#host, this.#port);
      const socket = this.#tls ? tls.connect({ ...base, ...this.#tls, rejectUnauthorized: true }) : net.connect(base);
      this.#socket = socket;
      socket.setNoDelay(this.#nodelay);
      if (listener) {
        const pair = new PairLink();
        pair.client = this.#end;
        this.#pair = pair;
        this.#inPipe = pair.down;
        this.#outPipe = pair.up;
        listener.expecting++;
        let arrived = false;
        const client: PairingClient = {
          link: pair,
          matched: () => {
            this.#matched = true;
            this.#maybeOpen(socket);
          },
        };
        socket.once("connect", () => {
          if (this.realDead) return;
          arrived = true;
          listener.clientArrived(socket.localPort ?? 0, client);
        });
        socket.once("close", () => {
          if (!arrived) listener.clientGaveUp();
        });
      } else {
        this.#matched = true;
      }
      socket.on(this.#tls ? "secureConnect" : "connect", () => {
        if (this.realDead) return;
        this.#connected = true;
        this.#maybeOpen(socket);
      });
      this.#wire(socket);
    }

    #maybeOpen(socket: net.Socket): void {
      if (!this.#matched || !this.#connected || this.realDead) return;
      this.#remoteAddress = socket.remoteAddress;
      this.#remotePort = socket.remotePort;
      if (this.ctx.blackholed) {
        this.#openedSilently = true;
        return;
      }
      this.#announceOpen();
    }

    #wire(socket: net.Socket): void {
      socket.on("data", (chunk: Buffer) => {
        if (this.realDead || this.ctx.blackholed) return;
        const pipe = this.#inPipe;
        if (pipe) pipe.arrive(chunk, (part) => this.#deliver(part));
        else this.#deliver(chunk);
        this.releaseReply();
      });
      socket.on("end", () => this.#lost(halError("EOF", `${this.label}: closed by peer`)));
      socket.on("error", (err) => this.#lost(classifyError(err, "ECONNRESET")));
      socket.on("close", () => this.#lost(halError("ECONNRESET", `${this.label}: connection closed`)));
    }

    #deliver(part: Buffer): void {
      this.#inbox.push(part);
      this.post(() => {
        const c = this.#inbox.shift();
        if (!c || this.dead) return undefined;
        this.#readable = this.#readable.length ? Buffer.concat([this.#readable, c]) : c;
        return this.callback(this.#options.onReadable, this.#readable.length);
      });
    }

    #lost(error: { code: string; message: string }): void {
      if (this.realDead) return;
      if (this.ctx.blackholed) {
        this.#diedSilently ??= error;
        this.realDead = true;
        return;
      }
      this.fail(error, () => this.#options.onError);
      this.#inPipe?.drop();
      this.#pair?.ended();
    }

    #announceOpen(): void {
      this.settled = true;
      this.#openedSilently = false;
      this.post(() => {
        if (this.dead) return undefined;
        this.open = true;
        this.#budget = this.ctx.writeWindow;
        return this.callback(this.#options.onWritable, this.#budget);
      });
      this.releaseConnectHold();
    }

    protected blackholeChanged(on: boolean): void {
      if (this.closed) return;
      if (on) {
        this.releaseAll();
        this.#inPipe?.drop(false);
        this.#outPipe?.drop(false);
        return;
      }
      if (!this.#started) {
        if (this.ctx.refusing) {
          this.fail(halError("ECONNREFUSED", `${this.label}: connection refused (fault)`), () => this.#options.onError);
          return;
        }
        this.#start();
        return;
      }
      if (this.#diedSilently) {
        const e = this.#diedSilently;
        this.#diedSilently = null;
        this.realDead = false;
        this.fail(e, () => this.#options.onError);
        return;
      }
      if (this.#openedSilently) {
        this.#announceOpen();
        return;
      }
      if (!this.settled && !this.realDead) this.takeConnectHold();
    }

    protected reset(): void {
      if (this.closed || (this.realDead && !this.#diedSilently)) return;
      this.#diedSilently = null;
      this.realDead = false;
      this.settled = false;
      this.fail(halError("ECONNRESET", `${this.label}: connection reset (fault)`), () => this.#options.onError);
    }

    protected destroyReal(): void {
      const s = this.#socket;
      if (!s || s.destroyed) return;
      if (s.readyState === "open" && typeof s.resetAndDestroy === "function" && !this.#tls) s.resetAndDestroy();
      else s.destroy();
    }
  };
}
