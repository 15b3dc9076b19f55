/**
 * Simulated TCP listener (ECMA-419 embedded:io/socket/listener shape) over node:net, and the pairing that keeps
 * a connection between two simulated endpoints deterministic (the SECC's V2GTP server and the simulated car's
 * TCP client share one SimNetwork).
 *
 *  - `new Listener({ port, address = "::", onReadable, onError })` holds virtual time until bound (like a UDP
 *    bind); `port` is the bound port from then on. A bind failure is posted as onError.
 *  - Each accepted connection is queued and announced with a posted onReadable(count); read() takes the oldest
 *    (undefined when none), to be wrapped with `new TCP({ from })` (simulator/net/tcp.ts). close() stops
 *    listening and drops the connections not read.
 *  - A link-local address (fe80::/10, zone accepted) is an address of the simulated link (link-local.ts): the
 *    listener binds ::1 for real, and clients reach it at its link-local address (or at ::1).
 *  - Pairing: a SimTCP client of the same network connecting to a loopback address and the port of a live
 *    listener is "paired" with the accepted socket (matched by the client's local port). Then:
 *      · the client's connect hold is released only after the listener has posted the accept and the client its
 *        onWritable (listener first);
 *      · every write takes a delivery hold, released when the peer has posted the bytes; the receiving side
 *        posts one onReadable per write of the sender (the same chunking in every run, whatever the kernel
 *        coalesced);
 *      · close() of one side holds until the other side has posted its onError("EOF").
 *    Connections from outside the simulation (another process) are accepted without holds, as deliveries not
 *    caused by our own traffic (see README.md).
 */
import net from "node:net";
import type { Listener, ListenerOptions, ListenerSocket } from "../../hal/network.js";
import type { Release } from "../scheduler.js";
import { checkCallback, checkOptions, checkPort, checkString, toHalError, type FaultTarget, type NetContext } from "./common.js";
import { isLinkLocal } from "./link-local.js";

/** One direction of a paired connection: what the sender wrote (sizes and holds), what the receiver got so far. */
export class Pipe {
  private readonly expected: { n: number; release: Release }[] = [];
  private staged: Buffer = Buffer.alloc(0);
  private dropped = false;

  /** The sender wrote n bytes; `release` ends its delivery hold. */
  expect(n: number, release: Release): void {
    if (this.dropped) {
      release();
      return;
    }
    this.expected.push({ n, release });
  }

  /** Bytes arrived at the receiver: hands them to `deliver` cut at the sender's write boundaries. */
  arrive(chunk: Buffer, deliver: (bytes: Buffer) => void): void {
    this.staged = this.staged.length ? Buffer.concat([this.staged, chunk]) : chunk;
    for (;;) {
      const head = this.expected[0];
      if (head === undefined) {
        // Nothing announced (the sender's writes were not tracked, e.g. during a blackhole): pass as it came.
        if (this.staged.length) deliver(this.staged);
        this.staged = Buffer.alloc(0);
        return;
      }
      if (this.staged.length < head.n) return;
      const part = this.staged.subarray(0, head.n);
      this.staged = this.staged.subarray(head.n);
      this.expected.shift();
      deliver(part);
      head.release();
    }
  }

  /** The receiver is gone (or the path is blackholed): release every hold, and future ones at once. */
  drop(final = true): void {
    if (final) this.dropped = true;
    for (const e of this.expected.splice(0)) e.release();
    this.staged = Buffer.alloc(0);
  }
}

/** What a paired endpoint offers its peer. */
export interface PairEnd {
  /** Dead or closed as the firmware sees it (posted), or about to be. */
  readonly finished: boolean;
}

/** The two directions and the close holds of a paired connection. */
export class PairLink {
  readonly up = new Pipe(); // client → server
  readonly down = new Pipe(); // server → client
  client: PairEnd | null = null;
  server: PairEnd | null = null;
  private readonly closeHolds: Release[] = [];

