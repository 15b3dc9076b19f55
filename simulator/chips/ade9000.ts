/**
 * A register-level model of the ADE9000 behind its SPI port, fed by the simulator's physical models.
 *
 * What it models (facts in hal/drivers/ade9000-registers.ts, from the data sheet and UG-1098):
 *  - the SPI protocol byte by byte: 16-bit CMD_HDR (address << 4 | read bit 3), 16-bit registers at
 *    0x480..0x4FF and 32-bit elsewhere, MSB first; a read shifts out the data then its CRC-16-CCITT
 *    (0x1021, init 0xFFFF); a write takes effect when all its data bits arrived; deselecting aborts;
 *  - register widths: writes are masked to the register's width (ACT_NL_LVL 24 bits, EGY_TIME 13 bits, ...);
 *  - measurements from the world: xVRMS = V / vFullScale × 52,702,092 × (1 + xVGAIN / 2^27) + xVRMSOS,
 *    xIRMS likewise with xIGAIN/xIRMSOS, xWATT = P / (vFS × iFS) × 20,694,066 × (1 + xPGAIN / 2^27) + xWATTOS,
 *    COM_PERIOD/xPERIOD = 8000 × 2^16 / f − 1; all clamped to the 32-bit register range;
 *  - energy: a 45-bit signed user accumulator per phase that wraps on overflow; xWATTHR_HI = bits [44:13],
 *    xWATTHR_LO = bits [12:0]; read-with-reset of HI when EP_CFG.RD_RST_EN; nothing accumulates before RUN = 1
 *    or without EP_CFG.EGY_PWR_EN, or on a phase whose |xWATT| is below ACT_NL_LVL (no-load, STATUS1.ANLOAD);
 *    the world's exact energy integral is split over the phases by their power at the time of the access
 *    (exact for the total; per phase exact while the phases are balanced);
 *  - STATUS1: RSTDONE after power-on/reset (write 1 to clear), ZXTOVx when a phase voltage is below ZXTHRSH,
 *    ERRORx bits (settable by a test: `chip.errorBits`);
 *  - PART_ID bit 20 (ADE9000); CONFIG1.SWRST resets every register.
 *
 * Faults of the line, for the scenario action "meterFault": "none", "silent" (nothing drives MISO: the master
 * reads 0xFF, the pull-up), "garbage" (MISO carries seeded random bytes), "stuck" (MISO stuck low: zeros).
 */
import * as R from "../../hal/drivers/ade9000-registers.js";
import type { Rng } from "../rng.js";

export type SpiLineFault = "none" | "silent" | "garbage" | "stuck";

/** What the chip measures, sampled from the world at each SPI access. */
export interface AnalogFrontEnd {
  /** Brings the physics to now and fills V rms, |I| rms, signed P per phase, f, and the total signed energy integral (Wh). */
  sample(out: AnalogSample): void;
}

export interface AnalogSample {
  volts: number[];
  amps: number[];
  watts: number[];
  hz: number;
  /** Import minus export since the beginning of the world, Wh (the world's exact integral). */
  netWh: number;
}

export interface Ade9000ChipOptions {
  frontEnd: AnalogFrontEnd;
  vFullScale: number;
  iFullScale: number;
  rng: Rng;
  /** Per-phase gain error of the analog parts (1 = perfect), what a calibration compensates. */
  currentError?: number[];
}

const ACC_MOD = 2 ** R.ENERGY_ACC_BITS;
const ACC_HALF = 2 ** (R.ENERGY_ACC_BITS - 1);

function widthMask(address: number): number {
  if (address === R.ACT_NL_LVL) return 0xffffff;
  if (address === R.EGY_TIME) return 0x1fff;
  return R.is16Bit(address) ? 0xffff : 0xffffffff;
}

function clamp32(x: number): number {
  if (!(x === x)) return 0;
  const r = Math.round(x);
  return r > 0x7fffffff ? 0x7fffffff : r < -0x80000000 ? -0x80000000 : r;
}

function s32(x: number): number {
  return x | 0;
}

/** CRC-16-CCITT (0x1021, init 0xFFFF), bitwise: an implementation independent of the driver's. */
export function crcCcitt(bytes: readonly number[]): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const inBit = (byte >> bit) & 1;
      const top = (crc >> 15) & 1;
      crc = (crc << 1) & 0xffff;
      if (top ^ inBit) crc ^= 0x1021;
    }
  }
  return crc;
}

