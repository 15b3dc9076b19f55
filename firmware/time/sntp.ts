/**
 * SNTP client (RFC 4330, the client subset of RFC 5905) over the HAL's UDP.
 *
 * - Request: 48 bytes, LI 0, VN 4, mode 3; the transmit timestamp is a random 64-bit cookie from the HAL's
 *   crypto (not our clock: we may not know the time, and a cookie makes a blind spoofed reply useless).
 * - A reply is accepted only from the server asked, 48+ bytes, mode 4, VN 1..4, LI != 3 (server unsynchronised),
 *   stratum 1..15 (0 = kiss-o'-death: that server is skipped until the next poll), originate timestamp = our
 *   cookie, non-zero receive/transmit timestamps, T3 >= T2 and a round trip below maxDelayMs. Anything else is
 *   dropped and counted (the request then times out and the next server is asked).
 * - The sample given to the clock policy uses only the MONOTONIC clock: reference time at the reply's arrival
 *   = T3 + delay/2 with delay = (T4 - T1)mono - (T3 - T2); precision = delay/2 + the server's precision.
 * - Polls every pollMs after a success; after a failed round over all servers it retries with a doubling
 *   back-off from 16 s up to pollMs.
 */
import type { Hal, UDP } from "../../hal/index.js";
import type { ClockPolicy } from "./clock-policy.js";

/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;
export const SNTP_PACKET_BYTES = 48;

export interface SntpServer {
  address: string;
  port: number;
}

/** Parses "a.b.c.d[:port], ..." (IPv4 literals: the HAL has no resolver). Throws RangeError naming the bad entry. */
export function parseServers(text: string): SntpServer[] {
  const out: SntpServer[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d{1,5}))?$/.exec(item);
    if (!m || [m[1], m[2], m[3], m[4]].some((o) => Number(o) > 255)) throw new RangeError(`NTP server ${item}: an IPv4 address[:port]`);
    const port = m[5] === undefined ? 123 : Number(m[5]);
    if (port < 1 || port > 65535) throw new RangeError(`NTP server ${item}: port 1..65535`);
    out.push({ address: `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}.${Number(m[4])}`, port });
  }
  return out;
}

/** NTP 64-bit timestamp at `offset` -> Unix ms (era 0 and, past 2036, era 1 by the pivot rule). 0 stays 0. */
export function readNtpTime(v: DataView, offset: number): number {
  const s = v.getUint32(offset);
  const f = v.getUint32(offset + 4);
  if (s === 0 && f === 0) return 0;
  // Era pivot (RFC 4330 section 3): seconds with the top bit clear belong to era 1 (from 2036).
  const secs = (s & 0x80000000) === 0 ? s + 4294967296 : s;
  return (secs - NTP_UNIX_OFFSET_S) * 1000 + (f / 4294967296) * 1000;
}

/** Writes Unix ms as an NTP 64-bit timestamp. */
export function writeNtpTime(v: DataView, offset: number, unixMs: number): void {
  let secs = Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET_S;
  if (secs >= 4294967296) secs -= 4294967296;
  const frac = Math.floor(((unixMs % 1000) / 1000) * 4294967296);
  v.setUint32(offset, secs >>> 0);
  v.setUint32(offset + 4, frac >>> 0);
}

/** A client request with the 8-byte cookie as transmit timestamp. */
export function sntpRequest(cookie: Uint8Array): Uint8Array {
  const p = new Uint8Array(SNTP_PACKET_BYTES);
  p[0] = (0 << 6) | (4 << 3) | 3;
  p.set(cookie.subarray(0, 8), 40);
  return p;
}

export interface SntpReply {
  stratum: number;
  /** Server receive (T2) and transmit (T3) times, Unix ms. */
  t2: number;
  t3: number;
  /** The server's precision, ms. */
  precisionMs: number;
}

/** Checks a reply against the request's cookie; a string says why it was rejected. */
export function parseSntpReply(data: ArrayBuffer, cookie: Uint8Array): SntpReply | string {
  if (data.byteLength < SNTP_PACKET_BYTES) return "short packet";
  const b = new Uint8Array(data);
  const v = new DataView(data);
  const li = b[0]! >> 6;
  const vn = (b[0]! >> 3) & 7;
  const mode = b[0]! & 7;
  if (mode !== 4) return `mode ${mode}`;
  if (vn < 1 || vn > 4) return `version ${vn}`;
  const stratum = b[1]!;
  if (stratum === 0) return "kiss-o'-death";
  if (stratum > 15) return `stratum ${stratum}`;
  if (li === 3) return "server unsynchronised";
  for (let i = 0; i < 8; i++) if (b[24 + i] !== cookie[i]) return "originate mismatch";
  const t2 = readNtpTime(v, 32);
  const t3 = readNtpTime(v, 40);
  if (t2 === 0 || t3 === 0) return "zero timestamp";
  if (t3 < t2) return "transmit before receive";
  const prec = v.getInt8(3);
  const precisionMs = prec < -30 ? 0 : prec > 10 ? 1024_000 : Math.pow(2, prec) * 1000;
  return { stratum, t2, t3, precisionMs };
}

