/**
 * The ADE9000 driver (hal/drivers/ade9000.ts) against the register-level chip model (simulator/chips/ade9000.ts):
 * protocol, CRC, configuration, scaling from the datasheet full-scale codes, energy accumulation across the
 * 32-bit wrap of xWATTHR_HI, no-load threshold, chip reset, and a broken SPI line (silent, garbage, stuck).
 */
import test from "ava";
import { Ade9000, crc16Ccitt, defaultCalibration } from "../../hal/drivers/ade9000.js";
import * as R from "../../hal/drivers/ade9000-registers.js";
import type { HalError, MeterReading } from "../../hal/index.js";
import { Ade9000Chip, crcCcitt, type AnalogSample } from "../../simulator/chips/ade9000.js";
import { createChipIo } from "../../simulator/chips/io.js";
import { Rng } from "../../simulator/rng.js";

const VFS = 800;
const IFS = 80;

/** A front end with settable values and an exact energy integral over a manual clock. */
function rig(opts: { volts?: number[]; amps?: number[]; pf?: number; hz?: number; currentError?: number[] } = {}) {
  const st = { t: 0, volts: opts.volts ?? [230, 231, 229], amps: opts.amps ?? [16, 16, 16], pf: opts.pf ?? 1, hz: opts.hz ?? 50, netWh: 0, lastT: 0 };
  const watts = () => st.volts.map((v, k) => v * st.amps[k]! * st.pf);
  const advance = (ms: number) => {
    const p = watts().reduce((a, b) => a + b, 0);
    st.netWh += (p * ms) / 3_600_000;
    st.t += ms;
  };
  const chip = new Ade9000Chip({
    vFullScale: VFS,
    iFullScale: IFS,
    rng: new Rng(7),
    ...(opts.currentError ? { currentError: opts.currentError } : {}),
    frontEnd: {
      sample(out: AnalogSample) {
        const w = watts();
        for (let k = 0; k < 3; k++) {
          out.volts[k] = st.volts[k]!;
          out.amps[k] = Math.abs(st.amps[k]!);
          out.watts[k] = w[k]!;
        }
        out.hz = st.hz;
        out.netWh = st.netWh;
      },
    },
  });
  const io = createChipIo({ check: () => {}, devices: new Map([[5, chip]]), powerFail: null, deliver: (fn) => fn() });
  const errors: HalError[] = [];
  const open = (extra: Record<string, unknown> = {}) =>
    new Ade9000({
      spi: new io.SPI({ hz: 10_000_000, select: 5, mode: 0 }),
      vFullScale: VFS,
      iFullScale: IFS,
      now: () => st.t,
      onError(e) {
        errors.push(e);
      },
      ...extra,
    });
  return { st, chip, io, errors, open, advance };
}

function reading(): MeterReading {
  return { voltage: [0, 0, 0], current: [0, 0, 0], power: [0, 0, 0], frequency: 0, energyImport: 0, energyExport: 0, energyImportPhase: [0, 0, 0], energyExportPhase: [0, 0, 0] };
}

test("CRC-16-CCITT: driver (table-free bytewise) and chip (bitwise) agree, and the check value of '123456789' is 0x29B1", (t) => {
  const ascii = Array.from("123456789", (c) => c.charCodeAt(0));
  t.is(crcCcitt(ascii), 0x29b1);
  t.is(crc16Ccitt(new Uint8Array(ascii), 0, ascii.length), 0x29b1);
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const b = Array.from({ length: 4 }, () => Math.floor(rng.float() * 256));
    t.is(crc16Ccitt(new Uint8Array(b), 0, 4), crcCcitt(b));
  }
});

test("start: identifies the chip, writes and reads back the configuration, starts the DSP", (t) => {
  const r = rig();
  const m = r.open();
  t.is(m.fault, "");
  t.deepEqual(r.errors, []);
  t.is(m.readRegister(R.RUN), 1);
  t.is(m.readRegister(R.EP_CFG), R.EP_CFG_EGY_PWR_EN);
  t.is(m.readRegister(R.ACT_NL_LVL), defaultCalibration().activeNoLoad);
  t.is(m.readRegister(R.ZXTHRSH), defaultCalibration().zxThreshold);
  t.is(m.readRegister(R.ZX_LP_SEL), R.ZX_LP_SEL_COMBINED);
  t.is(m.readRegister(R.STATUS1) & R.STATUS1_RSTDONE, 0, "RSTDONE cleared");
  t.true(r.chip.stats.writes >= 20);
});

