/**
 * A TLS terminator on loopback: accepts TLS (optionally requiring a client certificate signed by `ca`) and
 * pipes the plaintext to a local TCP port. Puts wss:// in front of the embedded CSMS (OCPP security profiles 2
 * and 3) without the CSMS knowing about TLS.
 */
import net from "node:net";
import tls from "node:tls";
import type { AddressInfo } from "node:net";

export interface TlsProxyOptions {
  /** Local plaintext port to forward to (127.0.0.1). */
  target: number;
  cert: string;
  key: string;
  /** Require a client certificate that chains to one of these (security profile 3). */
  clientCa?: string[];
}

export interface TlsSessionRecord {
  authorized: boolean;
  /** The client certificate's subject CN, when one was presented. */
  clientCn: string | null;
}

export class TlsProxy {
  readonly sessions: TlsSessionRecord[] = [];
  /** TLS handshakes that failed (the client rejected our certificate, or had no acceptable one). */
  readonly failures: string[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: tls.Server, readonly port: number) {}

  static async start(o: TlsProxyOptions): Promise<TlsProxy> {
    let self: TlsProxy | null = null;
    const server = tls.createServer(
      {
        cert: o.cert,
        key: o.key,
        ...(o.clientCa ? { ca: o.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      },
      (socket) => {
        const peer = socket.getPeerCertificate();
        self!.sessions.push({ authorized: socket.authorized, clientCn: peer && peer.subject ? String(peer.subject.CN ?? "") : null });
        const upstream = net.connect(o.target, "127.0.0.1");
        self!.sockets.add(socket).add(upstream);
        const drop = () => {
          socket.destroy();
          upstream.destroy();
          self!.sockets.delete(socket);
          self!.sockets.delete(upstream);
        };
        socket.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
        socket.pipe(upstream);
        upstream.pipe(socket);
      },
    );
    server.on("tlsClientError", (err) => self?.failures.push(err.message));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    self = new TlsProxy(server, (server.address() as AddressInfo).port);
    return self;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
