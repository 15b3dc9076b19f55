import test from "ava";
import { ChargingCore, createOutputs, defaultCoreConfig, type CoreOutputs } from "../../firmware/iec61851/core.js";
import { currentForDuty, isPwmDuty } from "../../firmware/iec61851/pilot.js";
import { RCM_SELF_TEST_RUNNING, RCM_TRIP_AC, RCM_TRIP_DC, RCM_SELF_TEST_FAILED } from "../../hal/charging.js";
import { Bench, PILOT_MINUS_12V, PILOT_PLUS_12V, PROXIMITY_OPEN, config } from "./harness.js";

test("happy path: plug, PWM at the limit, EV asks, close; EV stops: open in the step B is seen", (t) => {
  const b = new Bench();
  b.run(100);
  t.is(b.out.status, "idle");
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.ev = "B";
  b.until((o) => o.state === "B");
  t.is(b.out.duty, 533);
  t.is(b.out.signalledAmps, currentForDuty(533));
  t.is(b.out.status, "suspendedEV");
  t.is(b.out.cableAmps, 32);
  t.true(b.core.sessionActive);
  b.ev = "C";
  b.evDraw = 16;
  b.until((o) => o.contactor0 === 1);
  t.is(b.out.state, "C");
  t.is(b.out.contactor1, 0); // phase switching disabled: the main contactor switches all phases
  t.is(b.out.phasesActive, 3);
  b.run(200);
  t.is(b.out.status, "charging");
  b.ev = "B";
  let prev: CoreOutputs = { ...b.out };
  while (b.out.state !== "B") {
    prev = { ...b.out };
    b.step();
  }
  t.is(prev.contactor0, 1);
  t.is(b.out.contactor0, 0);
  t.is(b.out.openReason, "ev");
  b.ev = "none";
  b.until((o) => o.state === "A");
  t.is(b.out.status, "idle");
  t.false(b.core.sessionActive);
});

test("debounce: fewer than debounceSamples equal samples never change the state", (t) => {
  const b = new Bench(config({ debounceSamples: 4 }));
  b.run(100);
  b.ev = "B";
  for (let k = 0; k < 3; k++) {
    b.step();
    t.is(b.out.state, "A");
  }
  b.step();
  t.is(b.out.state, "B");
  // an isolated glitch (any band or invalid) changes nothing
  for (const g of [[6000, 6000], [7500, 7500], [0, 0], [12000, 12000]] as Array<[number, number]>) {
    b.glitch = g;
    b.step();
    t.is(b.out.state, "B");
  }
  b.run(100);
  t.is(b.out.fault, "");
});

test("invalid samples that persist become state F with fault pilot; unplug clears it", (t) => {
  const b = new Bench();
  b.startCharging();
  const n = defaultCoreConfig().debounceSamples;
  for (let k = 0; k < n - 1; k++) {
    b.prepare();
    b.inp.pilotHigh = 7500;
    b.inp.pilotLow = -12000;
    b.commit();
    t.is(b.out.contactor0, 1);
  }
  b.inp.now += 10;
  b.prepare();
  b.inp.pilotHigh = 7500;
  b.commit();
  t.is(b.out.state, "F");
  t.is(b.out.fault, "pilot");
  t.is(b.out.contactor0, 0);
  t.is(b.out.openReason, "pilot");
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.ev = "none";
  b.until((o) => o.state === "A");
  t.is(b.out.fault, "");
  t.is(b.out.status, "idle");
});

test("diode check: shorted diode during PWM -> F, fault diode, open; latched until unplug", (t) => {
  const b = new Bench();
  b.startCharging();
  b.diodeShorted = true;
  b.until((o) => o.state === "F");
  t.is(b.out.fault, "diode");
  t.is(b.out.contactor0, 0);
  t.is(b.out.openReason, "diode");
  b.run(2000);
  t.is(b.out.fault, "diode");
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.diodeShorted = false;
  b.ev = "none";
  b.until((o) => o.state === "A");
  t.is(b.out.fault, "");
  b.ev = "B";
  b.until((o) => isPwmDuty(o.duty));
  t.pass();
});