export class Ade9000Chip {
  /** Line fault (the scenario's "meterFault" action). */
  fault: SpiLineFault = "none";
  /** STATUS1 ERROR0..3 bits a test may raise. */
  errorBits = 0;
  readonly stats = { transactions: 0, reads: 0, writes: 0, aborted: 0, resets: 0, bytes: 0 };
  private regs = new Map<number, number>();
  /** Per-phase 45-bit accumulators (two's complement, kept as non-negative integers mod 2^45). */
  private readonly acc = [0, 0, 0];
  /** Sub-LSB energy not yet in the accumulators, code·samples. */
  private readonly residue = [0, 0, 0];
  private lastNetWh = NaN;
  private readonly lastWatts = [1, 1, 1];
  private readonly s: AnalogSample = { volts: [0, 0, 0], amps: [0, 0, 0], watts: [0, 0, 0], hz: 50, netWh: 0 };
  // transaction state
  private selected = false;
  private cmd = 0;
  private count = 0;
  private out: number[] = [];
  private wdata = 0;

  constructor(private readonly o: Ade9000ChipOptions) {
    this.reset();
  }

  /** Power-on / SWRST: every register back to its default, RSTDONE set, accumulators cleared. */
  reset(): void {
    this.stats.resets++;
    this.regs = new Map();
    this.regs.set(R.PART_ID, R.PART_ID_ADE9000);
    this.regs.set(R.VERSION, 0x00fe);
    this.regs.set(R.EGY_TIME, 0);
    this.regs.set(R.ZXTHRSH, 0);
    this.regs.set(R.STATUS1, R.STATUS1_RSTDONE);
    for (let k = 0; k < 3; k++) this.acc[k] = this.residue[k] = 0;
    this.lastNetWh = NaN;
  }

  private reg(address: number): number {
    return this.regs.get(address) ?? 0;
  }

  /** The 45-bit accumulator of a phase as a signed number (for tests). */
  accumulator(phase: number): number {
    const a = this.acc[phase]!;
    return a >= ACC_HALF ? a - ACC_MOD : a;
  }

  /** Samples the world and integrates energy into the accumulators (called at each transaction start). */
  private update(): void {
    const s = this.s;
    this.o.frontEnd.sample(s);
    const running = (this.reg(R.RUN) & 1) === 1 && (this.reg(R.EP_CFG) & R.EP_CFG_EGY_PWR_EN) !== 0;
    const net = s.netWh;
    const prev = this.lastNetWh;
    this.lastNetWh = net;
    if (!running || !(prev === prev)) return;
    const dWh = net - prev;
    if (dWh === 0) return;
    // Weights: the present per-phase power, or the last non-zero one when the load just stopped.
    let sum = 0;
    for (let k = 0; k < 3; k++) sum += s.watts[k]!;
    const w = sum !== 0 ? s.watts : this.lastWatts;
    let wsum = 0;
    for (let k = 0; k < 3; k++) wsum += w[k]!;
    if (sum !== 0) for (let k = 0; k < 3; k++) this.lastWatts[k] = s.watts[k]!;
    const whPerCodeSample = (this.o.vFullScale * this.o.iFullScale) / R.WATT_FULL_SCALE / R.F_DSP / 3600;
    const nl = this.reg(R.ACT_NL_LVL);
    let noLoad = false;
    for (let k = 0; k < 3; k++) {
      const share = wsum !== 0 ? w[k]! / wsum : 1 / 3;
      const watt = this.wattCode(k);
      if (Math.abs(watt) < nl) {
        noLoad = true;
        continue;
      }
      const gain = 1 + s32(this.reg(R.APGAIN + k * R.PHASE_STRIDE)) / R.GAIN_ONE;
      const units = (dWh * share * gain) / whPerCodeSample + this.residue[k]!;
      const whole = Math.trunc(units);
      this.residue[k] = units - whole;
      this.acc[k] = (((this.acc[k]! + whole) % ACC_MOD) + ACC_MOD) % ACC_MOD;
    }
    const st = this.reg(R.STATUS1);
    this.regs.set(R.STATUS1, noLoad ? st | R.STATUS1_ANLOAD : st & ~R.STATUS1_ANLOAD);
  }

  private rmsCode(value: number, fullScale: number, gainReg: number, osReg: number, err: number): number {
    const gain = 1 + s32(this.reg(gainReg)) / R.GAIN_ONE;
    const code = (value * err) / fullScale * R.RMS_FULL_SCALE * gain + s32(this.reg(osReg));
    return Math.max(0, clamp32(code));
  }

  private wattCode(k: number): number {
    const off = k * R.PHASE_STRIDE;
    const gain = 1 + s32(this.reg(R.APGAIN + off)) / R.GAIN_ONE;
    const err = this.o.currentError?.[k] ?? 1;
    const code = ((this.s.watts[k]! * err) / (this.o.vFullScale * this.o.iFullScale)) * R.WATT_FULL_SCALE * gain + s32(this.reg(R.AWATTOS + off));
    return clamp32(code);
  }

