/**
 * A simulated HomePlug Green PHY power line: the medium (the control pilot wire between one charger and one car)
 * and the modems on it. The charger's modem sits behind the QCA7000 SPI model (qca7000.ts); the car's modem is
 * used directly by the simulated EVCC (`evModem.send(frame)` / `evModem.onHostFrame`).
 *
 * What is modelled (what SLAC and IPv6 above need):
 *  - every frame a modem sends reaches the other modems after `latencyMs` (virtual time), in order;
 *  - SLAC MMEs (CM_SLAC_PARAM .. CM_ATTEN_PROFILE, MMTYPE 0x6064..0x6087) cross the medium without a network
 *    (the "unassociated" broadcast SLAC runs on); every other frame (IPv6, other MMEs) is delivered only between
 *    modems that hold the same NMK, `joinMs` after the later of the two got it (CM_SET_KEY): before matching,
 *    and with different keys, data does not pass;
 *  - a modem answers its own host: CM_SET_KEY.REQ (to 00:B0:52:00:00:01 or the modem's MAC) → sets NID/NMK,
 *    answers CM_SET_KEY.CNF (result 0 = success); VS_SW_VER.REQ → VS_SW_VER.CNF with a version string;
 *  - a charger-side modem turns each CM_MNBC_SOUND.IND it hears into a CM_ATTEN_PROFILE.IND to its host
 *    (PEV MAC, 58 carrier groups, one attenuation in dB per group: the link's attenuation ± seeded noise);
 *    the sound itself is not passed up;
 *  - faults: `medium.blocked` (nothing gets through), `medium.lossRate` (seeded random drops),
 *    `medium.attenuationDb` (what ATTEN_PROFILE reports; a car on a neighbouring charger hears more attenuated).
 */
import type { Rng } from "../rng.js";

export interface SimClock {
  readonly now: number;
  after(ms: number, fn: () => void): unknown;
}

const ETHERTYPE_HOMEPLUG = 0x88e1;
const QCA_LOCAL = [0x00, 0xb0, 0x52, 0x00, 0x00, 0x01];
const CM_SET_KEY_REQ = 0x6008;
const CM_SET_KEY_CNF = 0x6009;
const CM_MNBC_SOUND_IND = 0x6076;
const CM_ATTEN_PROFILE_IND = 0x6086;
const VS_SW_VER_REQ = 0xa000;
const VS_SW_VER_CNF = 0xa001;
const SLAC_FIRST = 0x6064;
const SLAC_LAST = 0x6087;
/** Carrier groups a HomePlug Green PHY ATTEN_PROFILE reports (ISO 15118-3). */
export const ATTEN_GROUPS = 58;

function etherType(f: Uint8Array): number {
  return f.length >= 14 ? (f[12]! << 8) | f[13]! : -1;
}
function mmtypeOf(f: Uint8Array): number {
  return etherType(f) === ETHERTYPE_HOMEPLUG && f.length >= 17 ? f[15]! | (f[16]! << 8) : -1;
}
function same6(a: Uint8Array, ao: number, b: ArrayLike<number>): boolean {
  for (let i = 0; i < 6; i++) if (a[ao + i] !== b[i]) return false;
  return true;
}
function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export interface HomePlugModemOptions {
  /** The modem's own MAC (source of what it generates itself: CNFs, ATTEN_PROFILE). */
  mac: Uint8Array;
  /** "evse": turns sounds into ATTEN_PROFILE.IND; "pev": the car's. */
  role: "evse" | "pev";
  clock: SimClock;
  rng: Rng;
  /** Firmware version string of VS_SW_VER.CNF. */
  version?: string;
}

export interface ModemStats {
  fromHost: number;
  toHost: number;
  sent: number;
  heard: number;
  /** Frames not delivered because the two modems are not in the same network (yet). */
  noNetwork: number;
  sounds: number;
}

/** One modem: its host side (`hostSend` / `onHostFrame`) and its power-line side (the medium). */
export class HomePlugModem {
  readonly mac: Uint8Array;
  readonly role: "evse" | "pev";
  readonly stats: ModemStats = { fromHost: 0, toHost: 0, sent: 0, heard: 0, noNetwork: 0, sounds: 0 };
  /** Where frames for the host go (the SPI chip's read buffer, or the simulated EVCC). */
  onHostFrame: ((frame: Uint8Array) => void) | null = null;
  /** The network membership key (hex) and ID set by CM_SET_KEY, or null. */
  nmk: string | null = null;
  nid: string | null = null;
  /** Virtual time the key was set (joining takes medium.joinMs from the later of two modems). */
  keyAt = 0;
  /** False while the modem is powered down / resetting (nothing in or out). */
  up = true;
  medium: HomePlugMedium | null = null;
  private readonly version: string;