  /** One side closed: hold until the other posted its end (unless it is not there or already finished). */
  holdClose(scheduler: { hold(label: string): Release }, other: PairEnd | null, label: string): void {
    if (other === null || other.finished) return;
    this.closeHolds.push(scheduler.hold(label));
  }

  /** A side posted its end. */
  ended(): void {
    for (const r of this.closeHolds.splice(0)) r();
  }

  dropAll(): void {
    this.up.drop();
    this.down.drop();
    this.ended();
  }
}

/** An accepted connection waiting to be wrapped by `new TCP({ from })`. */
export interface Accepted extends ListenerSocket {
  readonly socket: net.Socket;
  readonly pair: PairLink | null;
  taken: boolean;
}

const accepted = new WeakMap<object, Accepted>();

/** The record behind a ListenerSocket handed out by a simulated listener, or undefined. */
export function acceptedOf(from: unknown): Accepted | undefined {
  return from !== null && typeof from === "object" ? accepted.get(from) : undefined;
}

/** A client that connected to a paired listener: the listener calls `matched` once it posted the accept. */
export interface PairingClient {
  readonly link: PairLink;
  matched(): void;
}

interface ListenerEntry {
  /** Clients of this network that started connecting to the listener and are not matched yet. */
  expecting: number;
  /** A client connected first (by its local port). */
  clientArrived(localPort: number, client: PairingClient): void;
  /** The client's connection failed before it was matched. */
  clientGaveUp(): void;
}

const registries = new WeakMap<NetContext, Map<number, ListenerEntry>>();

function registry(ctx: NetContext): Map<number, ListenerEntry> {
  let r = registries.get(ctx);
  if (!r) {
    r = new Map();
    registries.set(ctx, r);
  }
  return r;
}

/** Loopback, or a link-local address of the simulated link (link-local.ts: its real sockets are on ::1). */
function isLoopback(host: string): boolean {
  return host === "::1" || host === "localhost" || host.startsWith("127.") || host === "::ffff:127.0.0.1" || (net.isIP(host) === 6 && isLinkLocal(host));
}

/** The listener a client of this network would reach (loopback host, a bound port), or undefined. */
export function pairedListener(ctx: NetContext, host: string, port: number): ListenerEntry | undefined {
  return isLoopback(host) ? registry(ctx).get(port) : undefined;
}

