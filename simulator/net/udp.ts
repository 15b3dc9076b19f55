/**
 * Simulated UDP socket (ECMA-419 embedded:io/socket/udp shape) over node:dgram, bound to 127.0.0.1 unless
 * `address` says otherwise (an IPv6 address, e.g. "::1" for the ISO 15118 SDP, makes it an IPv6 socket).
 *
 *  - Binding takes a hold until the socket is bound (a bind failure is posted as onError).
 *  - Each received datagram is posted as onReadable(packetsQueued); read() returns the next one.
 *  - write() for which expectsReply(bytes) is true holds until the next datagram arrives.
 *  - Blackhole: datagrams are dropped both ways. refuse/dropAll do not apply (no connection).
 */
import dgram from "node:dgram";
import { isIP } from "node:net";
import type { UDP, UDPOptions, UDPPacket } from "../../hal/network.js";
import {
  SimConnection,
  arrayBufferOf,
  bufferFrom,
  checkCallback,
  checkOptions,
  checkPort,
  checkString,
  toHalError,
  type NetContext,
} from "./common.js";

export function udpClass(ctx: NetContext): new (options: UDPOptions) => UDP {
  return class SimUDP extends SimConnection implements UDP {
    readonly #options: UDPOptions;
    readonly #socket: dgram.Socket;
    readonly #inbox: UDPPacket[] = [];
    readonly #readable: UDPPacket[] = [];

    constructor(options: UDPOptions) {
      const o = checkOptions(options, "UDP");
      checkPort(o.port, "port", true);
      checkString(o.address, "address", true);
      if (o.address !== undefined && isIP(o.address as string) === 0) throw new RangeError("address must be an IP address");
      for (const cb of ["onReadable", "onError"]) checkCallback(o, cb);
      super(ctx, `udp ${(o.address as string | undefined) ?? "127.0.0.1"}:${(o.port as number | undefined) ?? 0}`);
      this.#options = options;
      this.open = true;
      this.settled = true;
      const socket = dgram.createSocket(o.address !== undefined && isIP(o.address as string) === 6 ? "udp6" : "udp4");
      this.#socket = socket;
      this.ctx.live.add(this.target);
      this.takeConnectHold();
      socket.on("listening", () => this.releaseConnectHold());
      socket.on("error", (err) => {
        if (this.realDead) return;
        this.settled = false;
        this.fail(toHalError(err), () => this.#options.onError);
      });
      socket.on("message", (msg, rinfo) => {
        if (this.realDead || this.ctx.blackholed) return;
        this.#inbox.push({ data: arrayBufferOf(msg), address: rinfo.address, port: rinfo.port });
        this.post(() => {
          const p = this.#inbox.shift();
          if (!p || this.dead) return undefined;
          this.#readable.push(p);
          return this.callback(this.#options.onReadable, this.#readable.length);
        });
        this.releaseReply();
      });
      socket.bind((o.port as number | undefined) ?? 0, (o.address as string | undefined) ?? "127.0.0.1");
    }

    read(): UDPPacket | undefined {
      if (this.closed) throw new Error("UDP: closed");
      return this.#readable.shift();
    }

    write(buffer: ArrayBuffer | Uint8Array | DataView, address: string, port: number): void {
      if (this.closed) throw new Error("UDP: closed");
      const buf = bufferFrom(buffer, "buffer");
      checkString(address, "address", false);
      if (isIP(address) === 0) throw new RangeError("address must be an IP address");
      checkPort(port, "port", false);
      if (port === 0) throw new RangeError("port must be 1..65535");
      if (this.dead || this.realDead || this.ctx.blackholed) return;
      if (this.ctx.expectsReply(arrayBufferOf(buf))) this.holdReply("reply");
      this.#socket.send(buf, port, address, (err) => {
        if (err && !this.realDead) {
          this.settled = false;
          this.fail(toHalError(err), () => this.#options.onError);
        }
      });
    }

    close(): void {
      if (this.closed) return;
      this.closed = true;
      this.forget();
      this.releaseAll();
      this.destroyReal();
    }

    protected blackholeChanged(on: boolean): void {
      if (on) this.releaseReplies();
    }

    protected reset(): void {
      // Datagrams have no connection to reset.
    }

    protected destroyReal(): void {
      if (this.realDead && this.closed) return;
      this.realDead = true;
      try {
        this.#socket.close();
      } catch {
        // already closed
      }
    }
  };
}