  constructor(private readonly o: HomePlugModemOptions) {
    if (o.mac.length !== 6) throw new RangeError("MAC addresses are 6 bytes");
    this.mac = o.mac.slice();
    this.role = o.role;
    this.version = o.version ?? "MAC-QCA7000-1.2.5.3207-00-20180314-CS";
  }

  /** Forgets the network (power loss / reset). */
  resetState(): void {
    this.nmk = null;
    this.nid = null;
  }

  /** A frame from the host (copied). Local MMEs are answered; everything else goes onto the medium. */
  hostSend(frame: Uint8Array): void {
    if (!this.up) return;
    this.stats.fromHost++;
    const f = frame.slice();
    const mt = mmtypeOf(f);
    const local = same6(f, 0, QCA_LOCAL) || same6(f, 0, this.mac);
    if (mt === CM_SET_KEY_REQ && local) return this.setKey(f);
    if (mt === VS_SW_VER_REQ && (local || (f[0]! & 1) === 1)) {
      this.swVersion(f);
      if (local) return;
    }
    if (local) return; // other local management: not modelled, no answer
    this.stats.sent++;
    this.medium?.transmit(this, f);
  }

  /** A frame from the medium (called by it). */
  hear(f: Uint8Array, from: HomePlugModem): void {
    if (!this.up) return;
    this.stats.heard++;
    const mt = mmtypeOf(f);
    if (mt === CM_MNBC_SOUND_IND) {
      this.stats.sounds++;
      if (this.role === "evse") this.attenProfile(f, from);
      return;
    }
    this.toHost(f);
  }

  toHost(f: Uint8Array): void {
    this.stats.toHost++;
    this.onHostFrame?.(f);
  }

  /** True when a frame from this modem may reach `other` now (SLAC MMEs always; the rest within one network). */
  canReach(other: HomePlugModem, f: Uint8Array, joinMs: number): boolean {
    const mt = mmtypeOf(f);
    if (mt >= SLAC_FIRST && mt <= SLAC_LAST) return true;
    if (this.nmk === null || this.nmk !== other.nmk) return false;
    return this.o.clock.now >= Math.max(this.keyAt, other.keyAt) + joinMs;
  }

  private reply(dst: Uint8Array, mmv: number, mmtype: number, payload: ArrayLike<number>): void {
    const hl = mmv === 0 ? 17 : 19;
    const f = new Uint8Array(Math.max(60, hl + payload.length));
    f.set(dst.subarray(0, 6), 0);
    f.set(this.mac, 6);
    f[12] = 0x88;
    f[13] = 0xe1;
    f[14] = mmv;
    f[15] = mmtype & 0xff;
    f[16] = mmtype >> 8;
    f.set(payload as ArrayLike<number>, hl);
    const self = this;
    this.o.clock.after(1, () => {
      if (self.up) self.toHost(f);
    });
  }

  /** CM_SET_KEY.REQ payload (from offset 19): KeyType 1, MyNonce 4, YourNonce 4, PID 1, PRN 2, PMN 1, CCo 1, NID 7, NewEKS 1, NewKey 16. */
  private setKey(f: Uint8Array): void {
    const p = 19;
    let result = 1; // failure
    if (f.length >= p + 38 && f[p] === 1) {
      this.nid = hex(f.subarray(p + 14, p + 21));
      this.nmk = hex(f.subarray(p + 22, p + 38));
      this.keyAt = this.o.clock.now;
      result = 0;
    }
    const src = f.subarray(6, 12);
    // Result, MyNonce (the modem's), YourNonce (the host's MyNonce), PID, PRN, PMN, CCo capability.
    const nonce = this.o.rng.next();
    const pl = [result, nonce >>> 24, (nonce >> 16) & 255, (nonce >> 8) & 255, nonce & 255, f[p + 1] ?? 0, f[p + 2] ?? 0, f[p + 3] ?? 0, f[p + 4] ?? 0, f[p + 9] ?? 0, f[p + 10] ?? 0, f[p + 11] ?? 0, f[p + 12] ?? 0, 0];
    this.reply(src, 1, CM_SET_KEY_CNF, pl);
  }

