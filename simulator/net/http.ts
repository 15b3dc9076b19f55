/**
 * Simulated HTTPClient (hal/network.ts, the ECMA-419 embedded:network/http/client shape) over node:http /
 * node:https, in virtual time.
 *
 *  - request() with a body method (PUT, POST, PATCH) posts onWritable(writeWindow); every write() posts the
 *    next onWritable; write(undefined) ends the body and sends the request. Other methods send at once.
 *  - The response: one posted onHeaders(status, headers with lower-case names), one posted onReadable(n) per
 *    received chunk (read() takes them), then onDone(null); any failure posts onDone(error) once.
 *  - Holds: from the moment the request goes out until its onDone has been posted, so a whole exchange (a
 *    firmware download, a log upload) happens at one instant of virtual time, in the same order every run.
 *  - Faults: refuse → onDone(ECONNREFUSED); blackhole → onDone(ETIMEDOUT) for a request sent meanwhile (and for
 *    one in flight when it starts): a simplification of a real timeout, taken at once so runs stay
 *    deterministic; dropAll → onDone(ECONNRESET) for requests in flight.
 */
import http from "node:http";
import https from "node:https";
import type { HalError } from "../../hal/common.js";
import type { HTTPClient, HTTPClientOptions, HTTPRequest, HTTPRequestOptions } from "../../hal/network.js";
import type { Release } from "../scheduler.js";
import {
  arrayBufferOf,
  bufferFrom,
  checkCallback,
  checkOptions,
  checkPort,
  classifyError,
  halError,
  tlsOptions,
  type FaultTarget,
  type NetContext,
  type TlsNodeOptions,
} from "./common.js";

const BODY_METHODS = new Set(["PUT", "POST", "PATCH"]);
const TOKEN = /^[A-Z]{3,10}$/;

