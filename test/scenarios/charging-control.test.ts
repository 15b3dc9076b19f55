/**
 * Charger-side control end to end: stops (remote, same card, an EV that ignores PWM off), limits (installer,
 * the "limit" action = the firmware's "user" claim), and 1p/3p switching on a board with two contactors.
 */
import test from "ava";
import { ev, firstAfter, mainClose, mainOpen, ofKind, runScenario } from "./fixtures/charging.js";

for (const how of ["remoteStop", "same card"] as const) {
  test(`charger-side stop (${how}): PWM to +12 V, the EV goes to B, then the contactor opens with no load`, async (t) => {
    const stop = how === "remoteStop" ? { at: "20s", do: "remoteStop" } : { at: "20s", do: "swipe", idTag: "CARD-1" };
    const r = await runScenario({
      duration: "40s",
      ev: ev(),
      events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "CARD-1" }, stop],
    });
    t.deepEqual(r.violations, []);
    t.deepEqual(r.result.problems, []);
    const off = firstAfter(r.trace, 20_000, "pwm", (e) => e["level"] === "+12V")!;
    const b = firstAfter(r.trace, off.t, "ev", (e) => e["state"] === "B")!;
    const open = firstAfter(r.trace, 20_000, "contactor", mainOpen)!;
    t.log(`${how}: PWM off ${off.t} ms, EV in B ${b.t} ms, open ${open.t} ms (${open.t - b.t} ms after B)`);
    t.true(off.t < b.t && b.t <= open.t);
    t.true(open.t - b.t <= r.cfg.controlPeriodMs);
    t.is(firstAfter(r.trace, 20_000, "open")!["reason"], "stop");
    t.is(r.sim.world.relays[0]!.operationsUnderLoad, 0, "opened under no load");
    t.is(r.result.sessions[0]!.reason, how === "remoteStop" ? "Remote" : "Local");
    t.is(ofKind(r.trace, "contactor", (e) => mainClose(e) && e.t > open.t).length, 0);
  });
}

test("an EV that ignores PWM off is opened after evStopTimeoutMs anyway; under load when it still draws", async (t) => {
  const run = (misbehaviour: Record<string, unknown>) =>
    runScenario({
      duration: "40s",
      ev: ev({ misbehaviour }),
      events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "CARD-1" }, { at: "20s", do: "remoteStop" }],
    });
  // Ignores PWM off and reacts slowly (non-compliant, 8 s): still drawing full current at the timeout.
  const slow = await run({ ignorePwmOff: true, slowResponseMs: 8000 });
  t.deepEqual(slow.violations, []);
  const off = firstAfter(slow.trace, 20_000, "pwm", (e) => e["level"] === "+12V")!;
  const open = firstAfter(slow.trace, 20_000, "contactor", mainOpen)!;
  const after = open.t - off.t;
  t.log(`ignorePwmOff+slow: PWM off ${off.t} ms, open ${open.t} ms (${after} ms, evStopTimeoutMs ${slow.cfg.evStopTimeoutMs})`);
  t.true(after >= slow.cfg.evStopTimeoutMs && after <= slow.cfg.evStopTimeoutMs + slow.cfg.controlPeriodMs);
  t.is(firstAfter(slow.trace, 20_000, "open")!["reason"], "stopTimeout");
  t.is(slow.sim.world.relays[0]!.operationsUnderLoad, 1, "counted as an under-load open");
  // Ignores PWM off but follows the current to 0 (this EV model): opened at the timeout, no longer under load.
  const quiet = await run({ ignorePwmOff: true });
  t.deepEqual(quiet.violations, []);
  const open2 = firstAfter(quiet.trace, 20_000, "contactor", mainOpen)!;
  t.is(firstAfter(quiet.trace, 20_000, "open")!["reason"], "stopTimeout");
  t.true(open2.t - firstAfter(quiet.trace, 20_000, "pwm")!.t >= quiet.cfg.evStopTimeoutMs);
  t.is(quiet.sim.world.relays[0]!.operationsUnderLoad, 0);
});

test("installerCurrentLimit 10 -> PWM 16.6 %; a limit below 6 A pauses (+12 V, no close) and charging resumes after", async (t) => {
  const r = await runScenario({
    duration: "60s",
    config: { freeCharging: true, installerCurrentLimit: 10 },
    ev: ev(),
    events: [
      { at: "2s", do: "plug" },
      { at: "20s", do: "limit", amps: 4 },
      { at: "40s", do: "limit", amps: null },
    ],
  });
  t.deepEqual(r.violations, []);
  t.deepEqual(r.result.problems, []);
  const first = firstAfter(r.trace, 0, "pwm", (e) => e["level"] === "pwm")!;
  t.is(first["duty"], 16.6);
  t.is(ofKind(r.trace, "limit", (e) => e.t < 20_000).at(-1)!["source"], "installer");
  const user = firstAfter(r.trace, 20_000, "limit")!;
  t.is(user["source"], "user");
  t.is(user["amps"], 4);
  const off = firstAfter(r.trace, 20_000, "pwm")!;
  t.is(off["level"], "+12V");
  t.true(off.t - 20_000 <= r.cfg.controlPeriodMs);
  const open = firstAfter(r.trace, 20_000, "contactor", mainOpen)!;
  t.is(firstAfter(r.trace, 20_000, "open")!["reason"], "limit");
  t.is(r.sim.world.relays[0]!.operationsUnderLoad, 0);
  t.is(ofKind(r.trace, "contactor", (e) => mainClose(e) && e.t > open.t && e.t < 40_000).length, 0, "no close while paused");
  t.is(ofKind(r.trace, "pwm", (e) => e.t > off.t && e.t < 40_000).length, 0, "+12 V steady while paused");
  const back = firstAfter(r.trace, 40_000, "pwm")!;
  t.is(back["duty"], 16.6);
  t.truthy(firstAfter(r.trace, 40_000, "contactor", mainClose), "resumes");
  t.is(r.result.sessions[0]!.idTag, "FREECHARGING", "free charging runs a transaction with freeChargingIdTag");
});

