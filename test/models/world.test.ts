import test from "ava";
import {
  INTERLOCK_FORBIDDEN_CLOSE,
  INTERLOCK_PILOT,
  INTERLOCK_RCD,
  INTERLOCK_WATCHDOG,
  PROXIMITY_OPEN,
  RCM_TRIP_DC,
} from "../../hal/charging.js";
import type { MeterReading } from "../../hal/metering.js";
import { Rng } from "../../simulator/rng.js";
import { World, worldConfig } from "../../simulator/models/world.js";
import type { WorldConfig } from "../../simulator/models/world.js";

function reading(): MeterReading {
  return { voltage: [], current: [], power: [], frequency: 0, energyImport: 0, energyExport: 0 };
}

function world(cfg: Partial<WorldConfig> = {}, seed = 1): World {
  return new World(cfg, new Rng(seed));
}

/** Plugs an EV, offers 16 A and closes the contactor once the pilot is in C; ends at full current. */
function charge(w: World, duty = 267): void {
  w.plug({});
  w.setPilotDuty(duty);
  let t = w.now;
  while (w.pilotState() !== "C") {
    t += 10;
    w.advance(t);
    if (t > 60000) throw new Error("EV never went to C");
  }
  w.setContactor(0, 1);
  w.advance(t + 5000);
}

test("a normal session: no interlock counts, voltage at the socket, current flows, mirror closed", (t) => {
  const w = world();
  const mirrors: number[] = [];
  w.onChange = (what, i) => { if (what === "mirror") mirrors.push(i); };
  t.is(w.pilotState(), "E", "pilot driver off at power-up");
  charge(w);
  t.is(w.ev!.state(), "C");
  t.is(w.mirror(0), 1);
  t.deepEqual(mirrors, [0]);
  t.true(w.socketVoltage(2) > 200);
  const r = w.readMeter(reading());
  t.true(r.current[0] > 15 && r.current[2] > 15);
  // orderly stop: PWM off → EV goes to B → firmware opens within the grace time
  w.setPilotDuty(1000);
  let tt = w.now;
  while (w.pilotState() === "C") w.advance((tt += 10));
  w.advance(tt + 50);
  w.setContactor(0, 0);
  w.advance(tt + 200);
  t.is(w.mirror(0), 0);
  t.is(w.interlockTrips, 0);
  t.is(w.forbiddenCloses, 0);
  t.is(w.relays[0].operationsUnderLoad, 0);
  t.is(w.relays[0].operations, 2);
});

test("interlock refuses a close in state B (and with no EV, and with the pilot off)", (t) => {
  const w = world();
  const events: string[] = [];
  w.onChange = (what) => events.push(what);
  w.setContactor(0, 1); // no EV, pilot off
  t.is(w.forbiddenCloses, 1);
  w.plug({});
  w.setPilotDuty(1000);
  w.advance(100);
  t.is(w.pilotState(), "B");
  w.setContactor(0, 1);
  w.advance(1000);
  t.is(w.forbiddenCloses, 2);
  t.is(w.lastInterlockCause, INTERLOCK_FORBIDDEN_CLOSE | INTERLOCK_PILOT);
  t.is(w.mirror(0), 0);
  t.is(w.coil(0), 0);
  t.is(w.socketVoltage(0), 0);
  t.is(w.interlockTrips, 0);
  t.deepEqual(events, ["interlock", "interlock"]);
});

test("interlock trips when the EV is unplugged under a still-closed contactor, after the grace time only", (t) => {
  const w = world({ interlockGraceMs: 100 });
  charge(w);
  const t0 = w.now;
  t.true(w.readMeter(reading()).current[0] > 15);
  w.unplug();
  t.is(w.unplugsUnderLoad, 1);
  t.is(w.pilotState(), "A");
  w.advance(t0 + 90);
  t.is(w.interlockTrips, 0, "within grace");
  t.is(w.coil(0), 1);
  w.advance(t0 + 100);
  t.is(w.interlockTrips, 1);
  t.is(w.lastInterlockCause, INTERLOCK_PILOT);
  t.is(w.coil(0), 0);
  w.advance(t0 + 200);
  t.is(w.mirror(0), 0);
  t.is(w.relays[0].operationsUnderLoad, 0, "the plug broke the current, not the contactor");
});

