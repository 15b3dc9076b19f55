/**
 * Test rig for the QCA7000 driver: a synchronous virtual-time clock (the driver's Timers and the models'
 * SimClock), the chip model on a simulated SPI bus with its interrupt line, the medium and the car's modem.
 */
import { Qca7000, type Qca7000Options } from "../../hal/drivers/qca7000.js";
import type { HalError, TimerId, Timers } from "../../hal/index.js";
import { HomePlugMedium, HomePlugModem, type SimClock } from "../../simulator/chips/homeplug.js";
import { createChipIo, InputLine } from "../../simulator/chips/io.js";
import { Qca7000Chip } from "../../simulator/chips/qca7000.js";
import { Rng } from "../../simulator/rng.js";

interface Ev {
  t: number;
  seq: number;
  id: number;
  fn: () => void;
  repeat: number;
}

export class VClock implements Timers, SimClock {
  now = 0;
  private q: Ev[] = [];
  private seq = 0;
  private ids = 1;
  private readonly dead = new Set<number>();
  after(ms: number, fn: () => void): number {
    return this.push(this.now + ms, fn, 0);
  }
  set(cb: (id: TimerId) => void, delay: number, repeat = 0): TimerId {
    if (!(delay >= 0) || !(repeat >= 0)) throw new RangeError("bad delay");
    const id = this.ids++;
    const ev: Ev = { t: this.now + delay, seq: this.seq++, id, fn: () => cb(id), repeat };
    this.q.push(ev);
    return id;
  }
  clear(id: TimerId): void {
    this.dead.add(id);
  }
  private push(t: number, fn: () => void, repeat: number): number {
    const id = this.ids++;
    this.q.push({ t, seq: this.seq++, id, fn, repeat });
    return id;
  }
  /** Runs every event up to `until` (virtual ms), in time then insertion order. */
  runUntil(until: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      let best = -1;
      for (let i = 0; i < this.q.length; i++) {
        const e = this.q[i]!;
        if (e.t > until) continue;
        if (best < 0 || e.t < this.q[best]!.t || (e.t === this.q[best]!.t && e.seq < this.q[best]!.seq)) best = i;
      }
      if (best < 0) break;
      const e = this.q.splice(best, 1)[0]!;
      if (this.dead.has(e.id)) continue;
      this.now = e.t;
      if (e.repeat > 0) this.q.push({ ...e, t: e.t + e.repeat, seq: this.seq++ });
      e.fn();
    }
    this.now = until;
  }
  run(ms: number): void {
    this.runUntil(this.now + ms);
  }
}

export const EVSE_MAC = Uint8Array.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
export const EV_MAC = Uint8Array.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);

export interface RigOptions {
  seed?: number;
  irq?: boolean;
  bootMs?: number;
  driver?: Partial<Qca7000Options>;
}

export function rig(o: RigOptions = {}) {
  const seed = o.seed ?? 1;
  const clock = new VClock();
  const rng = new Rng(seed);
  const medium = new HomePlugMedium({ clock, rng: rng.fork("medium") });
  const evseModem = new HomePlugModem({ mac: Uint8Array.from([0x00, 0xb0, 0x52, 0, 0, 0x10]), role: "evse", clock, rng: rng.fork("evse-modem") });
  const evModem = new HomePlugModem({ mac: Uint8Array.from([0x00, 0xb0, 0x52, 0, 0, 0x20]), role: "pev", clock, rng: rng.fork("ev-modem") });
  medium.attach(evseModem);
  medium.attach(evModem);
  const chip = new Qca7000Chip({ modem: evseModem, clock, rng: rng.fork("qca-miso"), ...(o.bootMs !== undefined ? { bootMs: o.bootMs } : {}) });
  const inputs = new Map<number, InputLine>([[21, chip.irq]]);
  const io = createChipIo({ check() {}, devices: new Map([[5, chip]]), powerFail: null, deliver: (fn) => clock.after(0, fn), inputs });
  const errors: HalError[] = [];
  const status: boolean[] = [];
  const received: Uint8Array[] = [];
  const evReceived: Uint8Array[] = [];
  let writable = 0;
  evModem.onHostFrame = (f) => evReceived.push(f.slice());
  const drv = new Qca7000({
    spi: new io.SPI({ hz: 8_000_000, mode: 3, select: 5 }),
    timers: clock,
    now: () => clock.now,
    ...(o.irq === false ? {} : { Digital: io.Digital, irqPin: 21 }),
    onReadable() {
      for (let f = this.read(); f; f = this.read()) received.push(f);
    },
    onWritable() {
      writable++;
    },
    onStatus(ready) {
      status.push(ready);
    },
    onError(e) {
      errors.push(e);
    },
    ...o.driver,
  });
  /** Puts both modems in one network (as a finished SLAC would), so data frames pass. */
  const pair = () => {
    evseModem.nmk = evModem.nmk = "00112233445566778899aabbccddeeff";
    evseModem.keyAt = evModem.keyAt = clock.now - medium.joinMs;
  };
  return { seed, clock, rng, medium, evseModem, evModem, chip, io, drv, errors, status, received, evReceived, pair, writableCalls: () => writable };
}

/** An IPv6-typed Ethernet frame of `len` bytes with a recognisable body. */
export function ipv6Frame(len: number, dst: Uint8Array, src: Uint8Array, tag = 0): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  for (let i = 14; i < len; i++) f[i] = (i * 7 + tag) & 0xff;
  return f;
}

export function padded(f: Uint8Array): Uint8Array {
  if (f.length >= 60) return f;
  const p = new Uint8Array(60);
  p.set(f);
  return p;
}
