/**
 * Simulated WebSocketClient (hal/network.ts) over the `ws` package.
 *
 * Holds: the connect (released when onWritable or onError is posted); every message for which the
 * context's `expectsReply` says an answer will come (released, oldest first, by each message arriving from
 * the peer, or by close/error); every ping (released by the pong); a close() of an open connection (released
 * when the closing handshake has finished, so the peer's reaction happens at the same virtual instant).
 *
 * Faults: blackholed messages, pings and pongs are dropped in both directions (the socket stays open, the
 * server's pings go unanswered); a connect attempted while blackholed starts when the blackhole lifts.
 */
import WebSocket from "ws";
import type { IncomingMessage } from "node:http";
import type { HalError } from "../../hal/common.js";
import type { WebSocketClient, WebSocketClientOptions, WebSocketReadableInfo } from "../../hal/network.js";
import {
  SimConnection,
  arrayBufferOf,
  bufferFrom,
  checkCallback,
  checkOptions,
  classifyError,
  halError,
  tlsOptions,
  toHalError,
  type NetContext,
  type TlsNodeOptions,
} from "./common.js";

interface Message {
  data: ArrayBuffer;
  binary: boolean;
}

export function webSocketClientClass(ctx: NetContext): new (options: WebSocketClientOptions) => WebSocketClient {
  return class SimWebSocketClient extends SimConnection implements WebSocketClient {
    readonly #options: WebSocketClientOptions;
    readonly #url: string;
    readonly #protocols: string[];
    readonly #headers: Record<string, string>;
    readonly #tls: TlsNodeOptions | undefined;
    #ws: WebSocket | null = null;
    #started = false;
    /** Real connection open but not yet announced (opened while blackholed). */
    #openedSilently = false;
    /** The real connection died while blackholed. */
    #diedSilently: HalError | null = null;
    #protocol = "";
    #pendingProtocol = "";
    readonly #inbox: Message[] = [];
    #current: Message | undefined;
    #closeHold: (() => void) | null = null;

    constructor(options: WebSocketClientOptions) {
      const o = checkOptions(options, "WebSocketClient");
      if (typeof o.url !== "string") throw new TypeError("url must be a string");
      let parsed: URL;
      try {
        parsed = new URL(o.url);
      } catch {
        throw new RangeError(`bad url ${o.url}`);
      }
      if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") throw new RangeError("url must be ws:// or wss://");
      if (o.protocols !== undefined && (!Array.isArray(o.protocols) || !o.protocols.every((p) => typeof p === "string" && p.length > 0))) {
        throw new TypeError("protocols must be an array of non-empty strings");
      }
      if (o.headers !== undefined) {
        const h = checkOptions(o.headers, "headers");
        for (const k of Object.keys(h)) if (typeof h[k] !== "string") throw new TypeError(`header ${k} must be a string`);
      }
      for (const cb of ["onReadable", "onWritable", "onPong", "onClose", "onError"]) checkCallback(o, cb);
      if (o.secure !== undefined && parsed.protocol !== "wss:") throw new RangeError("secure options need a wss:// url");
      super(ctx, `ws ${o.url}`);
      this.#options = options;
      this.#url = o.url;
      this.#protocols = [...((o.protocols as string[] | undefined) ?? [])];
      this.#headers = { ...((o.headers as Record<string, string> | undefined) ?? {}) };
      this.#tls = parsed.protocol === "wss:" ? tlsOptions(ctx, o.secure ?? {}, parsed.hostname) : undefined;
      if (!this.admit(() => this.#options.onError)) return;
      if (!ctx.blackholed) this.#start();
    }

    get protocol(): string {
      return this.#protocol;
    }

    read(): ArrayBuffer {
      if (this.closed) throw new Error("WebSocketClient: closed");
      const m = this.#current;
      if (!m) throw new Error("WebSocketClient: no message pending");
      this.#current = undefined;
      return m.data;
    }

    write(data: ArrayBuffer | Uint8Array | DataView, options?: { binary?: boolean }): void {
      if (this.closed) throw new Error("WebSocketClient: closed");
      if (!this.open) throw new Error("WebSocketClient: not open");
      if (options !== undefined && (options === null || typeof options !== "object")) throw new TypeError("options must be an object");
      const binary = options?.binary ?? false;
      if (typeof binary !== "boolean") throw new TypeError("binary must be a boolean");
      const buf = bufferFrom(data);
      let text: string | undefined;
      if (!binary) {
        text = buf.toString("utf8");
        this.ctx.onFrame?.("out", text);
      }
      if (this.dead || this.realDead || this.ctx.blackholed || !this.#ws) return;
      if (this.ctx.expectsReply(binary ? arrayBufferOf(buf) : text!)) this.holdReply("reply");
      this.#ws.send(buf, { binary }, (err) => {
        if (err && !this.realDead) this.fail(toHalError(err, "ECONNRESET"), () => this.#options.onError);
      });
    }

    ping(): void {
      if (this.closed) throw new Error("WebSocketClient: closed");
      if (!this.open) throw new Error("WebSocketClient: not open");
      if (this.dead || this.realDead || this.ctx.blackholed || !this.#ws) return;
      this.holdPing();
      this.#ws.ping();
    }

    close(): void {
      if (this.closed) return;
      this.closed = true;
      this.forget();
      this.releaseAll();
      const ws = this.#ws;
      if (!ws || this.realDead) {
        this.realDead = true;
        if (ws) ws.terminate();
        return;
      }
      this.realDead = true;
      if (ws.readyState === WebSocket.OPEN && !this.ctx.blackholed) {
        this.#closeHold = this.ctx.scheduler.hold(`${this.label} close`);
        ws.close(1000);
      } else {
        ws.terminate();
      }
    }

    #start(): void {
      if (this.#started) return;
      this.#started = true;
      this.takeConnectHold();
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.#url, this.#protocols, {
          headers: this.#headers,
          autoPong: false,
          perMessageDeflate: false,
          followRedirects: false,
          handshakeTimeout: 30_000,
          ...(this.#tls ?? {}),
          rejectUnauthorized: true,
        });
      } catch (err) {
        this.fail(toHalError(err, "EINVAL"), () => this.#options.onError);
        return;
      }
      this.#ws = ws;
      ws.on("unexpected-response", (req, res: IncomingMessage) => {
        req.destroy();
        if (this.realDead) return;
        this.fail(halError(`EHTTP${res.statusCode ?? 0}`, `upgrade refused: HTTP ${res.statusCode} ${res.statusMessage ?? ""}`.trim()), () => this.#options.onError);
      });
      ws.on("open", () => {
        if (this.realDead) return;
        this.#pendingProtocol = ws.protocol;
        if (this.ctx.blackholed) {
          this.#openedSilently = true;
          return;
        }
        this.#announceOpen();
      });
      ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (this.realDead || this.ctx.blackholed) return;
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        this.#inbox.push({ data: arrayBufferOf(bytes), binary: isBinary });
        this.post(() => {
          const m = this.#inbox.shift();
          if (!m || this.dead) return undefined;
          this.#current = m;
          if (!m.binary && this.ctx.onFrame) this.ctx.onFrame("in", Buffer.from(m.data).toString("utf8"));
          const info: WebSocketReadableInfo = { binary: m.binary };
          return this.callback(this.#options.onReadable, m.data.byteLength, info);
        });
        this.releaseReply();
      });
      ws.on("ping", (data: Buffer) => {
        if (this.realDead || this.ctx.blackholed) return;
        ws.pong(data);
      });
      ws.on("pong", () => {
        if (this.realDead || this.ctx.blackholed) return;
        this.post(() => (this.dead ? undefined : this.callback(this.#options.onPong)));
        this.releasePing();
      });
      ws.on("error", (err: Error) => {
        if (this.realDead) return;
        if (this.ctx.blackholed && this.settled) {
          this.#diedSilently ??= toHalError(err, "ECONNRESET");
          this.realDead = true;
          return;
        }
        this.fail(wsErrorToHal(err), () => this.#options.onError);
      });
      ws.on("close", (code: number, reason: Buffer) => {
        const hold = this.#closeHold;
        this.#closeHold = null;
        if (hold) hold();
        if (this.realDead) return;
        if (this.ctx.blackholed) {
          this.#diedSilently ??= halError("ECONNRESET", `connection lost (${code})`);
          this.realDead = true;
          return;
        }
        if (!this.settled) {
          this.fail(halError("ECONNRESET", `closed before open (${code})`), () => this.#options.onError);
          return;
        }
        this.realDead = true;
        this.forget();
        const why = reason.toString("utf8");
        this.post(() => {
          if (this.dead) return undefined;
          this.dead = true;
          return this.callback(this.#options.onClose, code, why);
        });
        this.releaseAll();
      });
    }

    #announceOpen(): void {
      this.settled = true;
      this.#openedSilently = false;
      const protocol = this.#pendingProtocol;
      this.post(() => {
        if (this.dead) return undefined;
        this.open = true;
        this.#protocol = protocol;
        return this.callback(this.#options.onWritable, this.ctx.writeWindow);
      });
      this.releaseConnectHold();
    }

    protected blackholeChanged(on: boolean): void {
      if (this.closed) return;
      if (on) {
        // Answers now in flight will be dropped: nothing is awaited any more.
        this.releaseAll();
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
      if (this.closed || (this.settled && this.realDead && !this.#diedSilently)) return;
      this.#diedSilently = null;
      this.realDead = false;
      this.settled = false;
      this.fail(halError("ECONNRESET", `${this.label}: connection reset (fault)`), () => this.#options.onError);
    }

    protected destroyReal(): void {
      const ws = this.#ws;
      if (!ws) return;
      const sock = (ws as unknown as { _socket?: { resetAndDestroy?: () => void } })._socket;
      if (ws.readyState === WebSocket.OPEN && sock && typeof sock.resetAndDestroy === "function") {
        try {
          sock.resetAndDestroy();
          return;
        } catch {
          // a TLS socket cannot be reset (ERR_INVALID_HANDLE_TYPE): terminate it instead
        }
      }
      ws.terminate();
    }
  };
}

function wsErrorToHal(err: Error): HalError {
  return classifyError(err, "EIO");
}
