/**
 * A platform-neutral WebSocket client (RFC 6455) over any socket in the HAL's TCP shape, in the HAL's
 * WebSocketClient shape: used for OCPP over the LTE modem's sockets, which Moddable's WebSocket client cannot
 * sit on. Client frames are masked (§5.3) with fresh random keys; pings are answered with pongs (§5.5.2); a
 * close frame is answered and reported through onClose (§5.5.1); a server frame that is masked, a reserved
 * bit, an unknown opcode or a message above maxMessageBytes closes the connection with 1002 / 1009.
 *
 * The handshake (§4.1) checks the 101 status, Upgrade/Connection and Sec-WebSocket-Accept, and that the
 * server's subprotocol is one we offered. Errors: "EHTTP<status>", "EPROTOCOL", "ETIMEDOUT" (no handshake
 * within handshakeTimeoutMs), and the socket's own codes.
 */
import type {
  BufferLike,
  HalError,
  IoClass,
  TCP,
  TCPOptions,
  TimerId,
  Timers,
  WebSocketClient,
  WebSocketClientOptions,
} from "../../hal/index.js";
import { base64Encode } from "../util/base64.js";
import { utf8Decode, utf8Encode } from "../util/utf8.js";
import { sha1 } from "./sha1.js";

export interface TcpWebSocketDeps {
  TCP: IoClass<TCPOptions, TCP>;
  timers: Timers;
  randomBytes: (n: number) => ArrayBuffer;
  handshakeTimeoutMs?: number;
  maxMessageBytes?: number;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function bytesOf(buffer: BufferLike): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (buffer instanceof DataView) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new TypeError("expected an ArrayBuffer, Uint8Array or DataView");
}

export interface ParsedWsUrl {
  secure: boolean;
  host: string;
  port: number;
  path: string;
}

/** ws://host[:port]/path or wss://… (no URL class on XS). RangeError for anything else. */
export function parseWsUrl(url: string): ParsedWsUrl {
  const m = /^(wss?):\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:?#]+)(?::(\d{1,5}))?([/?][^\s#]*)?$/.exec(url);
  if (!m) throw new RangeError(`not a ws:// or wss:// URL: ${url}`);
  const secure = m[1] === "wss";
  const port = m[3] !== undefined ? parseInt(m[3], 10) : secure ? 443 : 80;
  if (!(port >= 1 && port <= 65535)) throw new RangeError(`bad port in ${url}`);
  const host = m[2]!.startsWith("[") ? m[2]!.slice(1, -1) : m[2]!;
  let path = m[4] ?? "/";
  if (path.startsWith("?")) path = "/" + path;
  return { secure, host, port, path };
}

/** Makes a WebSocketClient class (HAL shape) over `deps.TCP`. */
export function webSocketOverTcp(deps: TcpWebSocketDeps): IoClass<WebSocketClientOptions, WebSocketClient> {
  return class TcpWebSocketClient extends WsClient {
    constructor(options: WebSocketClientOptions) {
      super(deps, options);
    }
  };
}

type Phase = "connecting" | "handshake" | "open" | "closing" | "dead" | "closed";

class WsClient implements WebSocketClient {
  private readonly tcp: TCP;
  private phase: Phase = "connecting";
  private budget = 0;
  private readonly outbox: Uint8Array[] = [];
  private rx = new Uint8Array(0);
  private key = "";
  private _protocol = "";
  private timer: TimerId | 0 = 0;
  private message: Uint8Array | null = null;
  private fragments: Uint8Array[] = [];
  private fragmentBinary = false;
  private fragmentBytes = 0;
  private readonly max: number;
  private readonly url: ParsedWsUrl;