test("register widths: 16-bit registers at 0x480..0x4FF, writes masked to the register width", (t) => {
  const r = rig();
  const m = r.open();
  m.writeRegister(R.ACT_NL_LVL, 0x12345678, false);
  t.is(m.readRegister(R.ACT_NL_LVL), 0x345678, "24-bit register");
  m.writeRegister(R.EGY_TIME, 0xffff, false);
  t.is(m.readRegister(R.EGY_TIME), 0x1fff, "13-bit register");
  t.true(R.is16Bit(R.RUN) && R.is16Bit(R.VERSION) && !R.is16Bit(R.AIRMS) && !R.is16Bit(R.PART_ID));
});

test("readings: RMS and power from the datasheet full-scale codes, period from 8000·2^16/f", (t) => {
  const r = rig({ volts: [230, 240, 220], amps: [10, 20, 30], pf: 1, hz: 49.9 });
  const m = r.open();
  const out = m.read(reading());
  for (let k = 0; k < 3; k++) {
    t.true(Math.abs(out.voltage[k]! - r.st.volts[k]!) < 1e-4, `V${k}`);
    t.true(Math.abs(out.current[k]! - r.st.amps[k]!) < 1e-5, `I${k}`);
    t.true(Math.abs(out.power[k]! - r.st.volts[k]! * r.st.amps[k]!) < 0.01, `P${k}`);
  }
  t.true(Math.abs(out.frequency - 49.9) < 0.001);
});

test("calibration: a gain written from the calibration constants corrects a sensor's error", (t) => {
  const r = rig({ amps: [16, 16, 16], currentError: [1, 1.01, 1] });
  const raw = r.open().read(reading());
  t.true(Math.abs(raw.current[1]! - 16.16) < 1e-3, "uncalibrated phase B reads 1 % high");
  const cal = defaultCalibration();
  cal.igain[1] = Math.round((1 / 1.01 - 1) * R.GAIN_ONE);
  const fixed = r.open({ calibration: cal }).read(reading());
  t.true(Math.abs(fixed.current[1]! - 16) < 1e-3);
});

test("bad calibration constants are refused synchronously (misuse)", (t) => {
  const r = rig();
  const cal = defaultCalibration();
  cal.activeNoLoad = 0x1000000;
  t.throws(() => r.open({ calibration: cal }), { instanceOf: RangeError });
  t.throws(() => r.open({ vFullScale: 0 }), { instanceOf: RangeError });
});

test("energy: matches the exact integral over an hour of 100 ms reads, per phase and total", (t) => {
  const r = rig({ volts: [230, 230, 230], amps: [32, 16, 8] });
  const m = r.open();
  const out = reading();
  for (let i = 0; i < 36_000; i++) {
    r.advance(100);
    m.read(out);
  }
  const exact = r.st.netWh;
  t.true(Math.abs(out.energyImport - exact) < 0.01, `${out.energyImport} vs ${exact}`);
  t.true(Math.abs(out.energyImportPhase![0]! - (230 * 32)) < 0.01);
  t.true(Math.abs(out.energyImportPhase![2]! - (230 * 8)) < 0.01);
  t.is(out.energyExport, 0);
  t.true(m.whPerLsb > 0 && m.whPerLsb < 1e-5, "sub-mWh resolution");
});

test("energy: xWATTHR_HI wraps at 32 bits (45-bit accumulator) and the driver's modular difference stays exact", (t) => {
  const r = rig({ volts: [230, 230, 230], amps: [32, 32, 32] });
  const m = r.open();
  const out = reading();
  // 2^31 LSBs per phase is about 1.9 kWh at this scaling: run past a full wrap of HI (2^32 LSBs).
  const lsbs = 2 ** 32 + 1e6;
  const wh = lsbs * m.whPerLsb;
  const steps = Math.ceil((wh / (230 * 32)) * 3600 * 1000 / 50_000);
  for (let i = 0; i < steps; i++) {
    r.advance(50_000);
    m.read(out);
  }
  t.true(r.chip.accumulator(0) !== 0);
  t.true(Math.abs(out.energyImport - r.st.netWh) < 0.05, `${out.energyImport} vs ${r.st.netWh}`);
});

