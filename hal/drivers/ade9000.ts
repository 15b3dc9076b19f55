/**
 * ADE9000 (Analog Devices polyphase energy and power-quality IC) driver over ECMA-419 SPI, implementing the
 * HAL's Meter (hal/metering.ts). Platform-neutral: runs on XS against embedded:io/spi and in the simulator
 * against the register-level chip model (simulator/chips/ade9000.ts). Register facts: ade9000-registers.ts.
 *
 * Protocol (UG-1098 "SPI Protocol Overview", "SPI Read", "SPI Write", "SPI Protocol CRC"): one transaction per
 * register with chip select held: a 16-bit command (address << 4 | 0x08 for read), then 16 or 32 data bits
 * MSB first; a read is followed by the CRC-16-CCITT (polynomial 0x1021, initial value 0xFFFF, data bytes MSB
 * first) of the data the chip shifted out. Writes have no CRC: the driver reads every configuration register
 * back and compares.
 *
 * Start: identify the chip (PART_ID bit 20), software reset is not needed after power-on (RSTDONE in
 * STATUS1 is cleared by writing 1), write gains and offsets (calibration constants given by the caller,
 * normally firmware/metering/calibration.ts from the config store), the no-load threshold ACT_NL_LVL, the
 * zero-crossing threshold ZXTHRSH and source ZX_LP_SEL, ACCMODE (signed accumulation, 50/60 Hz), energy
 * accumulation (EP_CFG: EGY_PWR_EN, adding into the user register every EGY_TIME + 1 samples), then
 * RUN = 1.
 *
 * Energy: overflow-safe accumulation rather than read-with-reset. With RD_RST_EN a read resets xWATTHR_HI,
 * so a read whose CRC fails would lose that energy; instead the driver keeps the last xWATTHR_HI per phase and
 * adds the signed 32-bit difference (mod 2^32) at each good read. The accumulator wraps (≈ 106 s at full scale,
 * UG-1098), so the difference is exact as long as reads are less than that apart: the control loop reads every
 * 100 ms, and a gap longer than OVERFLOW_GUARD_MS is reported as a fault. The 13 LSBs in xWATTHR_LO carry into
 * HI later, so nothing is lost. Positive differences go to the import register, negative ones to export, per
 * phase, in float64 Wh (sums of integer LSB multiples, exact far beyond a charger's lifetime).
 *
 * Faults: a read whose CRC does not match is retried once; a cycle with a bad read keeps the previous
 * values. `maxBadCycles` consecutive bad cycles (default 3, i.e. 300 ms at the loop's rate), a PART_ID that
 * is not an ADE9000 at start, a configuration register that does not read back, or a STATUS1 ERRORx bit
 * latch the fault: onError({code}) once, codes "no-response" (the bus reads all ones: nothing drives MISO),
 * "crc" (garbage), "config" (read-back mismatch), "chip-error", "overflow". An unexpected RSTDONE (the
 * chip reset itself, e.g. a brown-out of its supply) is handled by configuring the chip again.
 */
import type { Digital, HalError, Meter, MeterOptions, MeterReading, Spi } from "../index.js";
import * as R from "./ade9000-registers.js";

export interface Ade9000Calibration {
  /** xIGAIN, xVGAIN, xPGAIN per phase (signed, gain = 1 + x / 2^27). */
  igain: number[];
  vgain: number[];
  pgain: number[];
  /** xIRMSOS, xVRMSOS, xWATTOS per phase. */
  irmsos: number[];
  vrmsos: number[];
  wattos: number[];
  /** ACT_NL_LVL: AWATT codes below which a phase does not accumulate energy (no-load). */
  activeNoLoad: number;
  /** ZXTHRSH: voltage level below which zero crossings are ignored. */
  zxThreshold: number;
  /** Line frequency the DSP tracks (ACCMODE.SELFREQ). */
  lineHz: 50 | 60;
}