test("no trip when the firmware opens within the grace time", (t) => {
  const w = world();
  charge(w);
  const t0 = w.now;
  w.unplug();
  w.advance(t0 + 50);
  w.setContactor(0, 0);
  w.advance(t0 + 1000);
  t.is(w.interlockTrips, 0);
  t.is(w.mirror(0), 0);
});

test("RCD trip under load: interlock opens after the grace time (under load); closing is refused while tripped", (t) => {
  const w = world();
  charge(w);
  const t0 = w.now;
  w.injectResidualCurrent(0, 60); // 60 mA DC: 300 ms
  w.advance(t0 + 300);
  t.is(w.rcmStatus(), RCM_TRIP_DC);
  t.is(w.interlockTrips, 0);
  w.advance(t0 + 400);
  t.is(w.interlockTrips, 1);
  t.is(w.lastInterlockCause, INTERLOCK_RCD);
  w.advance(t0 + 500);
  t.is(w.mirror(0), 0);
  t.is(w.relays[0].operationsUnderLoad, 1);
  t.false(w.rcmReset(), "residual current still flows");
  w.setContactor(0, 0);
  w.setContactor(0, 1);
  t.is(w.forbiddenCloses, 1);
  t.is(w.lastInterlockCause, INTERLOCK_FORBIDDEN_CLOSE | INTERLOCK_RCD);
  w.injectResidualCurrent(0, 0);
  t.true(w.rcmReset());
  w.setContactor(0, 1);
  t.is(w.coil(0), 1);
});

test("welded contactor: commanded open, it stays closed and the mirror reports it", (t) => {
  const w = world();
  charge(w);
  w.weld(0);
  w.setContactor(0, 0);
  w.advance(w.now + 1000);
  t.is(w.coil(0), 0);
  t.is(w.mirror(0), 1);
  t.true(w.socketVoltage(0) > 200);
});

test("phase switching: L2/L3 are live only with both contactors; contactor 1 alone may close in B", (t) => {
  const w = world({ contactors: 2 });
  t.throws(() => world().setContactor(1, 1), { instanceOf: RangeError });
  w.plug({});
  w.setPilotDuty(1000);
  w.setContactor(1, 1); // does not energise the socket: allowed
  t.is(w.forbiddenCloses, 0);
  w.advance(100);
  t.is(w.mirror(1), 1);
  t.is(w.socketVoltage(1), 0);
  w.setContactor(1, 0);
  w.advance(200);
  w.setPilotDuty(267);
  let tt = 200;
  while (w.pilotState() !== "C") w.advance((tt += 10));
  w.setContactor(0, 1);
  w.advance(tt + 3000);
  t.true(w.socketVoltage(0) > 200);
  t.is(w.socketVoltage(1), 0);
  t.is(w.readMeter(reading()).current[1], 0, "1-phase charging");
  t.true(w.readMeter(reading()).current[0] > 0);
  w.setContactor(1, 1);
  w.advance(tt + 6000);
  t.true(w.socketVoltage(2) > 200);
  t.true(w.readMeter(reading()).current[2] > 0, "3-phase charging");
  t.is(w.interlockTrips + w.forbiddenCloses, 0);
});

test("one-phase board: L2/L3 are never live and the meter reads 0 V there", (t) => {
  const w = world({ phases: 1 });
  charge(w);
  const r = w.readMeter(reading());
  t.deepEqual([r.voltage[1], r.voltage[2], r.current[1], r.current[2]], [0, 0, 0, 0]);
  t.true(r.current[0] > 15);
});