test("energy: export (negative power) goes to the export registers", (t) => {
  const r = rig({ volts: [230, 230, 230], amps: [-10, -10, -10] });
  const m = r.open();
  const out = reading();
  for (let i = 0; i < 600; i++) {
    r.advance(1000);
    m.read(out);
  }
  t.is(out.energyImport, 0);
  t.true(Math.abs(out.energyExport + r.st.netWh) < 0.01);
});

test("no-load threshold: a standby trickle below ACT_NL_LVL does not accumulate", (t) => {
  const r = rig({ volts: [230, 230, 230], amps: [0.001, 0.001, 0.001] });
  const m = r.open();
  const out = reading();
  for (let i = 0; i < 100; i++) {
    r.advance(1000);
    m.read(out);
  }
  t.is(out.energyImport, 0);
  t.true(m.stats.noLoad > 0);
});

test("a chip that reset itself (RSTDONE) is configured again and keeps counting", (t) => {
  const r = rig();
  const m = r.open();
  const out = reading();
  r.advance(1000);
  m.read(out);
  const before = out.energyImport;
  r.chip.reset();
  r.advance(1000);
  m.read(out);
  t.is(m.stats.chipResets, 1);
  t.is(m.fault, "");
  t.is(m.readRegister(R.RUN), 1);
  r.advance(1000);
  m.read(out);
  t.true(out.energyImport > before);
});

for (const [fault, code] of [["silent", "no-response"], ["garbage", "crc"], ["stuck", "crc"]] as const) {
  test(`a broken SPI line (${fault}) latches fault "${code}" after maxBadCycles, once, and the values freeze`, (t) => {
    const r = rig();
    const m = r.open();
    const out = reading();
    r.advance(1000);
    m.read(out);
    const wh = out.energyImport;
    r.chip.fault = fault;
    m.read(out);
    m.read(out);
    t.is(m.fault, "", "two bad cycles are tolerated");
    m.read(out);
    t.is(m.fault, code);
    t.is(r.errors.length, 1);
    t.is(r.errors[0]!.code, code);
    r.advance(1000);
    m.read(out);
    t.is(out.energyImport, wh, "no energy counted from a broken line");
    t.is(r.errors.length, 1, "reported once");
  });
}

test("a transient CRC error is retried and costs nothing", (t) => {
  const r = rig();
  const m = r.open();
  const out = reading();
  let n = 0;
  const chip = r.chip;
  const orig = chip.exchange.bind(chip);
  chip.exchange = (b: number) => {
    const v = orig(b);
    n++;
    return n === 40 ? v ^ 0x10 : v;
  };
  r.advance(1000);
  m.read(out);
  t.is(m.fault, "");
  t.is(m.stats.crcErrors, 1);
  t.is(m.stats.retries, 1);
  t.true(Math.abs(out.energyImport - r.st.netWh) < 0.01);
});

test("STATUS1 error bits latch fault chip-error", (t) => {
  const r = rig();
  const m = r.open();
  r.chip.errorBits = 1 << 28;
  m.read(reading());
  t.is(m.fault, "chip-error");
});

test("no chip at all (nothing on that chip select) fails at start with no-response", (t) => {
  const r = rig();
  const errs: HalError[] = [];
  const m = new Ade9000({ spi: new r.io.SPI({ hz: 1_000_000, select: 9 }), vFullScale: VFS, iFullScale: IFS, onError: (e) => void errs.push(e) });
  t.is(m.fault, "no-response");
  t.is(errs.length, 1);
});

test("energy not read for longer than the accumulator's wrap time is a fault (overflow guard)", (t) => {
  const r = rig();
  const m = r.open();
  r.advance(200_000);
  m.read(reading());
  t.is(m.fault, "overflow");
});