  /** The value a read of `address` returns now (and its side effects: read-with-reset). */
  private readValue(address: number): number {
    const s = this.s;
    for (let k = 0; k < 3; k++) {
      const off = k * R.PHASE_STRIDE;
      if (address === R.AVRMS + off) return this.rmsCode(s.volts[k]!, this.o.vFullScale, R.AVGAIN + off, R.AVRMSOS + off, 1);
      if (address === R.AIRMS + off) return this.rmsCode(s.amps[k]!, this.o.iFullScale, R.AIGAIN + off, R.AIRMSOS + off, this.o.currentError?.[k] ?? 1);
      if (address === R.AWATT + off) return this.wattCode(k) >>> 0;
      const eoff = k * R.ENERGY_PHASE_STRIDE;
      if (address === R.AWATTHR_HI + eoff) {
        const hi = Math.floor(this.acc[k]! / 8192);
        if ((this.reg(R.EP_CFG) & R.EP_CFG_RD_RST_EN) !== 0) this.acc[k] = this.acc[k]! % 8192;
        return hi >>> 0;
      }
      if (address === R.AWATTHR_LO + eoff) return this.acc[k]! % 8192;
    }
    if (address === R.APERIOD || address === R.APERIOD + 1 || address === R.APERIOD + 2 || address === R.COM_PERIOD) {
      return s.hz > 0 ? Math.min(0xffffffff, Math.round(R.PERIOD_SCALE / s.hz) - 1) : 0xffffffff;
    }
    if (address === R.STATUS1) {
      let st = this.reg(R.STATUS1) & ~(7 * R.STATUS1_ZXTOVA) & ~R.STATUS1_ERRORS;
      const thr = this.reg(R.ZXTHRSH) * 256;
      for (let k = 0; k < 3; k++) if (this.rmsCode(s.volts[k]!, this.o.vFullScale, R.AVGAIN, R.AVRMSOS, 1) < thr) st |= R.STATUS1_ZXTOVA << k;
      return (st | this.errorBits) >>> 0;
    }
    return this.reg(address) >>> 0;
  }

  private write(address: number, value: number): void {
    this.stats.writes++;
    const v = (value & widthMask(address)) >>> 0;
    if (address === R.STATUS1 || address === R.STATUS0) {
      // write 1 to clear
      this.regs.set(address, (this.reg(address) & ~v) >>> 0);
      return;
    }
    if (address === R.CONFIG1 && (v & 1) !== 0) {
      this.reset();
      return;
    }
    if (address === R.PART_ID || address === R.VERSION) return; // read-only
    this.regs.set(address, v);
  }

  // ---- the SPI side ----

  select(): void {
    this.selected = true;
    this.count = 0;
    this.out = [];
    this.stats.transactions++;
  }

  deselect(): void {
    if (this.selected && this.count > 0 && this.count < 2) this.stats.aborted++;
    this.selected = false;
    this.count = 0;
  }

  /** One byte in on MOSI, the byte out on MISO at the same time. */
  exchange(mosi: number): number {
    this.stats.bytes++;
    const f = this.fault;
    if (f === "silent") return 0xff;
    if (f === "stuck") return 0x00;
    const miso = this.exchangeOk(mosi);
    if (f === "garbage") return Math.floor(this.o.rng.float() * 256) & 0xff;
    return miso;
  }

  private exchangeOk(mosi: number): number {
    if (!this.selected) return 0xff;
    const n = this.count++;
    if (n === 0) {
      this.cmd = mosi << 8;
      return 0;
    }
    if (n === 1) {
      this.cmd |= mosi;
      const address = this.cmd >> 4;
      if ((this.cmd & R.CMD_READ) !== 0) {
        this.stats.reads++;
        this.update();
        const value = this.readValue(address);
        const bytes = R.is16Bit(address) ? [(value >>> 8) & 0xff, value & 0xff] : [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
        const crc = crcCcitt(bytes);
        this.out = [...bytes, crc >> 8, crc & 0xff];
        this.regs.set(R.CRC_SPI, crc);
      } else {
        this.update();
        this.wdata = 0;
        this.out = [];
      }
      return 0;
    }
    const address = this.cmd >> 4;
    if ((this.cmd & R.CMD_READ) !== 0) return this.out[n - 2] ?? 0;
    const width = R.is16Bit(address) ? 2 : 4;
    if (n - 2 < width) {
      this.wdata = this.wdata * 256 + mosi;
      if (n - 2 === width - 1) this.write(address, this.wdata);
    }
    return 0;
  }
}