  private swVersion(f: Uint8Array): void {
    const pl: number[] = [0x00, 0xb0, 0x52, 0x00, 0x20, this.version.length + 1];
    for (let i = 0; i < this.version.length; i++) pl.push(this.version.charCodeAt(i) & 0x7f);
    pl.push(0);
    this.reply(f.subarray(6, 12), 0, VS_SW_VER_CNF, pl);
  }

  /** CM_ATTEN_PROFILE.IND to the host: PEV MAC (the sound's source), NumGroups 58, RSVD, AAG[58] in dB. */
  private attenProfile(sound: Uint8Array, from: HomePlugModem): void {
    const m = this.medium;
    const base = m ? m.attenuationDb(from, this) : 20;
    const pl = new Array<number>(8 + ATTEN_GROUPS);
    for (let i = 0; i < 6; i++) pl[i] = sound[6 + i]!;
    pl[6] = ATTEN_GROUPS;
    pl[7] = 0;
    for (let g = 0; g < ATTEN_GROUPS; g++) {
      const v = Math.round(base + (this.o.rng.float() - 0.5) * 6);
      pl[8 + g] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    // Broadcast to the host, from the modem, as the recorded modems do.
    this.reply(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 1, CM_ATTEN_PROFILE_IND, pl);
  }
}

export interface HomePlugMediumOptions {
  clock: SimClock;
  rng: Rng;
  /** One-way delay, ms. Default 2. */
  latencyMs?: number;
  /** Time for two modems with the same NMK to form the network, ms. Default 500. */
  joinMs?: number;
  /** Attenuation between modems, dB (ATTEN_PROFILE's level). Default 20. */
  attenuationDb?: number;
}

/** The shared wire: broadcast with latency; network membership filters non-SLAC traffic. */
export class HomePlugMedium {
  /** Nothing gets through while true (a broken pilot wire, a modem with no coupling). */
  blocked = false;
  /** Probability 0..1 that a frame is lost (seeded). */
  lossRate = 0;
  latencyMs: number;
  joinMs: number;
  baseAttenuationDb: number;
  readonly stats = { frames: 0, delivered: 0, lost: 0 };
  private readonly modems: HomePlugModem[] = [];
  /** Extra attenuation per modem (a car plugged into the neighbouring charger hears this much more). */
  private readonly extra = new Map<HomePlugModem, number>();

  constructor(private readonly o: HomePlugMediumOptions) {
    this.latencyMs = o.latencyMs ?? 2;
    this.joinMs = o.joinMs ?? 500;
    this.baseAttenuationDb = o.attenuationDb ?? 20;
  }

  attach(m: HomePlugModem, extraAttenuationDb = 0): void {
    if (!this.modems.includes(m)) this.modems.push(m);
    m.medium = this;
    this.extra.set(m, extraAttenuationDb);
  }

  detach(m: HomePlugModem): void {
    const i = this.modems.indexOf(m);
    if (i >= 0) this.modems.splice(i, 1);
    if (m.medium === this) m.medium = null;
    this.extra.delete(m);
  }

  attenuationDb(a: HomePlugModem, b: HomePlugModem): number {
    return this.baseAttenuationDb + (this.extra.get(a) ?? 0) + (this.extra.get(b) ?? 0);
  }

  /** True when `a` and `b` share a network that has formed (both keyed with the same NMK, joinMs ago). */
  linked(a: HomePlugModem, b: HomePlugModem): boolean {
    return a.nmk !== null && a.nmk === b.nmk && this.o.clock.now >= Math.max(a.keyAt, b.keyAt) + this.joinMs;
  }

  transmit(from: HomePlugModem, f: Uint8Array): void {
    this.stats.frames++;
    if (this.blocked) {
      this.stats.lost++;
      return;
    }
    for (const to of this.modems) {
      if (to === from) continue;
      if (!from.canReach(to, f, this.joinMs)) {
        from.stats.noNetwork++;
        continue;
      }
      if (this.lossRate > 0 && this.o.rng.float() < this.lossRate) {
        this.stats.lost++;
        continue;
      }
      const self = this;
      this.o.clock.after(this.latencyMs, () => {
        if (self.blocked || !self.modems.includes(to)) return;
        self.stats.delivered++;
        to.hear(f, from);
      });
    }
  }
}