test("state E (pilot short) while charging: open in the step E is seen, fault pilot", (t) => {
  const b = new Bench();
  b.startCharging();
  b.ev = "E";
  b.until((o) => o.state !== "C");
  t.is(b.out.state, "E");
  t.is(b.out.contactor0, 0);
  t.is(b.out.fault, "pilot");
});

// ---- each close condition false on its own: never closes
type Setup = (b: Bench) => void;
const blockers: Array<[string, Setup]> = [
  ["EV stays in B", (b) => { b.ev = "B"; }],
  ["state D without ventilation", (b) => { b.ev = "D"; }],
  ["not authorized", (b) => { b.inp.authorized = false; }],
  ["unavailable", (b) => { b.inp.available = false; }],
  ["stop requested", (b) => { b.inp.stopRequested = true; }],
  ["limit below minimum (5.9 A)", (b) => { b.inp.limit = 5.9; }],
  ["RCM tripped (AC)", (b) => { b.inp.rcm = RCM_TRIP_AC; }],
  ["RCM tripped (DC 6 mA)", (b) => { b.inp.rcm = RCM_TRIP_DC; }],
  ["RCM self-test failed", (b) => { b.inp.rcm = RCM_SELF_TEST_FAILED; }],
  ["RCM self-test running", (b) => { b.inp.rcm = RCM_SELF_TEST_RUNNING; }],
  ["weld (mirror stuck closed)", (b) => { b.forceMirror0 = 1; }],
  ["PP open (no cable)", (b) => { b.inp.ppOhms = PROXIMITY_OPEN; }],
  ["PP out of band", (b) => { b.inp.ppOhms = 5000; }],
  ["over temperature", (b) => { b.inp.temperature = 95; }],
  ["temperature sensor NaN", (b) => { b.inp.temperature = NaN; }],
  ["diode shorted", (b) => { b.diodeShorted = true; }],
];

for (const [name, setup] of blockers) {
  test(`never closes when: ${name}`, (t) => {
    const b = new Bench();
    setup(b);
    if (b.ev === "none") b.ev = "C";
    b.evDraw = 16;
    for (let k = 0; k < 1000; k++) {
      b.step();
      if (b.out.contactor0 === 1) return t.fail(`closed at step ${k}: ${JSON.stringify(b.out)}`);
    }
    t.is(b.out.contactor0, 0);
  });
}

test("control: with every condition true it closes (and D with ventilation allowed closes)", (t) => {
  const b = new Bench();
  b.ev = "C";
  t.true(b.until((o) => o.contactor0 === 1, 2000) > 0);
  const d = new Bench(config({ ventilationAllowed: true }));
  d.ev = "D";
  t.true(d.until((o) => o.contactor0 === 1, 2000) > 0);
});

test("never closes before the EV has seen PWM for a step, nor within weldSettleMs of an open", (t) => {
  const b = new Bench();
  b.ev = "C"; // EV already in C (C1) before PWM
  let pwmSteps = 0;
  for (let k = 0; k < 100 && b.out.contactor0 === 0; k++) {
    b.step();
    if (isPwmDuty(b.out.duty)) pwmSteps++;
  }
  t.true(pwmSteps >= 2);
  // quick C -> B -> C: the re-close waits for the weld settle time after the open
  b.ev = "B";
  b.until((o) => o.contactor0 === 0);
  const openedAt = b.now;
  b.ev = "C";
  b.until((o) => o.contactor0 === 1);
  t.true(b.now - openedAt >= defaultCoreConfig().weldSettleMs);
});

// ---- immediate open triggers, same step as the input
const immediate: Array<[string, Setup, string, string]> = [
  ["RCM AC trip", (b) => { b.inp.rcm = RCM_TRIP_AC; }, "rcd", "rcd"],
  ["RCM DC trip", (b) => { b.inp.rcm = RCM_TRIP_DC; }, "rcd", "rcd"],
  ["RCM garbage value", (b) => { b.inp.rcm = NaN; }, "rcd", "rcd"],
  ["over temperature", (b) => { b.inp.temperature = 90; }, "overtemperature", "overtemperature"],
  ["mirror drops while closed (after settle)", (b) => { b.inp.mirror0 = 0; }, "contactor", "contactor"],
];
for (const [name, mutate, reason, fault] of immediate) {
  test(`opens in the same step: ${name}`, (t) => {
    const b = new Bench();
    b.startCharging();
    b.inp.now += 10;
    b.prepare();
    mutate(b);
    b.commit();
    t.is(b.out.contactor0, 0);
    t.is(b.out.openReason, reason);
    t.is(b.out.fault, fault);
    t.is(b.out.status, "fault");
  });
}