export function httpClientClass(ctx: NetContext): new (options: HTTPClientOptions) => HTTPClient {
  return class SimHTTPClient implements HTTPClient {
    readonly #host: string;
    readonly #port: number;
    readonly #tls: TlsNodeOptions | undefined;
    #closed = false;
    readonly #requests = new Set<SimRequest>();

    constructor(options: HTTPClientOptions) {
      const o = checkOptions(options, "HTTPClient");
      if (typeof o.host !== "string" || o.host.length === 0) throw new TypeError("HTTPClient: host must be a non-empty string");
      checkPort(o.port, "port", true);
      if (o.port === 0) throw new RangeError("port must be 1..65535");
      checkCallback(o, "onError");
      this.#host = o.host;
      this.#tls = o.secure !== undefined ? tlsOptions(ctx, o.secure, o.host) : undefined;
      this.#port = (o.port as number | undefined) ?? (this.#tls ? 443 : 80);
    }

    request(options: HTTPRequestOptions): HTTPRequest {
      if (this.#closed) throw new Error("HTTPClient: closed");
      const o = checkOptions(options, "request");
      const method = o.method === undefined ? "GET" : o.method;
      if (typeof method !== "string" || !TOKEN.test(method)) throw new RangeError("method must be an upper-case HTTP method");
      const path = o.path === undefined ? "/" : o.path;
      if (typeof path !== "string" || !path.startsWith("/") || /[\s\0]/.test(path)) throw new RangeError("path must start with / and hold no spaces");
      const headers: Record<string, string> = {};
      if (o.headers !== undefined) {
        const h = checkOptions(o.headers, "headers");
        for (const k of Object.keys(h)) {
          if (typeof h[k] !== "string") throw new TypeError(`header ${k} must be a string`);
          headers[k.toLowerCase()] = h[k] as string;
        }
      }
      for (const cb of ["onHeaders", "onReadable", "onWritable", "onDone"]) checkCallback(o, cb);
      const req = new SimRequest(ctx, options, method, path, headers, this.#host, this.#port, this.#tls, () => this.#requests.delete(req));
      this.#requests.add(req);
      req.begin();
      return req;
    }

    close(): void {
      if (this.#closed) return;
      this.#closed = true;
      for (const r of [...this.#requests]) r.close();
    }
  };
}

class SimRequest implements HTTPRequest {
  #closed = false;
  /** onDone delivered (or about to be). */
  #done = false;
  #sent = false;
  #ended = false;
  #budget = 0;
  readonly #body: Buffer[] = [];
  readonly #inbox: Buffer[] = [];
  #readable: Buffer = Buffer.alloc(0);
  #hold: Release | null = null;
  #real: http.ClientRequest | null = null;
  readonly #target: FaultTarget;

  constructor(
    private readonly ctx: NetContext,
    private readonly options: HTTPRequestOptions,
    private readonly method: string,
    private readonly path: string,
    private readonly headers: Record<string, string>,
    private readonly host: string,
    private readonly port: number,
    private readonly tls: TlsNodeOptions | undefined,
    private readonly forget: () => void,
  ) {
    this.#target = {
      blackholeChanged: (on) => {
        if (on && this.#sent && !this.#done) this.#fail(halError("ETIMEDOUT", "no answer (blackhole)"));
      },
      reset: () => {
        if (this.#sent && !this.#done) this.#fail(halError("ECONNRESET", "connection reset (fault)"));
      },
      destroy: () => {
        this.#real?.destroy();
        this.#real = null;
        this.#release();
      },
    };
  }

  begin(): void {
    if (BODY_METHODS.has(this.method)) {
      this.#budget = this.ctx.writeWindow;
      const budget = this.#budget;
      this.#post(() => this.#callback(this.options.onWritable, budget));
    } else {
      this.#ended = true;
      this.#send();
    }
  }

  read(byteLength?: number): ArrayBuffer {
    if (this.#closed) throw new Error("HTTPRequest: closed");
    if (byteLength !== undefined && (typeof byteLength !== "number" || !Number.isInteger(byteLength) || byteLength < 0)) {
      throw new RangeError("byteLength must be a non-negative integer");
    }
    const n = byteLength === undefined ? this.#readable.length : Math.min(byteLength, this.#readable.length);
    const out = arrayBufferOf(this.#readable.subarray(0, n));
    this.#readable = this.#readable.subarray(n);
    return out;
  }

  write(buffer: ArrayBuffer | Uint8Array | DataView | undefined): void {
    if (this.#closed) throw new Error("HTTPRequest: closed");
    if (this.#ended) throw new Error("HTTPRequest: the body has ended");
    if (buffer === undefined) {
      this.#ended = true;
      this.#send();
      return;
    }
    const b = bufferFrom(buffer, "buffer");
    if (b.length > this.#budget) throw new RangeError(`write of ${b.length} bytes exceeds the ${this.#budget} allowed`);
    this.#body.push(b);
    const budget = this.ctx.writeWindow;
    this.#budget = 0;
    this.#post(() => {
      this.#budget = budget;
      return this.#callback(this.options.onWritable, budget);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#done = true;
    this.ctx.live.delete(this.#target);
    this.#real?.destroy();
    this.#real = null;
    this.#release();
    this.forget();
  }

  #post(fn: () => unknown): void {
    this.ctx.scheduler.postExternal(() => (this.#closed ? undefined : fn()));
  }

  #callback<A extends unknown[]>(cb: ((...args: A) => unknown) | undefined, ...args: A): unknown {
    return typeof cb === "function" ? cb.apply(this, args) : undefined;
  }

  #release(): void {
    const r = this.#hold;
    this.#hold = null;
    if (r) r();
  }

  #fail(error: HalError): void {
    if (this.#done) return;
    this.#done = true;
    this.ctx.live.delete(this.#target);
    this.#real?.destroy();
    this.#real = null;
    this.#post(() => {
      this.forget();
      return this.#callback(this.options.onDone, error);
    });
    this.#release();
  }

  #send(): void {
    this.#sent = true;
    if (this.ctx.refusing) {
      this.#fail(halError("ECONNREFUSED", `http ${this.host}:${this.port}: connection refused (fault)`));
      return;
    }
    if (this.ctx.blackholed) {
      this.#fail(halError("ETIMEDOUT", `http ${this.host}:${this.port}: no answer (blackhole)`));
      return;
    }
    this.ctx.live.add(this.#target);
    this.#hold = this.ctx.scheduler.hold(`http ${this.method} ${this.host}:${this.port}${this.path}`);
    const body = Buffer.concat(this.#body);
    this.#body.length = 0;
    const headers: Record<string, string> = { ...this.headers };
    if (BODY_METHODS.has(this.method) && headers["content-length"] === undefined) headers["content-length"] = String(body.length);
    const lib = this.tls ? https : http;
    let req: http.ClientRequest;
    try {
      req = lib.request({
        host: this.host,
        port: this.port,
        method: this.method,
        path: this.path,
        headers,
        agent: false,
        timeout: 10_000,
        ...(this.tls ?? {}),
        ...(this.tls ? { rejectUnauthorized: true } : {}),
      });
    } catch (err) {
      this.#fail(classifyError(err, "EINVAL"));
      return;
    }
    this.#real = req;
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", (err) => {
      if (this.#real !== req) return;
      this.#fail(classifyError(err, "EIO"));
    });
    req.on("response", (res) => {
      if (this.#real !== req) return;
      const status = res.statusCode ?? 0;
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
      this.#post(() => this.#callback(this.options.onHeaders, status, h));
      res.on("data", (chunk: Buffer) => {
        if (this.#real !== req || this.ctx.blackholed) return;
        this.#inbox.push(Buffer.from(chunk));
        this.#post(() => {
          const c = this.#inbox.shift();
          if (!c) return undefined;
          this.#readable = this.#readable.length ? Buffer.concat([this.#readable, c]) : c;
          return this.#callback(this.options.onReadable, this.#readable.length);
        });
      });
      res.on("error", (err) => {
        if (this.#real !== req) return;
        this.#fail(classifyError(err, "ECONNRESET"));
      });
      res.on("end", () => {
        if (this.#real !== req || this.#done) return;
        this.#done = true;
        this.#real = null;
        this.ctx.live.delete(this.#target);
        this.#post(() => {
          this.forget();
          return this.#callback(this.options.onDone, null);
        });
        this.#release();
      });
    });
    req.end(body);
  }
}
