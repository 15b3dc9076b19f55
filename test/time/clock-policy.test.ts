import test from "ava";
import type { Clock } from "../../hal/index.js";
import { ClockPolicy } from "../../firmware/time/clock-policy.js";

const EPOCH = Date.UTC(2025, 5, 1);

/** A HAL clock whose monotonic time the test drives; its RTC runs `ppm` fast against true time. */
class FakeClock implements Clock {
  mono = 0;
  rtc = 0;
  synced = false;
  sets = 0;
  now(): number {
    return this.mono;
  }
  wall(): number {
    return this.rtc === 0 ? 0 : this.rtc + this.mono;
  }
  get synchronized(): boolean {
    return this.synced;
  }
  setWall(ms: number): void {
    this.rtc = ms - this.mono;
    this.synced = true;
    this.sets++;
  }
}

const opts = { stepThresholdMs: 1_000, maxSlewPpm: 500, outlierMs: 10_000, validityMs: 3_600_000, driftMinIntervalMs: 600_000 };

test("unsynchronised at boot; the first sample steps and sets the RTC", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  t.is(c.wall(), 0);
  t.false(c.synchronized);
  hw.mono = 5_000;
  t.is(c.sample(EPOCH, 5_000, 10, "sntp"), "step");
  t.true(c.synchronized);
  t.is(c.wall(), EPOCH);
  t.is(hw.sets, 1);
  hw.mono = 6_000;
  t.is(c.wall(), EPOCH + 1_000);
});

test("a small error is slewed at most maxSlewPpm, monotonic, never stepped", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  c.sample(EPOCH, 0, 10, "sntp");
  hw.mono = 60_000;
  // the reference is 300 ms ahead of us
  t.is(c.sample(EPOCH + 60_300, 60_000, 10, "sntp"), "slew");
  t.is(c.wall(), EPOCH + 60_000);
  let last = c.wall();
  for (let s = 1; s <= 1_000; s++) {
    hw.mono = 60_000 + s * 1_000;
    const w = c.wall();
    t.true(w >= last, "never backwards");
    t.true(w - last <= 1_001, "at most 0.5 ms extra per second");
    last = w;
  }
  // 300 ms at 500 ppm takes 600 s: after 1000 s the full correction is in
  t.is(c.wall(), EPOCH + 60_300 + 1_000_000);
  t.is(c.status().slewRemainingMs, 0);
  t.is(c.status().steps, 1);
  t.is(c.status().slews, 1);
});

test("an error above the step threshold steps", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  c.sample(EPOCH, 0, 10, "sntp");
  hw.mono = 10_000;
  t.is(c.sample(EPOCH + 10_000 + 5_000, 10_000, 10, "sntp"), "step");
  t.is(c.wall(), EPOCH + 15_000);
});

test("a wild sample is rejected while synchronised, until a second one confirms it", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  c.sample(EPOCH, 0, 10, "sntp");
  hw.mono = 100_000;
  const before = c.wall();
  t.is(c.sample(EPOCH + 100_000 + 3_600_000, 100_000, 1_000, "csms"), "outlier");
  t.is(c.wall(), before, "an outlier changes nothing");
  // a different wild value is not a confirmation either
  hw.mono = 110_000;
  t.is(c.sample(EPOCH + 110_000 - 86_400_000, 110_000, 1_000, "csms"), "outlier");
  t.is(c.wall(), EPOCH + 110_000);
  // a sample that agrees with the last candidate confirms it
  hw.mono = 120_000;
  t.is(c.sample(EPOCH + 120_000 - 86_400_000, 120_000, 10, "sntp"), "confirmed");
  t.is(c.wall(), EPOCH + 120_000 - 86_400_000);
  t.is(c.status().outliers, 2);
});

test("a sample within its precision only refreshes (the CSMS's 1 s does not pull SNTP around)", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  c.sample(EPOCH, 0, 10, "sntp");
  hw.mono = 30_000;
  c.setWall(EPOCH + 30_000 + 700);
  t.is(c.wall(), EPOCH + 30_000);
  t.is(c.status().source, "csms");
  t.is(c.status().slews, 0);
});

test("synchronized expires validityMs after the last sample", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  c.sample(EPOCH, 0, 10, "sntp");
  hw.mono = 3_599_999;
  t.true(c.synchronized);
  hw.mono = 3_600_000;
  t.false(c.synchronized);
  t.true(c.wall() > 0, "the time is still there, just not trusted");
  // once expired, even a far-off sample is taken (nothing trusted to compare it with)
  t.is(c.sample(EPOCH + 3_600_000 + 60_000, 3_600_000, 10, "sntp"), "step");
  t.true(c.synchronized);
});

test("drift is measured between syncs and compensated (100 ppm slow oscillator)", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  // true time = EPOCH + mono * (1 + 100e-6)
  const truth = (mono: number) => EPOCH + mono * 1.0001;
  c.sample(truth(0), 0, 5, "sntp");
  for (let k = 1; k <= 4; k++) {
    hw.mono = k * 3_600_000;
    const v = c.sample(truth(hw.mono), hw.mono, 5, "sntp");
    t.not(v, "outlier");
  }
  t.true(Math.abs(c.status().driftPpm - 100) < 1, `drift ${c.status().driftPpm} ppm`);
  // an hour after the last sync, the error stays small because drift is compensated
  hw.mono = 5 * 3_600_000;
  t.true(Math.abs(c.wall() - truth(hw.mono)) < 50, `error ${c.wall() - truth(hw.mono)} ms`);
});

test("a trusted RTC at boot counts as synchronised until validity runs out", (t) => {
  const hw = new FakeClock();
  hw.rtc = EPOCH;
  hw.synced = true;
  const c = new ClockPolicy(hw, opts);
  t.true(c.synchronized);
  t.is(c.wall(), EPOCH);
  hw.mono = opts.validityMs;
  t.false(c.synchronized);
});

test("bad input throws and changes nothing", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  t.throws(() => c.setWall(-1), { instanceOf: RangeError });
  t.throws(() => c.setWall(Number.NaN), { instanceOf: RangeError });
  t.throws(() => c.sample(Number.POSITIVE_INFINITY, 0, 1, "sntp"), { instanceOf: RangeError });
  t.false(c.synchronized);
  t.is(c.wall(), 0);
});

test("without SNTP the CSMS is the time authority: its jump is followed at once; against SNTP it needs confirmation", (t) => {
  const hw = new FakeClock();
  const c = new ClockPolicy(hw, opts);
  c.setWall(EPOCH);
  hw.mono = 60_000;
  c.setWall(EPOCH + 60_000 + 3_570_000);
  t.is(c.wall(), EPOCH + 60_000 + 3_570_000, "CSMS-only: stepped at once");
  hw.mono = 70_000;
  t.is(c.sample(EPOCH + 70_000, 70_000, 5, "sntp"), "outlier", "SNTP disagreeing with the CSMS's clock: checked like any sample");
  hw.mono = 75_000;
  t.is(c.sample(EPOCH + 75_000, 75_000, 5, "sntp"), "confirmed");
  t.is(c.status().source, "sntp");
  t.is(c.wall(), EPOCH + 75_000);
  hw.mono = 80_000;
  c.setWall(EPOCH + 80_000 + 3_570_000);
  t.is(c.wall(), EPOCH + 80_000, "a wild CSMS reply against an SNTP-disciplined clock is an outlier");
});