const pilotTriggers: Array<[string, Setup, string]> = [
  ["C -> B", (b) => { b.ev = "B"; }, "ev"],
  ["C -> A (unplugged)", (b) => { b.ev = "none"; }, "unplug"],
  ["C -> E", (b) => { b.ev = "E"; }, "pilot"],
  ["C -> D without ventilation", (b) => { b.ev = "D"; }, "ventilation"],
  ["PP opened (cable pulled at the socket)", (b) => { b.inp.ppOhms = PROXIMITY_OPEN; }, "proximity"],
];
for (const [name, mutate, reason] of pilotTriggers) {
  test(`opens in the step the debounced change is seen: ${name}`, (t) => {
    const b = new Bench();
    b.startCharging();
    const before = { state: b.out.state, cable: b.out.cableAmps };
    mutate(b);
    for (let k = 0; k < 20; k++) {
      b.step();
      const changed = b.out.state !== before.state || b.out.cableAmps !== before.cable;
      if (changed) {
        t.is(b.out.contactor0, 0, `step ${k}`);
        t.is(b.out.openReason, reason);
        return;
      }
      t.is(b.out.contactor0, 1);
    }
    t.fail("no change seen");
  });
}

// ---- charger-side stops
const graceful: Array<[string, Setup, string]> = [
  ["stop request", (b) => { b.inp.stopRequested = true; }, "stop"],
  ["authorization lost", (b) => { b.inp.authorized = false; }, "deauthorized"],
  ["unavailable", (b) => { b.inp.available = false; }, "unavailable"],
  ["limit below minimum", (b) => { b.inp.limit = 5; }, "limit"],
];
for (const [name, mutate, reason] of graceful) {
  test(`charger-side stop (${name}), EV responds: PWM off at once, open when B is seen`, (t) => {
    const b = new Bench();
    b.startCharging();
    b.inp.now += 10;
    b.prepare();
    mutate(b);
    b.commit();
    t.is(b.out.duty, PILOT_PLUS_12V);
    t.is(b.out.signalledAmps, 0);
    t.is(b.out.contactor0, 1);
    t.is(b.out.status, "stopping");
    b.run(700); // the EV takes 0.7 s
    t.is(b.out.contactor0, 1);
    b.ev = "B";
    while (b.out.state !== "B") {
      b.step();
      if (b.out.state === "C") t.is(b.out.contactor0, 1);
    }
    t.is(b.out.contactor0, 0);
    t.is(b.out.openReason, reason);
    t.is(b.core.underLoadOpens, 0);
  });

  test(`charger-side stop (${name}), EV ignores it: open exactly after evStopTimeoutMs, recorded`, (t) => {
    const b = new Bench(config({ evStopTimeoutMs: 2000 }));
    b.evFollows = false;
    b.startCharging(16);
    b.inp.now += 10;
    b.prepare();
    mutate(b);
    b.commit();
    const stopAt = b.now;
    t.is(b.out.duty, PILOT_PLUS_12V);
    b.until((o) => o.contactor0 === 0, 10_000);
    t.is(b.now - stopAt, 2000);
    t.is(b.out.openReason, reason + "Timeout");
    t.is(b.core.underLoadOpens, 1);
    t.not(b.out.fault, "overdraw");
  });
}

test("a stop cause that goes away before the EV reacts resumes the charge without opening", (t) => {
  const b = new Bench();
  b.startCharging();
  b.inp.limit = 4;
  b.run(500);
  t.is(b.out.status, "stopping");
  b.inp.limit = 20;
  b.step();
  t.is(b.out.status, "charging");
  t.is(b.out.contactor0, 1);
  t.is(b.out.signalledAmps, currentForDuty(333));
});

test("limit below minimum pauses with +12 V and resumes when the limit returns", (t) => {
  const b = new Bench();
  b.startCharging();
  b.inp.limit = 5.9;
  b.until((o) => o.status === "stopping");
  b.ev = "B";
  b.until((o) => o.contactor0 === 0);
  b.run(1000);
  t.is(b.out.status, "suspendedEVSE");
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.inp.limit = 6;
  b.step();
  t.is(b.out.duty, 100);
  b.ev = "C";
  t.true(b.until((o) => o.contactor0 === 1, 1000) > 0);
});