export function listenerClass(ctx: NetContext): new (options: ListenerOptions) => Listener {
  return class SimListener implements Listener {
    readonly #options: ListenerOptions;
    readonly #server: net.Server;
    readonly #queue: ListenerSocket[] = [];
    readonly #label: string;
    #port = 0;
    #closed = false;
    #dead = false;
    #bindHold: Release | null;
    /** Accepted sockets from loopback waiting for their client (by remote port), and clients waiting for theirs. */
    readonly #waitingSockets = new Map<number, net.Socket>();
    readonly #waitingClients = new Map<number, PairingClient>();
    readonly #entry: ListenerEntry;
    readonly #target: FaultTarget;

    constructor(options: ListenerOptions) {
      const o = checkOptions(options, "Listener");
      checkPort(o.port, "port", false);
      checkString(o.address, "address", true);
      if (o.address !== undefined && net.isIP(o.address as string) === 0) throw new RangeError("address must be an IP address");
      for (const cb of ["onReadable", "onError"]) checkCallback(o, cb);
      this.#options = options;
      const address = (o.address as string | undefined) ?? "::";
      this.#label = `listener ${address}:${o.port as number}`;
      const self = this;
      this.#entry = {
        expecting: 0,
        clientArrived(localPort, client) {
          const s = self.#waitingSockets.get(localPort);
          if (s) {
            self.#waitingSockets.delete(localPort);
            self.#entry.expecting--;
            self.#pairAccept(s, client);
          } else {
            self.#waitingClients.set(localPort, client);
          }
        },
        clientGaveUp() {
          if (self.#entry.expecting > 0) self.#entry.expecting--;
        },
      };
      this.#target = {
        blackholeChanged: () => undefined,
        reset: () => undefined,
        destroy: () => this.#shutdown(),
      };
      const server = net.createServer({ pauseOnConnect: true });
      this.#server = server;
      this.#bindHold = ctx.scheduler.hold(`${this.#label} bind`);
      ctx.live.add(this.#target);
      server.on("listening", () => {
        const a = server.address();
        this.#port = a !== null && typeof a === "object" ? a.port : 0;
        if (!this.#closed) registry(ctx).set(this.#port, this.#entry);
        this.#releaseBind();
      });
      server.on("error", (err) => {
        if (this.#closed || this.#dead) return;
        this.#dead = true;
        const e = toHalError(err);
        ctx.scheduler.postExternal(() => {
          if (this.#closed) return undefined;
          const cb = this.#options.onError;
          return typeof cb === "function" ? cb.call(this, e) : undefined;
        });
        this.#releaseBind();
      });
      server.on("connection", (socket: net.Socket) => this.#incoming(socket));
      // A link-local address (with or without zone) is an address of the simulated link: listen on ::1.
      const host = isLinkLocal(address) && net.isIP(address) === 6 ? "::1" : address;
      server.listen({ port: o.port as number, host, ipv6Only: address === "::" ? false : undefined });
    }

    get port(): number {
      return this.#port;
    }

    read(): ListenerSocket | undefined {
      if (this.#closed) throw new Error("Listener: closed");
      const a = this.#queue.shift();
      return a;
    }

    close(): void {
      if (this.#closed) return;
      this.#closed = true;
      ctx.live.delete(this.#target);
      this.#shutdown();
    }

    #shutdown(): void {
      this.#releaseBind();
      const r = registry(ctx);
      if (r.get(this.#port) === this.#entry) r.delete(this.#port);
      for (const h of this.#queue.splice(0)) {
        const a = accepted.get(h);
        if (!a || a.taken) continue;
        a.pair?.dropAll();
        a.socket.destroy();
      }
      for (const s of this.#waitingSockets.values()) s.destroy();
      this.#waitingSockets.clear();
      this.#waitingClients.clear();
      try {
        this.#server.close();
      } catch {
        // not listening
      }
    }

    #releaseBind(): void {
      const r = this.#bindHold;
      this.#bindHold = null;
      if (r) r();
    }

    #incoming(socket: net.Socket): void {
      if (this.#closed || this.#dead) {
        socket.destroy();
        return;
      }
      socket.on("error", () => undefined); // until wrapped: the wrapper reports
      const port = socket.remotePort ?? 0;
      const fromLoopback = isLoopback(socket.remoteAddress ?? "");
      if (fromLoopback && (this.#waitingClients.has(port) || this.#entry.expecting > 0)) {
        const client = this.#waitingClients.get(port);
        if (client) {
          this.#waitingClients.delete(port);
          this.#entry.expecting--;
          this.#pairAccept(socket, client);
        } else {
          this.#waitingSockets.set(port, socket);
        }
        return;
      }
      if (ctx.blackholed) {
        socket.destroy();
        return;
      }
      this.#accept(socket, null);
    }

    #pairAccept(socket: net.Socket, client: PairingClient): void {
      this.#accept(socket, client.link);
      client.matched();
    }

    #accept(socket: net.Socket, pair: PairLink | null): void {
      const rec: Accepted = { socket, pair, taken: false, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
      const handle: ListenerSocket = Object.freeze({ remoteAddress: rec.remoteAddress, remotePort: rec.remotePort });
      accepted.set(handle, rec);
      ctx.scheduler.postExternal(() => {
        if (this.#closed || this.#dead) {
          pair?.dropAll();
          socket.destroy();
          return undefined;
        }
        this.#queue.push(handle);
        const cb = this.#options.onReadable;
        return typeof cb === "function" ? cb.call(this, this.#queue.length) : undefined;
      });
    }
  };
}