  constructor(private readonly deps: TcpWebSocketDeps, private readonly options: WebSocketClientOptions) {
    if (!options || typeof options !== "object") throw new TypeError("WebSocketClient: options must be an object");
    if (typeof options.url !== "string") throw new TypeError("url must be a string");
    this.url = parseWsUrl(options.url);
    if (options.secure !== undefined && !this.url.secure) throw new RangeError("secure options need a wss:// url");
    for (const p of options.protocols ?? []) if (typeof p !== "string" || !/^[!#-'*+.0-9A-Z^-z|~-]+$/.test(p)) throw new TypeError("bad subprotocol");
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (!/^[!#-'*+.0-9A-Z^-z|~-]+$/.test(k) || typeof v !== "string" || /[\r\n]/.test(v)) throw new TypeError(`bad header ${k}`);
    }
    this.max = deps.maxMessageBytes ?? 65536;
    const self = this;
    this.tcp = new deps.TCP({
      host: this.url.host,
      port: this.url.port,
      ...(this.url.secure ? { secure: { ...(options.secure ?? {}), serverName: options.secure?.serverName ?? this.url.host } } : {}),
      onWritable(n: number) {
        self.budget = n;
        if (self.phase === "connecting") {
          self.phase = "handshake";
          self.sendHandshake();
        }
        self.flushOut();
      },
      onReadable() {
        self.receive(new Uint8Array(this.read()));
      },
      onError(e: HalError) {
        self.socketLost(e);
      },
    });
    this.timer = deps.timers.set(() => {
      this.timer = 0;
      if (this.phase === "connecting" || this.phase === "handshake") this.die({ code: "ETIMEDOUT", message: "WebSocket handshake timed out" });
    }, deps.handshakeTimeoutMs ?? 30_000);
  }

  get protocol(): string {
    return this._protocol;
  }

  read(): ArrayBuffer {
    if (this.phase === "closed") throw new Error("WebSocketClient: closed");
    const m = this.message;
    if (!m) throw new Error("WebSocketClient: no message pending");
    this.message = null;
    return m.slice().buffer;
  }

  write(data: BufferLike, options?: { binary?: boolean }): void {
    if (this.phase !== "open") throw new Error(this.phase === "closed" ? "WebSocketClient: closed" : "WebSocketClient: not open");
    this.frame(options?.binary ? 2 : 1, bytesOf(data));
  }

  ping(): void {
    if (this.phase !== "open") throw new Error("WebSocketClient: not open");
    this.frame(9, new Uint8Array(0));
  }

  close(): void {
    if (this.phase === "closed") return;
    const wasOpen = this.phase === "open";
    if (wasOpen) {
      try {
        this.frame(8, new Uint8Array([0x03, 0xe8]));
      } catch {
        // the socket is already gone
      }
    }
    this.phase = "closed";
    this.stopTimer();
    this.tcp.close();
  }

  // ---- internals ------------------------------------------------------------------------------------

  private stopTimer(): void {
    if (this.timer) this.deps.timers.clear(this.timer);
    this.timer = 0;
  }

  private sendHandshake(): void {
    this.key = base64Encode(new Uint8Array(this.deps.randomBytes(16)));
    const hostHeader = this.url.host.includes(":") ? `[${this.url.host}]` : this.url.host;
    const defaultPort = this.url.secure ? 443 : 80;
    let req = `GET ${this.url.path} HTTP/1.1\r\nHost: ${hostHeader}${this.url.port === defaultPort ? "" : ":" + this.url.port}\r\n`;
    req += `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n`;
    const protocols = this.options.protocols ?? [];
    if (protocols.length > 0) req += `Sec-WebSocket-Protocol: ${protocols.join(", ")}\r\n`;
    for (const [k, v] of Object.entries(this.options.headers ?? {})) req += `${k}: ${v}\r\n`;
    req += "\r\n";
    this.outbox.push(utf8Encode(req));
  }

  private frame(opcode: number, payload: Uint8Array): void {
    const n = payload.length;
    const h = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const out = new Uint8Array(h + 4 + n);
    out[0] = 0x80 | opcode;
    if (h === 2) out[1] = 0x80 | n;
    else if (h === 4) {
      out[1] = 0x80 | 126;
      out[2] = n >> 8;
      out[3] = n & 0xff;
    } else {
      out[1] = 0x80 | 127;
      const dv = new DataView(out.buffer);
      dv.setUint32(2, Math.floor(n / 0x100000000));
      dv.setUint32(6, n >>> 0);
    }
    const mask = new Uint8Array(this.deps.randomBytes(4));
    out.set(mask, h);
    for (let i = 0; i < n; i++) out[h + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.outbox.push(out);
    this.flushOut();
  }

  private flushOut(): void {
    while (this.outbox.length > 0 && this.budget > 0 && this.phase !== "dead" && this.phase !== "closed" && this.phase !== "connecting") {
      const head = this.outbox[0]!;
      const n = Math.min(head.length, this.budget);
      const part = n === head.length ? head : head.subarray(0, n);
      this.budget -= n;
      if (n === head.length) this.outbox.shift();
      else this.outbox[0] = head.subarray(n);
      this.tcp.write(part);
    }
  }

  private receive(chunk: Uint8Array): void {
    if (this.phase === "dead" || this.phase === "closed") return;
    const merged = new Uint8Array(this.rx.length + chunk.length);
    merged.set(this.rx);
    merged.set(chunk, this.rx.length);
    this.rx = merged;
    if (this.phase === "handshake" && !this.handshakeReply()) return;
    this.frames();
  }

  /** Parses the HTTP answer; false while incomplete or after failing. */
  private handshakeReply(): boolean {
    let end = -1;
    for (let i = 3; i < this.rx.length; i++) {
      if (this.rx[i] === 10 && this.rx[i - 1] === 13 && this.rx[i - 2] === 10 && this.rx[i - 3] === 13) {
        end = i + 1;
        break;
      }
    }
    if (end < 0) {
      if (this.rx.length > 8192) this.die({ code: "EPROTOCOL", message: "handshake reply too long" });
      return false;
    }
    let head = "";
    for (let i = 0; i < end; i++) head += String.fromCharCode(this.rx[i]!);
    this.rx = this.rx.slice(end);
    const lines = head.split("\r\n");
    const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? "");
    if (!status) return this.die({ code: "EPROTOCOL", message: "not an HTTP reply" }), false;
    if (status[1] !== "101") return this.die({ code: `EHTTP${status[1]!}`, message: lines[0]! }), false;
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    const accept = base64Encode(sha1(utf8Encode(this.key + GUID)));
    if ((headers["upgrade"] ?? "").toLowerCase() !== "websocket" || !/\bupgrade\b/i.test(headers["connection"] ?? "") || headers["sec-websocket-accept"] !== accept) {
      return this.die({ code: "EPROTOCOL", message: "bad upgrade reply (Upgrade/Connection/Sec-WebSocket-Accept)" }), false;
    }
    const p = headers["sec-websocket-protocol"] ?? "";
    if (p !== "" && !(this.options.protocols ?? []).includes(p)) return this.die({ code: "EPROTOCOL", message: `server chose subprotocol ${p}, not offered` }), false;
    this._protocol = p;
    this.phase = "open";
    this.stopTimer();
    this.options.onWritable?.call(this, this.budget > 0 ? this.budget : 1);
    return this.phase === "open";
  }

  private frames(): void {
    while (this.phase === "open" || this.phase === "closing") {
      const b = this.rx;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const rsv = b[0]! & 0x70;
      const op = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let h = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = (b[2]! << 8) | b[3]!;
        h = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (dv.getUint32(2) !== 0) return this.protocolError(1009, "frame too large");
        len = dv.getUint32(6);
        h = 10;
      }
      if (rsv !== 0 || masked) return this.protocolError(1002, masked ? "masked server frame" : "reserved bits set");
      if (len > this.max) return this.protocolError(1009, "message too large");
      if (b.length < h + len) return;
      const payload = b.slice(h, h + len);
      this.rx = b.subarray(h + len);
      if (op >= 8) {
        if (!fin || len > 125) return this.protocolError(1002, "bad control frame");
        if (op === 8) {
          const code = len >= 2 ? (payload[0]! << 8) | payload[1]! : 1005;
          let reason = "";
          try {
            reason = utf8Decode(payload.subarray(2));
          } catch {
            reason = "";
          }
          if (this.phase === "open") {
            try {
              this.frame(8, payload.subarray(0, Math.min(2, len)));
            } catch {
              // socket gone
            }
          }
          this.phase = "dead";
          this.stopTimer();
          this.tcp.close();
          this.options.onClose?.call(this, code, reason);
          return;
        }
        if (op === 9) {
          if (this.phase === "open") this.frame(10, payload);
          continue;
        }
        if (op === 10) {
          this.options.onPong?.call(this);
          continue;
        }
        return this.protocolError(1002, `unknown control opcode ${op}`);
      }
      if (op === 1 || op === 2) {
        if (this.fragments.length > 0) return this.protocolError(1002, "new message inside a fragmented one");
        if (fin) {
          this.deliver(payload, op === 2);
          continue;
        }
        this.fragments = [payload];
        this.fragmentBinary = op === 2;
        this.fragmentBytes = payload.length;
        continue;
      }
      if (op === 0) {
        if (this.fragments.length === 0) return this.protocolError(1002, "continuation without a message");
        this.fragmentBytes += payload.length;
        if (this.fragmentBytes > this.max) return this.protocolError(1009, "message too large");
        this.fragments.push(payload);
        if (fin) {
          const all = new Uint8Array(this.fragmentBytes);
          let at = 0;
          for (const f of this.fragments) {
            all.set(f, at);
            at += f.length;
          }
          this.fragments = [];
          this.deliver(all, this.fragmentBinary);
        }
        continue;
      }
      return this.protocolError(1002, `unknown opcode ${op}`);
    }
  }

  private deliver(payload: Uint8Array, binary: boolean): void {
    if (this.phase !== "open") return;
    this.message = payload;
    this.options.onReadable?.call(this, payload.length, { binary });
  }

  private protocolError(code: number, why: string): void {
    try {
      this.frame(8, new Uint8Array([code >> 8, code & 0xff]));
    } catch {
      // socket gone
    }
    this.die({ code: "EPROTOCOL", message: why });
  }

  private socketLost(e: HalError): void {
    if (this.phase === "dead" || this.phase === "closed") return;
    if (this.phase === "open" && e.code === "EOF") {
      this.phase = "dead";
      this.stopTimer();
      this.tcp.close();
      this.options.onClose?.call(this, 1006, "connection closed without a close frame");
      return;
    }
    this.die(e);
  }

  private die(e: HalError): void {
    if (this.phase === "dead" || this.phase === "closed") return;
    this.phase = "dead";
    this.stopTimer();
    this.tcp.close();
    this.options.onError?.call(this, e);
  }
}