test("duty follows the limit and never exceeds the cable rating", (t) => {
  const b = new Bench();
  b.inp.ppOhms = 680; // 20 A cable
  b.inp.limit = 32;
  b.startCharging();
  t.is(b.out.cableAmps, 20);
  t.is(b.out.duty, 333);
  t.true(b.out.signalledAmps <= 20);
  b.inp.limit = 10;
  b.step();
  t.is(b.out.duty, 166);
  b.inp.limit = 80;
  b.inp.ppOhms = 100;
  b.run(100);
  t.is(b.out.cableAmps, 63);
  t.is(b.out.duty, 892);
});

test("tethered: PP is not read, cableAmps 0, the limit alone applies", (t) => {
  const b = new Bench(config({ tethered: true }));
  b.inp.ppOhms = PROXIMITY_OPEN;
  b.inp.limit = 16;
  b.startCharging();
  t.is(b.out.cableAmps, 0);
  t.is(b.out.duty, 266);
  t.is(b.out.fault, "");
});

test("PP open while the EV is connected: no charge, fault proximity after the grace time; out of band at once", (t) => {
  const b = new Bench();
  b.inp.ppOhms = PROXIMITY_OPEN;
  b.ev = "B";
  b.run(500);
  t.is(b.out.fault, "");
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.run(600);
  t.is(b.out.fault, "proximity");
  b.inp.ppOhms = 220;
  b.run(50);
  t.is(b.out.fault, "");
  t.is(b.out.cableAmps, 32);
  b.inp.ppOhms = 30;
  b.run(50);
  t.is(b.out.fault, "proximity");
  t.is(b.out.cableAmps, 0);
});

test("HLC mode signals 5 % and reports the limit as signalled current", (t) => {
  const b = new Bench(config({ hlc: true }));
  b.inp.limit = 20;
  b.startCharging();
  t.is(b.out.duty, 50);
  t.is(b.out.signalledAmps, 20);
  b.inp.limit = 4;
  b.step();
  t.is(b.out.duty, 50, "the contactor is closed: the session tells the EV (StopCharging), 5 % stays");
  t.is(b.out.status, "stopping");
  b.ev = "B";
  b.until((o) => o.contactor0 === 0, 1000);
  b.step();
  t.is(b.out.duty, PILOT_PLUS_12V, "+12 V once open");
  b.ev = "C";
  b.run(500);
  t.is(b.out.contactor0, 0);
});

// ---- weld and contactor faults
test("weld: mirror still closed weldSettleMs after an open -> permanent fault, -12 V, clearFault refuses until open", (t) => {
  const b = new Bench();
  b.startCharging();
  b.forceMirror0 = 1;
  b.ev = "B";
  b.until((o) => o.contactor0 === 0);
  const openAt = b.now;
  b.until((o) => o.fault === "weld");
  t.is(b.now - openAt, 200);
  t.is(b.out.duty, PILOT_MINUS_12V);
  t.is(b.out.state, "F");
  t.is(b.out.status, "fault");
  b.ev = "none";
  b.run(1000);
  t.is(b.out.fault, "weld"); // unplugging does not clear a weld
  t.false(b.core.clearFault());
  b.step();
  t.is(b.out.fault, "weld");
  b.forceMirror0 = null;
  b.step();
  t.true(b.core.clearFault());
  b.run(100);
  t.is(b.out.fault, "");
  t.is(b.out.state, "A");
  t.is(b.out.status, "idle");
  b.ev = "C";
  t.true(b.until((o) => o.contactor0 === 1, 2000) > 0);
});

test("a mirror that does not follow a close is a contactor fault", (t) => {
  const b = new Bench();
  b.forceMirror0 = 0;
  b.ev = "C";
  b.until((o) => o.contactor0 === 1);
  const closedAt = b.now;
  b.until((o) => o.fault !== "");
  t.is(b.out.fault, "contactor");
  t.is(b.now - closedAt, 200);
  t.is(b.out.contactor0, 0);
  t.is(b.out.duty, PILOT_MINUS_12V);
  b.forceMirror0 = null;
  t.true(b.core.clearFault());
});

