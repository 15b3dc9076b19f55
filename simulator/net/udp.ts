/**
 * Simulated UDP socket (ECMA-419 embedded:io/socket/udp shape) over node:dgram, bound to 127.0.0.1 unless
 * `address` says otherwise (an IPv6 address, e.g. "::1" for the ISO 15118 SDP, makes it an IPv6 socket).
 *
 *  - Binding takes a hold until the socket is bound (a bind failure is posted as onError).
 *  - Each received datagram is posted as onReadable(packetsQueued); read() returns the next one.
 *  - write() for which expectsReply(bytes) is true holds until the next datagram arrives.
 *  - Blackhole: datagrams are dropped both ways. refuse/dropAll do not apply (no connection).
 *
 * The simulated link (link-local.ts): datagrams to an IPv6 multicast group (ff02::1) or to a link-local address
 * (fe80::/10) never reach the kernel; the network routes them among its own sockets, at write() time, so every
 * run delivers them alike:
 *  - `add(group)` / `remove(group)` (ECMA-419 4th edition) join / leave a multicast group (IPv6 ff00::/8 or IPv4
 *    224.0.0.0/4; the zone is accepted and ignored: one link). A datagram to group:P is delivered once to every
 *    socket of the network that joined the group, is bound to port P, and is bound to "::" (or nothing, or the
 *    group itself): a socket bound to a unicast address gets no multicast, as in lwIP and Linux. The sender gets
 *    its own datagram when it is a member (multicast loopback, the IPv6 default). Order: the sockets' creation
 *    order. A datagram to a link-local address:P goes to the socket bound to that address (else to one bound to
 *    "::") on port P, or nowhere.
 *  - Each delivery is a posted onReadable (simulation work, not a real-world delivery), so no hold is needed for
 *    it; a write made before the sender is bound (its port unknown) is routed when the bind completes, under
 *    the bind hold. The expectsReply hold of the sender is released by the reply as for kernel traffic.
 *  - The source a receiver sees: the sender's bound link-local address (without zone), else "::1" (IPv6) /
 *    "127.0.0.1" (IPv4), with the sender's real port, so a unicast answer to a ::1 sender still goes through
 *    the kernel. Sockets bound to "::" or a link-local address (real socket: "::" / "::1") may share a port
 *    (SO_REUSEADDR), as group members on one port do.
 */
import dgram from "node:dgram";
import { isIP } from "node:net";
import type { UDP, UDPOptions, UDPPacket } from "../../hal/network.js";
import { canonicalIpv6, isLinkLocal, isMulticast6, isUnspecified6, splitZone } from "./link-local.js";
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

/** A socket of the simulated link, as the router sees it. */
interface LinkSocket {
  /** Bound address: canonical IPv6 without zone ("::" for unspecified), or the IPv4 text. */
  readonly bound: string;
  readonly v6: boolean;
  /** Bound to no particular address ("::", "0.0.0.0", or no address given): receives multicast. */
  readonly any: boolean;
  /** The real port once bound, else 0. */
  port: number;
  readonly groups: Set<string>;
  /** Still open (not closed, real socket alive). */
  readonly alive: boolean;
  receive(packet: UDPPacket): void;
}

const links = new WeakMap<NetContext, LinkSocket[]>();

function linkSockets(ctx: NetContext): LinkSocket[] {
  let l = links.get(ctx);
  if (!l) {
    l = [];
    links.set(ctx, l);
  }
  return l;
}

function isMulticast4(address: string): boolean {
  if (isIP(address) !== 4) return false;
  const first = Number(address.split(".")[0]);
  return first >= 224 && first <= 239;
}

/** The group key: canonical IPv6 without zone, or the IPv4 text; null when not a multicast address. */
function groupKey(address: string): string | null {
  if (isMulticast4(address)) return address;
  if (isIP(address) === 6 && isMulticast6(address)) return canonicalIpv6(address);
  return null;
}

/** Traffic the simulated link carries instead of the kernel. */
function routedInSimulation(address: string): boolean {
  return isMulticast4(address) || (isIP(address) === 6 && (isMulticast6(address) || isLinkLocal(address)));
}

/** The receivers of a datagram to address:port, in creation order. */
function receivers(ctx: NetContext, address: string, port: number): LinkSocket[] {
  const all = linkSockets(ctx).filter((s) => s.alive && s.port === port);
  const group = groupKey(address);
  if (group !== null) return all.filter((s) => s.groups.has(group) && (s.any || s.bound === group));
  const dst = canonicalIpv6(address);
  const exact = all.find((s) => s.v6 && s.bound === dst);
  const any = exact ?? all.find((s) => s.v6 && s.bound === "::");
  return any ? [any] : [];
}