for (const max of [2, 1]) {
  test(`1p/3p switching (2 contactors, max ${max} per session): only with the main contactor open, with the pauses`, async (t) => {
    const pauseMs = 2000;
    const r = await runScenario({
      duration: "90s",
      board: { contactors: 2 },
      config: { freeCharging: true, phaseSwitching: true, phaseSwitchPauseMs: pauseMs, phaseSwitchHoldMs: 5000, phaseSwitchMaxPerSession: max },
      ev: ev({ batteryKWh: 200 }),
      events: [
        { at: "2s", do: "plug" },
        { at: "20s", do: "limit", amps: 4 },
        { at: "40s", do: "limit", amps: 32 },
      ],
    });
    t.deepEqual(r.violations, []);
    t.deepEqual(r.result.problems, []);
    const c1 = ofKind(r.trace, "contactor", (e) => e["index"] === 1);
    t.true(c1.length >= 2);
    // Contactor 1 moves only together with the main contactor (closed with it, opened with it).
    for (const e of c1) {
      t.truthy(r.trace.find((x) => x.kind === "contactor" && x["index"] === 0 && x.t === e.t && x["closed"] === e["closed"]), `contactor 1 at ${e.t}`);
    }
    const switches = ofKind(r.trace, "core", (e) => e["status"] === "switchingPhases");
    t.is(switches.length, max, "switches made");
    // 3p -> 1p at the 4 A limit: PWM off, the EV to B, open, then >= 2 pauses before PWM returns (at 32 A).
    const open = firstAfter(r.trace, 20_000, "contactor", mainOpen)!;
    const pwmBack = firstAfter(r.trace, open.t, "pwm", (e) => e["level"] === "pwm")!;
    t.true(pwmBack.t >= 40_000, "no PWM at 4 A (per phase) on one phase either");
    const phases1 = firstAfter(r.trace, open.t, "core", (e) => e["phases"] === 1)!;
    t.true(phases1.t - open.t >= pauseMs, "pause before the mode change");
    // Charging on one phase at 32 A: the main contactor closes, contactor 1 stays open.
    const close1p = firstAfter(r.trace, 40_000, "contactor", mainClose)!;
    t.truthy(close1p);
    t.is(r.trace.filter((e) => e.kind === "contactor" && e["index"] === 1 && e.t === close1p.t).length, 0);
    const meter1p = firstAfter(r.trace, close1p.t + 3000, "meter")!;
    t.true((meter1p["amps"] as number[])[0]! > 20 && (meter1p["amps"] as number[])[1] === 0, `1p: ${JSON.stringify(meter1p["amps"])}`);
    const last = ofKind(r.trace, "meter").at(-1)!;
    if (max >= 2) {
      // Back to 3p after holdMs: open, 2 pauses, then both contactors close together.
      const open2 = firstAfter(r.trace, close1p.t + 1, "contactor", mainOpen)!;
      const close3p = firstAfter(r.trace, open2.t, "contactor", mainClose)!;
      t.true(open2.t - close1p.t >= 5000, "held for phaseSwitchHoldMs");
      t.true(close3p.t - open2.t >= 2 * pauseMs, "two pauses");
      t.truthy(r.trace.find((e) => e.kind === "contactor" && e["index"] === 1 && e["closed"] === true && e.t === close3p.t));
      t.true((last["amps"] as number[])[1]! > 20, `3p again: ${JSON.stringify(last["amps"])}`);
      t.log(`1p/3p: to 1p open ${open.t}, 1p mode ${phases1.t}, 1p close ${close1p.t}, to 3p open ${open2.t}, 3p close ${close3p.t} ms`);
    } else {
      t.is((last["amps"] as number[])[1], 0, "stays on one phase: no switch left");
    }
  });
}

test("a fixed cable (no PP to confirm) charges at one tick per control period: no 1 ms re-sample ticks in steady state", async (t) => {
  const r = await runScenario({
    duration: "30s",
    board: { tetheredCable: true },
    ev: ev(),
    events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "CARD-1" }],
  });
  t.deepEqual(r.result.problems, []);
  t.truthy(firstAfter(r.trace, 0, "contactor", mainClose), "it charged");
  const periods = 30_000 / r.cfg.controlPeriodMs;
  // A few extra ticks confirm the plug-in and the B -> C change; a PP that never counts would add three per period.
  t.true(r.ticks >= periods && r.ticks <= periods * 1.02, `${r.ticks} ticks for ${periods} periods`);
});