export function defaultCalibration(): Ade9000Calibration {
  return {
    igain: [0, 0, 0],
    vgain: [0, 0, 0],
    pgain: [0, 0, 0],
    irmsos: [0, 0, 0],
    vrmsos: [0, 0, 0],
    wattos: [0, 0, 0],
    // ≈ 0.01 % of full-scale power: a few watts on a 32 A board.
    activeNoLoad: 2_000,
    zxThreshold: 0x0a00,
    lineHz: 50,
  };
}

export interface Ade9000Options extends MeterOptions {
  /** An open SPI instance addressing the chip (the driver owns it and closes it). */
  spi: Spi;
  /** The chip's IRQ1 line (open drain, active low), opened as an input by the caller; optional. */
  irq1?: Digital | null;
  /** Board sensing: V rms and A rms that put 0.707 V rms on the ADC. */
  vFullScale: number;
  iFullScale: number;
  calibration?: Ade9000Calibration;
  /** Monotonic ms (for the overflow guard); optional. */
  now?: () => number;
  /** Consecutive failed read cycles before the fault latches. Default 3. */
  maxBadCycles?: number;
}

/** Longest gap between energy reads before the user accumulator could have wrapped at full scale, ms. */
export const OVERFLOW_GUARD_MS = 100_000;

const ALL_ONES = 0xffffffff;