test("rcd latches until clearFault, and is re-latched while the RCM still reports the trip", (t) => {
  const b = new Bench();
  b.startCharging();
  b.inp.rcm = RCM_TRIP_AC;
  b.step();
  t.is(b.out.fault, "rcd");
  t.true(b.core.clearFault());
  b.step();
  t.is(b.out.fault, "rcd");
  b.inp.rcm = 0;
  b.run(100);
  t.is(b.out.fault, "rcd");
  t.true(b.core.clearFault());
  b.run(100);
  t.is(b.out.fault, "");
  t.is(b.out.state, "C");
  t.true(b.until((o) => o.contactor0 === 1, 2000) > 0);
});

// ---- overdraw
test("overdraw: above signalled + tolerance for overdrawTimeMs opens with fault overdraw; tolerance respected", (t) => {
  const b = new Bench();
  b.inp.limit = 16;
  b.evFollows = false;
  b.startCharging(17.9); // within 2 A tolerance of 15.96 A signalled
  b.run(20_000);
  t.is(b.out.fault, "");
  t.is(b.out.contactor0, 1);
  b.evDraw = 19;
  b.step();
  const from = b.now;
  b.until((o) => o.contactor0 === 0, 10_000);
  t.is(b.now - from, 5000);
  t.is(b.out.fault, "overdraw");
  t.is(b.out.openReason, "overdraw");
  t.is(b.core.underLoadOpens, 1);
  b.ev = "none";
  b.until((o) => o.state === "A");
  t.is(b.out.fault, "");
});

test("overdraw: the EV gets overdrawTimeMs after a PWM change (timer from the later of change and excess)", (t) => {
  const b = new Bench();
  b.inp.limit = 32;
  b.evFollows = false;
  b.startCharging(35); // 35 > 31.98 + 2: excess from the start
  const excessFrom = b.now - 500; // startCharging ran 500 ms after the close
  b.run(3000);
  b.inp.limit = 20; // PWM change 3.5 s into the excess
  b.step();
  const changeAt = b.now;
  b.until((o) => o.contactor0 === 0, 20_000);
  t.true(changeAt - excessFrom < 5000);
  t.is(b.now - changeAt, 5000);
  t.is(b.out.fault, "overdraw");
});

test("overdraw: an EV that follows within the time never trips", (t) => {
  const b = new Bench();
  b.inp.limit = 32;
  b.evFollows = false;
  b.startCharging(31);
  b.inp.limit = 10;
  b.run(4900);
  b.evDraw = 9.9;
  b.run(20_000);
  t.is(b.out.fault, "");
  t.is(b.out.contactor0, 1);
});

// ---- over-temperature
test("over-temperature opens at the cut-off and clears with hysteresis", (t) => {
  const b = new Bench();
  b.startCharging();
  b.inp.temperature = 89.9;
  b.run(100);
  t.is(b.out.contactor0, 1);
  b.inp.temperature = 90;
  b.step();
  t.is(b.out.contactor0, 0);
  t.is(b.out.fault, "overtemperature");
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.inp.temperature = 80.1;
  b.run(1000);
  t.is(b.out.fault, "overtemperature");
  b.inp.temperature = 80;
  b.step();
  t.is(b.out.fault, "");
  t.true(b.until((o) => o.contactor0 === 1, 2000) > 0);
});

