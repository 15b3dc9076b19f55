/**
 * A tiny SNTP server (RFC 4330 server side) on a loopback UDP port that answers with the SIMULATED wall clock
 * (`clock()`, e.g. Simulation.trueWallTime()), so the firmware's SNTP client runs in virtual time. The firmware's
 * request holds virtual time (SimulationOptions expectsReply: sntpRequestExpectsReply) until the reply arrives, so
 * T2 = T3 = the virtual instant of the request and every run is the same run.
 *
 * Knobs for tests: offsetMs (a server that is wrong by this much), stratum (0 = kiss-o'-death), leap (3 =
 * unsynchronised), silent (no answer), badOrigin (a reply whose originate timestamp does not echo the request).
 */
import dgram from "node:dgram";
import { NTP_UNIX_OFFSET_S } from "../firmware/time/sntp.js";

export interface SntpServerOptions {
  clock: () => number;
  offsetMs?: number;
  stratum?: number;
  leap?: number;
  silent?: boolean;
  badOrigin?: boolean;
}

function writeTime(b: Buffer, at: number, unixMs: number): void {
  let secs = Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET_S;
  if (secs >= 2 ** 32) secs -= 2 ** 32;
  b.writeUInt32BE(secs >>> 0, at);
  b.writeUInt32BE(Math.floor(((unixMs % 1000) / 1000) * 2 ** 32) >>> 0, at + 4);
}

/** A client request (mode 3, 48 bytes): the simulated network holds virtual time until its reply. */
export function sntpRequestExpectsReply(data: ArrayBuffer | string): boolean {
  if (typeof data === "string" || data.byteLength !== 48) return false;
  return (new Uint8Array(data)[0]! & 7) === 3;
}

export class SntpServer {
  requests = 0;
  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
    readonly options: SntpServerOptions,
  ) {}

  static async start(options: SntpServerOptions): Promise<SntpServer> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => resolve());
    });
    const server = new SntpServer(socket, socket.address().port, options);
    socket.on("message", (msg, rinfo) => server.answer(msg, rinfo));
    return server;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  private answer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 48 || (msg[0]! & 7) !== 3) return;
    this.requests++;
    const o = this.options;
    if (o.silent) return;
    const now = o.clock() + (o.offsetMs ?? 0);
    const r = Buffer.alloc(48);
    r[0] = ((o.leap ?? 0) << 6) | (4 << 3) | 4;
    r[1] = o.stratum ?? 2;
    r[2] = msg[2] ?? 6;
    r.writeInt8(-20, 3); // precision ~1 µs
    r.write("SIM\0", 12, "latin1");
    writeTime(r, 16, now);
    if (o.badOrigin) r.fill(0x5a, 24, 32);
    else msg.copy(r, 24, 40, 48);
    writeTime(r, 32, now);
    writeTime(r, 40, now);
    this.socket.send(r, rinfo.port, rinfo.address);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