export interface SntpOptions {
  servers: SntpServer[];
  pollMs: number;
  /** How long to wait for a reply. Default 2 s. */
  timeoutMs?: number;
  /** Round trips above this are discarded. Default 1 s. */
  maxDelayMs?: number;
  /** First poll after start. Default 1 s. */
  firstPollMs?: number;
}

export interface SntpStats {
  requests: number;
  replies: number;
  rejected: number;
  timeouts: number;
  lastReject: string;
  lastDelayMs: number;
}

export class SntpClient {
  readonly stats: SntpStats = { requests: 0, replies: 0, rejected: 0, timeouts: 0, lastReject: "", lastDelayMs: 0 };
  private timer = 0;
  private timeout = 0;
  private socket: UDP | null = null;
  private serverIndex = 0;
  private failedInRound = 0;
  private backoffMs = 16_000;
  private stopped = true;

  constructor(
    private readonly hal: Hal,
    private readonly policy: ClockPolicy,
    private readonly o: SntpOptions,
  ) {}

  start(): void {
    if (!this.stopped || this.o.servers.length === 0) return;
    this.stopped = false;
    this.schedule(this.o.firstPollMs ?? 1_000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.hal.timers.clear(this.timer);
    this.timer = 0;
    this.finish();
  }

  /** Polls now (a test or a "sync" command). */
  pollNow(): void {
    if (this.stopped) return;
    if (this.timer) this.hal.timers.clear(this.timer);
    this.timer = 0;
    this.poll();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) this.hal.timers.clear(this.timer);
    this.timer = this.hal.timers.set(() => {
      this.timer = 0;
      this.poll();
    }, ms);
  }

  private poll(): void {
    if (this.stopped || this.socket) return;
    const server = this.o.servers[this.serverIndex % this.o.servers.length]!;
    const cookie = new Uint8Array(this.hal.crypto.randomBytes(8));
    const self = this;
    let t1 = 0;
    let socket: UDP;
    try {
      socket = new this.hal.network.UDP({
        onReadable() {
          for (let p = this.read(); p !== undefined; p = this.read()) {
            if (self.socket !== this) return;
            if (p.address !== server.address || p.port !== server.port) {
              self.reject("unexpected sender");
              continue;
            }
            const t4 = self.hal.clock.now();
            const r = parseSntpReply(p.data, cookie);
            if (typeof r === "string") {
              self.reject(r);
              continue;
            }
            const delay = t4 - t1 - (r.t3 - r.t2);
            self.stats.lastDelayMs = delay;
            if (delay < 0 || delay > (self.o.maxDelayMs ?? 1_000)) {
              self.reject(`round trip ${delay} ms`);
              continue;
            }
            self.stats.replies++;
            self.finish();
            self.policy.sample(r.t3 + delay / 2, t4, delay / 2 + r.precisionMs + 1, "sntp");
            self.failedInRound = 0;
            self.backoffMs = 16_000;
            self.schedule(self.o.pollMs);
            return;
          }
        },
        onError() {
          if (self.socket !== this) return;
          self.failed();
        },
      });
    } catch {
      this.failed();
      return;
    }
    this.socket = socket;
    this.stats.requests++;
    t1 = this.hal.clock.now();
    this.timeout = this.hal.timers.set(() => {
      this.timeout = 0;
      this.stats.timeouts++;
      this.failed();
    }, this.o.timeoutMs ?? 2_000);
    try {
      socket.write(sntpRequest(cookie), server.address, server.port);
    } catch {
      this.failed();
    }
  }

  private reject(why: string): void {
    this.stats.rejected++;
    this.stats.lastReject = why;
  }

  private finish(): void {
    if (this.timeout) this.hal.timers.clear(this.timeout);
    this.timeout = 0;
    const s = this.socket;
    this.socket = null;
    if (s) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }

  private failed(): void {
    this.finish();
    this.serverIndex = (this.serverIndex + 1) % this.o.servers.length;
    this.failedInRound++;
    if (this.failedInRound < this.o.servers.length) {
      this.schedule(0);
      return;
    }
    this.failedInRound = 0;
    const wait = this.backoffMs < this.o.pollMs ? this.backoffMs : this.o.pollMs;
    this.backoffMs = this.backoffMs * 2;
    this.schedule(wait);
  }
}