// ---- 1p/3p switching
test("1p/3p: sequence PWM off -> B -> open -> pause -> switch -> pause -> PWM; hold and hysteresis back to 3p; max switches", (t) => {
  const cfg = config({}, { enabled: true, pauseMs: 1000, hysteresisA: 2, holdMs: 2000, maxSwitchesPerSession: 2 });
  const b = new Bench(cfg);
  b.inp.limit = 16;
  b.startCharging(16);
  t.is(b.out.phasesActive, 3);
  t.is(b.out.contactor1, 1);
  // the 3p limit falls below the minimum
  b.inp.limit = 4;
  b.step();
  t.is(b.out.status, "switchingPhases");
  t.is(b.out.duty, PILOT_PLUS_12V);
  t.is(b.out.contactor0, 1);
  b.run(300);
  b.ev = "B";
  b.until((o) => o.contactor0 === 0);
  const openAt = b.now;
  t.is(b.out.contactor1, 0);
  t.is(b.out.openReason, "phaseSwitch");
  t.is(b.out.phasesActive, 3);
  b.until((o) => o.phasesActive === 1);
  t.true(b.now - openAt >= 1000);
  const switchAt = b.now;
  t.is(b.core.phaseSwitches, 1);
  b.inp.limit = 12; // the arbiter's 1p limit
  b.until((o) => isPwmDuty(o.duty));
  t.is(b.now - switchAt, 1000);
  t.is(b.out.duty, 200);
  b.ev = "C";
  b.until((o) => o.contactor0 === 1);
  t.is(b.out.contactor1, 0); // 1p: L2/L3 stay open
  t.is(b.out.phasesActive, 1);
  // 1p limit 19.9 < 3 x 6 + 2: stays
  b.inp.limit = 19.9;
  b.run(10_000);
  t.is(b.out.phasesActive, 1);
  // 20 A for less than the hold time: stays
  b.inp.limit = 20;
  b.run(1500);
  b.inp.limit = 19;
  b.run(1000);
  t.is(b.out.status, "charging");
  b.inp.limit = 20;
  b.until((o) => o.status === "switchingPhases");
  b.ev = "B";
  b.until((o) => o.phasesActive === 3);
  t.is(b.core.phaseSwitches, 2);
  t.is(b.out.contactor0, 0);
  t.is(b.out.contactor1, 0);
  b.inp.limit = 6;
  b.until((o) => isPwmDuty(o.duty));
  b.ev = "C";
  b.until((o) => o.contactor0 === 1);
  t.is(b.out.contactor1, 1); // closes together with the main contactor
  // the maximum is reached: a low limit now pauses instead of switching
  b.inp.limit = 4;
  b.step();
  t.is(b.out.status, "stopping");
  b.ev = "B";
  b.run(10_000);
  t.is(b.out.phasesActive, 3);
  t.is(b.out.status, "suspendedEVSE");
  // unplug starts a fresh session (counter reset)
  b.ev = "none";
  b.until((o) => o.state === "A");
  t.is(b.core.phaseSwitches, 0);
});

test("1p/3p: a 3p limit of 0 (or too small to charge on 1p) pauses instead of switching", (t) => {
  const b = new Bench(config({}, { enabled: true, pauseMs: 1000, holdMs: 0 }));
  b.startCharging();
  b.inp.limit = 0;
  b.step();
  t.is(b.out.status, "stopping");
  b.inp.limit = 1.9; // 3 x 1.9 < 6
  b.step();
  t.is(b.out.status, "stopping");
  t.is(b.core.phaseSwitches, 0);
});

test("1p/3p: disabled or a 1-phase board never touches contactor 1", (t) => {
  for (const [cfg, phases] of [[config(), 3], [config({}, { enabled: true }), 1]] as const) {
    const b = new Bench(cfg);
    b.inp.phases = phases;
    b.startCharging();
    b.inp.limit = 3;
    b.run(5000);
    b.ev = "B";
    b.run(20_000);
    t.is(b.out.contactor1, 0);
    t.is(b.out.phasesActive, phases);
    t.is(b.core.phaseSwitches, 0);
  }
});

// ---- API shape
test("config validation throws RangeError naming the key", (t) => {
  const bad: Array<[string, object]> = [
    ["debounceSamples", { debounceSamples: 0 }],
    ["debounceSamples", { debounceSamples: 2.5 }],
    ["minCurrent", { minCurrent: 5 }],
    ["weldSettleMs", { weldSettleMs: -1 }],
    ["overTemperatureC", { overTemperatureC: NaN }],
    ["tethered", { tethered: "no" }],
  ];
  for (const [key, patch] of bad) {
    const e = t.throws(() => new ChargingCore({ ...defaultCoreConfig(), ...patch } as never), { instanceOf: RangeError });
    t.true(e.message.includes(key), e.message);
  }
  t.throws(() => new ChargingCore(config({}, { maxSwitchesPerSession: -1 })), { instanceOf: RangeError });
});