/** CRC-16-CCITT, polynomial 0x1021, initial 0xFFFF, MSB first, over bytes[from, to) (bitwise reference). */
export function crc16Ccitt(bytes: Uint8Array, from: number, to: number): number {
  let crc = 0xffff;
  for (let i = from; i < to; i++) {
    crc ^= bytes[i]! << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The byte-wise table of CRC-16-CCITT (built per driver instance: no mutable module state on XS). */
function crcTable(): Uint16Array {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[n] = c;
  }
  return t;
}

class ReadError {
  constructor(readonly code: string) {}
}

export class Ade9000 implements Meter {
  private readonly spi: Spi;
  private readonly irq1: Digital | null;
  private readonly onReadable: MeterOptions["onReadable"];
  private readonly onErr: MeterOptions["onError"];
  private readonly cal: Ade9000Calibration;
  private readonly vScale: number;
  private readonly iScale: number;
  private readonly pScale: number;
  /** Wh per LSB of xWATTHR_HI. */
  readonly whPerLsb: number;
  private readonly now: (() => number) | null;
  private readonly maxBad: number;
  private readonly crcT = crcTable();
  private readonly buf8 = new Uint8Array(8);
  private readonly buf6 = new Uint8Array(6);
  private readonly wbuf6 = new Uint8Array(6);
  private readonly wbuf4 = new Uint8Array(4);
  private closed = false;
  private failed = "";
  private badCycles = 0;
  private lastEnergyAt = -1;
  /** xWATTHR_HI per phase at the last good read. */
  private readonly lastHi = [0, 0, 0];
  /** Latest good values. */
  private readonly v = [0, 0, 0];
  private readonly i = [0, 0, 0];
  private readonly p = [0, 0, 0];
  private freq = 0;
  /** Lifetime-of-this-instance registers, Wh, per phase. */
  readonly importWh = [0, 0, 0];
  readonly exportWh = [0, 0, 0];
  private readonly scratchV = [0, 0, 0];
  private readonly scratchI = [0, 0, 0];
  private readonly scratchP = [0, 0, 0];
  private readonly scratchE = [0, 0, 0];
  /** Counters for tests and the bench. */
  readonly stats = { cycles: 0, reads: 0, writes: 0, crcErrors: 0, retries: 0, badCycles: 0, chipResets: 0, noLoad: 0 };
  /** STATUS1 as last read. */
  status1 = 0;

  constructor(options: Ade9000Options) {
    const o = options;
    if (!o || typeof o !== "object" || !o.spi) throw new TypeError("Ade9000: options.spi is required");
    const fin = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
    if (!fin(o.vFullScale) || !fin(o.iFullScale)) throw new RangeError("Ade9000: vFullScale and iFullScale must be positive numbers");
    this.spi = o.spi;
    this.irq1 = o.irq1 ?? null;
    this.onReadable = o.onReadable;
    this.onErr = o.onError;
    this.cal = checkCalibration(o.calibration ?? defaultCalibration());
    this.vScale = o.vFullScale / R.RMS_FULL_SCALE;
    this.iScale = o.iFullScale / R.RMS_FULL_SCALE;
    this.pScale = (o.vFullScale * o.iFullScale) / R.WATT_FULL_SCALE;
    this.whPerLsb = (this.pScale * R.WATTHR_HI_LSB_CODE_SECONDS) / 3600;
    this.now = o.now ?? null;
    this.maxBad = o.maxBadCycles ?? 3;
    if (!(Number.isInteger(this.maxBad) && this.maxBad >= 1)) throw new RangeError("Ade9000: maxBadCycles must be an integer >= 1");
    try {
      this.start();
    } catch (e) {
      if (e instanceof ReadError) this.fail(e.code, `ADE9000 start: ${e.code}`);
      else throw e;
    }
  }

  /** The latched fault code, "" when healthy. */
  get fault(): string {
    return this.failed;
  }

  // ---- SPI primitives ----

  /** Reads a register (16 or 32 bits) with CRC check and one retry; throws ReadError. */
  readRegister(address: number): number {
    let code = "";
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt > 0) this.stats.retries++;
      const r = this.readOnce(address);
      if (r >= 0) return r;
      code = r === -2 ? "no-response" : "crc";
    }
    throw new ReadError(code);
  }

  /** One read: the value (>= 0, 32-bit unsigned), -1 on a CRC mismatch, -2 when the bus read all ones. */
  private readOnce(address: number): number {
    this.stats.reads++;
    const wide = !R.is16Bit(address);
    const b = wide ? this.buf8 : this.buf6;
    const cmd = ((address & 0xfff) << 4) | R.CMD_READ;
    b.fill(0);
    b[0] = cmd >> 8;
    b[1] = cmd & 0xff;
    this.spi.transfer(b);
    this.spi.flush(true);
    const n = wide ? 4 : 2;
    let value = 0;
    for (let k = 0; k < n; k++) value = value * 256 + b[2 + k]!;
    const crc = (b[2 + n]! << 8) | b[3 + n]!;
    const t = this.crcT;
    let c = 0xffff;
    for (let k = 2; k < 2 + n; k++) c = ((c << 8) & 0xffff) ^ t[((c >> 8) ^ b[k]!) & 0xff]!;
    if (c === crc) return value;
    this.stats.crcErrors++;
    let ones = true;
    for (let k = 2; k < b.length; k++) if (b[k] !== 0xff) ones = false;
    return ones ? -2 : -1;
  }

  /** Writes a register; `verify` reads it back (writes have no CRC). Throws ReadError("config") on mismatch. */
  writeRegister(address: number, value: number, verify = true): void {
    this.stats.writes++;
    const wide = !R.is16Bit(address);
    const b = wide ? this.wbuf6 : this.wbuf4;
    const cmd = (address & 0xfff) << 4;
    b[0] = cmd >> 8;
    b[1] = cmd & 0xff;
    const v = wide ? value >>> 0 : value & 0xffff;
    if (wide) {
      b[2] = v >>> 24;
      b[3] = (v >>> 16) & 0xff;
      b[4] = (v >>> 8) & 0xff;
      b[5] = v & 0xff;
    } else {
      b[2] = v >> 8;
      b[3] = v & 0xff;
    }
    this.spi.write(b);
    this.spi.flush(true);
    if (verify && this.readRegister(address) !== v) throw new ReadError("config");
  }

  // ---- configuration ----

  private start(): void {
    const id = this.readRegister(R.PART_ID);
    if ((id & R.PART_ID_ADE9000) === 0 || id === ALL_ONES) throw new ReadError("not-ade9000");
    this.configure();
  }

  /** Writes the whole configuration and starts the DSP (also after an unexpected chip reset). */
  private configure(): void {
    const c = this.cal;
    this.writeRegister(R.RUN, 0);
    // RSTDONE is write-1-to-clear.
    this.writeRegister(R.STATUS1, R.STATUS1_RSTDONE, false);
    this.writeRegister(R.PGA_GAIN, 0);
    this.writeRegister(R.CONFIG0, 0);
    for (let ph = 0; ph < 3; ph++) {
      const off = ph * R.PHASE_STRIDE;
      this.writeRegister(R.AIGAIN + off, c.igain[ph]! >>> 0);
      this.writeRegister(R.AVGAIN + off, c.vgain[ph]! >>> 0);
      this.writeRegister(R.APGAIN + off, c.pgain[ph]! >>> 0);
      this.writeRegister(R.AIRMSOS + off, c.irmsos[ph]! >>> 0);
      this.writeRegister(R.AVRMSOS + off, c.vrmsos[ph]! >>> 0);
      this.writeRegister(R.AWATTOS + off, c.wattos[ph]! >>> 0);
    }
    this.writeRegister(R.ACCMODE, c.lineHz === 60 ? R.ACCMODE_SELFREQ_60HZ : 0);
    this.writeRegister(R.ZX_LP_SEL, R.ZX_LP_SEL_COMBINED);
    this.writeRegister(R.ZXTHRSH, c.zxThreshold);
    this.writeRegister(R.ACT_NL_LVL, c.activeNoLoad);
    // 80 samples (10 ms) per EGYRDY, added into the user register (EGY_LD_ACCUM = 0), no read-with-reset.
    this.writeRegister(R.EGY_TIME, 79);
    this.writeRegister(R.EP_CFG, R.EP_CFG_EGY_PWR_EN);
    this.writeRegister(R.RUN, 1);
    // The baseline: what accumulated before is not ours.
    for (let ph = 0; ph < 3; ph++) this.lastHi[ph] = this.readRegister(R.AWATTHR_HI + ph * R.ENERGY_PHASE_STRIDE) | 0;
    this.lastEnergyAt = this.now ? this.now() : -1;
  }

  private fail(code: string, message: string): void {
    if (this.failed) return;
    this.failed = code;
    const cb = this.onErr;
    if (cb) {
      const err: HalError = { code, message };
      cb.call(this, err);
    }
  }

  // ---- the read cycle ----

  /**
   * One read cycle: STATUS1, RMS V and I and active power per phase, the three energy registers, the combined line period. Fills `into` with the latest good values and this instance's energy
   * registers (Wh since the driver started).
   */
  read(into: MeterReading): MeterReading {
    if (this.closed) throw new Error("Ade9000: closed");
    if (this.failed === "") this.cycle();
    const v = this.v;
    const a = this.i;
    const p = this.p;
    for (let k = 0; k < 3; k++) {
      into.voltage[k] = v[k]!;
      into.current[k] = a[k]!;
      into.power[k] = p[k]!;
    }
    into.frequency = this.freq;
    const imp = this.importWh;
    const exp = this.exportWh;
    into.energyImport = imp[0]! + imp[1]! + imp[2]!;
    into.energyExport = exp[0]! + exp[1]! + exp[2]!;
    const ip = into.energyImportPhase;
    if (ip) for (let k = 0; k < 3; k++) ip[k] = imp[k]!;
    const ep = into.energyExportPhase;
    if (ep) for (let k = 0; k < 3; k++) ep[k] = exp[k]!;
    return into;
  }

  private cycle(): void {
    this.stats.cycles++;
    try {
      const s1 = this.readRegister(R.STATUS1);
      this.status1 = s1;
      if (s1 === ALL_ONES) throw new ReadError("no-response");
      if ((s1 & R.STATUS1_ERRORS) !== 0) {
        this.fail("chip-error", `ADE9000 STATUS1 error bits 0x${(s1 >>> 28).toString(16)}`);
        return;
      }
      if ((s1 & R.STATUS1_RSTDONE) !== 0) {
        // The chip reset itself: its configuration and accumulators are gone.
        this.stats.chipResets++;
        this.configure();
        return;
      }
      const sv = this.scratchV;
      const si = this.scratchI;
      const sp = this.scratchP;
      const se = this.scratchE;
      for (let ph = 0; ph < 3; ph++) {
        const off = ph * R.PHASE_STRIDE;
        sv[ph] = (this.readRegister(R.AVRMS + off) | 0) * this.vScale;
        si[ph] = (this.readRegister(R.AIRMS + off) | 0) * this.iScale;
        sp[ph] = (this.readRegister(R.AWATT + off) | 0) * this.pScale;
      }
      for (let ph = 0; ph < 3; ph++) se[ph] = this.readRegister(R.AWATTHR_HI + ph * R.ENERGY_PHASE_STRIDE) | 0;
      const period = this.readRegister(R.COM_PERIOD);
      // Everything read back well: commit the cycle.
      const now = this.now ? this.now() : -1;
      if (now >= 0 && this.lastEnergyAt >= 0 && now - this.lastEnergyAt > OVERFLOW_GUARD_MS) {
        this.fail("overflow", `ADE9000 energy not read for ${now - this.lastEnergyAt} ms: the accumulator may have wrapped`);
        return;
      }
      this.lastEnergyAt = now;
      for (let ph = 0; ph < 3; ph++) {
        this.v[ph] = sv[ph]! < 0 ? 0 : sv[ph]!;
        this.i[ph] = si[ph]! < 0 ? 0 : si[ph]!;
        this.p[ph] = sp[ph]!;
        const d = (se[ph]! - this.lastHi[ph]!) | 0;
        this.lastHi[ph] = se[ph]!;
        if (d > 0) this.importWh[ph] += d * this.whPerLsb;
        else if (d < 0) this.exportWh[ph] -= d * this.whPerLsb;
      }
      if ((s1 & R.STATUS1_ANLOAD) !== 0) this.stats.noLoad++;
      this.freq = period > 0 && period < ALL_ONES ? R.PERIOD_SCALE / (period + 1) : 0;
      this.badCycles = 0;
      if (this.onReadable) this.onReadable.call(this);
    } catch (e) {
      if (!(e instanceof ReadError)) throw e;
      this.stats.badCycles++;
      if (e.code === "config" || ++this.badCycles >= this.maxBad) this.fail(e.code, `ADE9000 read failed ${this.badCycles} time(s): ${e.code}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.spi.close();
    this.irq1?.close();
  }
}

function checkCalibration(c: Ade9000Calibration): Ade9000Calibration {
  const int32 = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= -0x80000000 && x <= 0x7fffffff;
  for (const k of ["igain", "vgain", "pgain", "irmsos", "vrmsos", "wattos"] as const) {
    const a = c[k];
    if (!Array.isArray(a) || a.length !== 3 || !a.every(int32)) throw new RangeError(`Ade9000 calibration: ${k} must be three 32-bit integers`);
  }
  if (!Number.isInteger(c.activeNoLoad) || c.activeNoLoad < 0 || c.activeNoLoad > 0xffffff) throw new RangeError("Ade9000 calibration: activeNoLoad must be in 0..0xFFFFFF");
  if (!Number.isInteger(c.zxThreshold) || c.zxThreshold < 0 || c.zxThreshold > 0xffff) throw new RangeError("Ade9000 calibration: zxThreshold must be in 0..0xFFFF");
  if (c.lineHz !== 50 && c.lineHz !== 60) throw new RangeError("Ade9000 calibration: lineHz must be 50 or 60");
  return c;
}