test("meter: P = V·I·PF at every reading; ∫P dt over a session matches the register and the EV's SoC", (t) => {
  const w = world({ grid: { phaseOffsetPct: 0, driftPct: 0, frequencyDriftHz: 0 } });
  w.plug({ powerFactor: 0.99, efficiency: 0.9, batteryKWh: 50, initialSoc: 20 });
  w.setPilotDuty(267);
  w.advance(2000);
  w.setContactor(0, 1);
  const r = reading();
  let sumPdt = 0;
  let lastP = 0;
  let lastT = w.now;
  const start = w.readMeter(reading()).energyImport;
  const soc0 = w.ev!.soc;
  for (let tt = w.now + 10; tt <= 3600000; tt += 10) {
    w.advance(tt);
    sumPdt += (lastP * (tt - lastT)) / 3600000;
    w.readMeter(r);
    for (let p = 0; p < 3; p++) if (r.power[p] !== r.voltage[p] * r.current[p] * 0.99) t.fail(`P ≠ V·I·PF at ${tt}`);
    lastP = r.power[0] + r.power[1] + r.power[2];
    lastT = tt;
  }
  const e = r.energyImport - start;
  t.true(Math.abs(e - sumPdt) < 1e-9 * e, `${e} vs ${sumPdt}`);
  // constant 16 A for most of the hour: analytic check of the steady segment
  t.true(Math.abs(r.current[0] - 16) < 1e-9);
  t.true(e > 0.99 * 3 * 230 * 16 * 0.99 && e < 3 * 230 * 16 * 0.99, `${e}`);
  // the EV stored η · metered energy
  const ev = w.ev!;
  t.true(Math.abs(ev.energyWh - r.energyImport) < 1e-6, `${ev.energyWh} vs ${r.energyImport}`);
  t.true(Math.abs((ev.soc - soc0) * 50 * 10 - 0.9 * r.energyImport) < 1e-6);
  t.is(w.interlockTrips + w.forbiddenCloses, 0);
});

test("determinism: same seed and inputs give identical readings; a different seed differs; polling pattern does not matter", (t) => {
  const seed = 4242;
  const run = (s: number, poll: number) => {
    const w = world({}, s);
    const out: number[] = [];
    const r = reading();
    const p = { high: 0, low: 0 };
    w.plug({ misbehaviour: { overdrawA: 1 } });
    w.setPilotDuty(400);
    for (let tt = poll; tt <= 20000; tt += poll) {
      w.advance(tt);
      if (tt === 2000) w.setContactor(0, 1);
      if (tt % 1000 === 0) {
        w.readMeter(r);
        w.samplePilot(p);
        out.push(...r.voltage, ...r.current, ...r.power, r.frequency, r.energyImport, p.high, p.low, w.temperature("connector"));
      }
    }
    return out;
  };
  const a = run(seed, 10);
  t.deepEqual(a, run(seed, 10), `seed ${seed}`);
  t.notDeepEqual(a, run(seed + 1, 10));
  t.deepEqual(a, run(seed, 1), "polling every 1 ms integrates the same physics");
});

test("advance is idempotent and ignores earlier times", (t) => {
  const a = world({}, 3), b = world({}, 3);
  for (const w of [a, b]) { w.plug({}); w.setPilotDuty(267); }
  a.advance(5000);
  a.advance(5000);
  a.advance(3000);
  b.advance(5000);
  const ra = a.readMeter(reading()), rb = b.readMeter(reading());
  t.deepEqual(ra, rb);
  t.is(a.now, 5000);
});

test("sensors: proximity, temperatures rise with current, unknown sensor throws; watchdog trips the interlock", (t) => {
  const w = world({ cableOhms: 680, ambientC: 20 });
  t.is(w.proximityOhms(), 680);
  w.setCable(PROXIMITY_OPEN);
  t.is(w.proximityOhms(), PROXIMITY_OPEN);
  t.throws(() => w.setCable(-5), { instanceOf: RangeError });
  w.setCable(220);
  t.is(w.temperature("connector"), 20);
  charge(w, 533);
  w.advance(w.now + 600000);
  t.true(w.temperature("connector") > 22);
  t.true(w.temperature("board") > w.temperature("connector") - 100);
  t.throws(() => w.temperature("cpu"), { instanceOf: RangeError });
  w.watchdogBite();
  t.is(w.interlockTrips, 1);
  t.is(w.lastInterlockCause, INTERLOCK_WATCHDOG);
  t.is(w.coil(0), 0);
});

test("config validation and bad actuator values", (t) => {
  t.throws(() => worldConfig({ phases: 2 as 1 }), { instanceOf: RangeError });
  t.throws(() => worldConfig({ physicsStepMs: 0 }), { instanceOf: RangeError });
  t.throws(() => worldConfig({ cableOhms: 1.5 }), { instanceOf: RangeError });
  const w = world();
  t.throws(() => w.setPilotDuty(1001), { instanceOf: RangeError });
  t.throws(() => w.advance(Infinity), { instanceOf: RangeError });
  t.throws(() => w.advance(NaN), { instanceOf: RangeError });
  t.throws(() => w.setContactor(0, 2 as 1), { instanceOf: RangeError });
  w.plug({});
  t.throws(() => w.plug({}));
  t.is(w.pilotDuty, -1);
});