test("step() returns `out` itself and never changes a field's type (structural no-allocation check)", (t) => {
  const b = new Bench();
  const types = (o: CoreOutputs): string => Object.keys(o).map((k) => k + ":" + typeof (o as unknown as Record<string, unknown>)[k]).join(",");
  const fresh = createOutputs();
  const shape = types(fresh);
  const keys = Object.keys(fresh).join(",");
  const inp = b.inp;
  b.ev = "C";
  for (let k = 0; k < 5000; k++) {
    b.inp.now += 10;
    b.prepare();
    const r = b.commit(); // core.step(b.inp, b.out)
    if (r !== b.out) return t.fail("returned another object");
    if (types(r) !== shape || Object.keys(r).join(",") !== keys) return t.fail("shape changed at " + k);
  }
  t.is(b.out.contactor0, 1);
  // The same inputs object stepped repeatedly (steady state) leaves the outputs identical.
  const snap = JSON.stringify(b.out);
  for (let k = 0; k < 1000; k++) {
    inp.now += 10;
    b.core.step(inp, b.out);
  }
  t.is(JSON.stringify(b.out), snap);
});

// ---- ISO 15118: the session's PowerDelivery gate (hlcEnergy) and the DC output mode
test("HLC: the contactor waits for the session's energy permission; withdrawn, it opens when the EV goes to B, PWM stays 5 %", (t) => {
  const b = new Bench(config({ hlc: true }));
  b.inp.hlcEnergy = false;
  b.ev = "C";
  b.run(1000);
  t.is(b.out.duty, 50, "5 % while the session runs");
  t.is(b.out.contactor0, 0, "no energy before PowerDelivery Start");
  t.is(b.out.status, "suspendedEV");
  b.inp.hlcEnergy = true;
  t.true(b.until((o) => o.contactor0 === 1, 1000) > 0);
  t.is(b.out.status, "charging");
  b.inp.hlcEnergy = false; // PowerDelivery Stop
  b.run(100);
  t.is(b.out.contactor0, 1, "waits for the EV to go to B");
  t.is(b.out.duty, 50);
  t.is(b.out.status, "stopping");
  b.ev = "B";
  b.until((o) => o.contactor0 === 0, 500);
  t.is(b.out.contactor0, 0);
  t.is(b.out.openReason, "powerDelivery");
  t.is(b.out.duty, 50);
});

test("HLC: an EV that does not go to B after the energy is withdrawn is cut off after evStopTimeoutMs", (t) => {
  const b = new Bench(config({ hlc: true, evStopTimeoutMs: 1000 }));
  b.inp.hlcEnergy = true;
  b.ev = "C";
  b.until((o) => o.contactor0 === 1, 2000);
  b.inp.hlcEnergy = false;
  const at = b.now;
  b.until((o) => o.contactor0 === 0, 5000);
  t.is(b.out.openReason, "powerDeliveryTimeout");
  t.true(b.now - at >= 1000 && b.now - at <= 1000 + b.dt);
});

test("hlcEnergy is ignored without HLC (basic charging after a SLAC fallback)", (t) => {
  const b = new Bench(config({ hlc: true }));
  b.inp.hlcEnergy = false;
  b.core.setHlc(false);
  b.ev = "C";
  t.true(b.until((o) => o.contactor0 === 1, 2000) > 0);
  t.not(b.out.duty, 50);
});

test("DC output: no basic charging without HLC; with HLC any limit above 0 A runs, 0 A stops", (t) => {
  const b = new Bench(config({ hlc: true, dcOutput: true }));
  b.core.setHlc(false);
  b.ev = "C";
  b.run(2000);
  t.is(b.out.contactor0, 0, "a DC charger never charges without ISO 15118 / DIN 70121");
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.core.setHlc(true);
  b.inp.limit = 2; // below the AC minimum current: fine on DC
  t.true(b.until((o) => o.contactor0 === 1, 2000) > 0);
  t.is(b.out.duty, 50);
  b.inp.limit = 0;
  b.step();
  t.is(b.out.duty, 50, "closed: the session tells the EV");
  t.is(b.out.status, "stopping");
  b.ev = "B";
  b.until((o) => o.contactor0 === 0, 1000);
  b.step();
  t.is(b.out.duty, PILOT_PLUS_12V);
  t.throws(() => new ChargingCore(config({ dcOutput: "yes" as unknown as boolean })), { instanceOf: RangeError });
});
