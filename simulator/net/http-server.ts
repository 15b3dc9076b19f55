/**
 * A tiny HTTP file server on loopback for the embedded CSMS side: it serves firmware images (GET) and accepts
 * diagnostics uploads (PUT, POST). Real sockets on 127.0.0.1; the simulated HTTPClient holds virtual time
 * while a request is in flight, so the server itself needs no knowledge of virtual time.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

export interface Upload {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface FileServerOptions {
  /** HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /**
   * Hook before the default handling: return an HTTP status to answer with it (and an empty body), or
   * undefined for the default (GET: the file or 404; PUT/POST: stored, 201).
   */
  intercept?: (method: string, path: string) => number | undefined;
}

export class FileServer {
  /** path → content served by GET. */
  readonly files = new Map<string, Buffer>();
  readonly uploads: Upload[] = [];
  /** Every request: method and path. */
  readonly requests: { method: string; path: string; status: number }[] = [];
  intercept: FileServerOptions["intercept"];

  private constructor(private readonly server: http.Server, readonly url: string, options: FileServerOptions) {
    this.intercept = options.intercept;
  }

  static async start(options: FileServerOptions = {}): Promise<FileServer> {
    let self: FileServer | null = null;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => self!.handle(req, res);
    const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    self = new FileServer(server, `${options.tls ? "https" : "http"}://127.0.0.1:${port}`, options);
    return self;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = (status: number, body?: Buffer) => {
        this.requests.push({ method, path, status });
        res.writeHead(status, { "content-length": String(body ? body.length : 0), "content-type": "application/octet-stream" });
        res.end(body);
      };
      const forced = this.intercept?.(method, path);
      if (forced !== undefined) return answer(forced);
      if (method === "GET") {
        const f = this.files.get(path);
        return f ? answer(200, f) : answer(404);
      }
      if (method === "PUT" || method === "POST") {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
        this.uploads.push({ method, path, headers, body: Buffer.concat(chunks) });
        return answer(201);
      }
      answer(405);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