export function udpClass(ctx: NetContext): new (options: UDPOptions) => UDP {
  return class SimUDP extends SimConnection implements UDP {
    readonly #options: UDPOptions;
    readonly #socket: dgram.Socket;
    readonly #inbox: UDPPacket[] = [];
    readonly #readable: UDPPacket[] = [];
    readonly #link: LinkSocket;
    /** Datagrams for the simulated link written before the bind completed. */
    #unrouted: { data: ArrayBuffer; address: string; port: number }[] = [];

    constructor(options: UDPOptions) {
      const o = checkOptions(options, "UDP");
      checkPort(o.port, "port", true);
      checkString(o.address, "address", true);
      if (o.address !== undefined && isIP(o.address as string) === 0) throw new RangeError("address must be an IP address");
      for (const cb of ["onReadable", "onError"]) checkCallback(o, cb);
      const address = (o.address as string | undefined) ?? "127.0.0.1";
      super(ctx, `udp ${address}:${(o.port as number | undefined) ?? 0}`);
      this.#options = options;
      this.open = true;
      this.settled = true;
      const v6 = isIP(address) === 6;
      // Sockets of the simulated link: link-local addresses exist only in the simulation (the real socket is on
      // ::1); they and "::" may share a port, as several members of a group do.
      const onLink = v6 && (isLinkLocal(address) || isUnspecified6(address));
      const realAddress = v6 && isLinkLocal(address) ? "::1" : address;
      const socket = dgram.createSocket({ type: v6 ? "udp6" : "udp4", reuseAddr: onLink });
      this.#socket = socket;
      const self = this;
      const groups = new Set<string>();
      this.#link = {
        bound: v6 ? (canonicalIpv6(splitZone(address).address) ?? address) : address,
        v6,
        any: o.address === undefined || address === "0.0.0.0" || (v6 && isUnspecified6(address)),
        port: 0,
        groups,
        get alive() {
          return !self.closed && !self.realDead;
        },
        receive: (p) => this.#receiveFromLink(p),
      };
      linkSockets(ctx).push(this.#link);
      this.ctx.live.add(this.target);
      this.takeConnectHold();
      socket.on("listening", () => {
        this.#link.port = socket.address().port;
        const pending = this.#unrouted;
        this.#unrouted = [];
        if (!this.closed && !this.realDead) for (const d of pending) this.#route(d.data, d.address, d.port);
        this.releaseConnectHold();
      });
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
      socket.bind((o.port as number | undefined) ?? 0, realAddress);
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
      if (routedInSimulation(address) && (isIP(address) === 6) === this.#link.v6) {
        if (this.#link.port === 0) this.#unrouted.push({ data: arrayBufferOf(buf), address, port });
        else this.#route(arrayBufferOf(buf), address, port);
        return;
      }
      this.#socket.send(buf, port, address, (err) => {
        if (err && !this.realDead) {
          this.settled = false;
          this.fail(toHalError(err), () => this.#options.onError);
        }
      });
    }

    add(multicastAddress: string): void {
      if (this.closed) throw new Error("UDP: closed");
      checkString(multicastAddress, "multicastAddress", false);
      const g = groupKey(multicastAddress);
      if (g === null) throw new RangeError("add: not a multicast group address");
      if (g.includes(":") !== this.#link.v6) throw new Error("add: the group's address family differs from the socket's");
      this.#link.groups.add(g);
    }

    remove(multicastAddress: string): void {
      if (this.closed) throw new Error("UDP: closed");
      checkString(multicastAddress, "multicastAddress", false);
      const g = groupKey(multicastAddress);
      if (g === null) throw new RangeError("remove: not a multicast group address");
      if (!this.#link.groups.delete(g)) throw new Error("remove: not a member of that group");
    }

    close(): void {
      if (this.closed) return;
      this.closed = true;
      this.#unrouted = [];
      const l = linkSockets(ctx);
      const i = l.indexOf(this.#link);
      if (i >= 0) l.splice(i, 1);
      this.forget();
      this.releaseAll();
      this.destroyReal();
    }

    /** Delivers a datagram for the simulated link to its receivers, now, in creation order. */
    #route(data: ArrayBuffer, address: string, port: number): void {
      if (this.ctx.blackholed) return;
      const source = this.#link.v6 ? (this.#link.bound !== "::" && isLinkLocal(this.#link.bound) ? this.#link.bound : "::1") : "127.0.0.1";
      for (const r of receivers(this.ctx, address, port)) r.receive({ data: data.slice(0), address: source, port: this.#link.port });
    }

    /** A datagram from the simulated link: posted as simulation work (before real-world deliveries). */
    #receiveFromLink(p: UDPPacket): void {
      if (this.realDead || this.ctx.blackholed) return;
      this.ctx.scheduler.post(() => {
        if (this.closed || this.dead) return undefined;
        this.#readable.push(p);
        return this.callback(this.#options.onReadable, this.#readable.length);
      });
      this.releaseReply();
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
