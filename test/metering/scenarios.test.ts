/**
 * Metering end to end in the simulator: a broken SPI line to the ADE9000 in the middle of a charge (the charger
 * stops safely with fault "meter" / PowerMeterFailure, the transaction ends), and a power cut with the
 * supply monitor's early warning (the registers continue after the reboot; nothing goes backwards).
 */
import test from "ava";
import { start } from "../../firmware/main.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

const BOARD = {
  holdUpMs: 50,
  meterIc: { chip: "ade9000", spi: { hz: 10_000_000, mode: 0, port: 1, select: 5 }, vFullScale: 800, iFullScale: 80 },
};

function scenario(events: unknown[], extra: Record<string, unknown> = {}) {
  return parseScenario(JSON.stringify({ name: "metering", seed: 11, duration: "10min", board: BOARD, config: { signedMeterValues: true }, ev: { maxCurrent: 32 }, events, ...extra }), "metering");
}

for (const fault of ["silent", "garbage", "stuck"] as const) {
  test(`a broken SPI line (${fault}) while charging: fault "meter", PWM off, contactor open, transaction stopped, PowerMeterFailure`, async (t) => {
    const sim = await Simulation.create({
      scenario: scenario([
        { at: "2s", do: "plug" },
        { at: "3s", do: "swipe", idTag: "CARD-1" },
        { at: "60s", do: "meterFault", fault },
        { at: "5min", do: "unplug" },
      ]),
    });
    try {
      const res = await sim.run((hal, c) => start(hal, c));
      t.true(res.ok, res.problems.join("; "));
      t.deepEqual(sim.csms!.validationFailures, []);
      const ev = sim.trace.events;
      const devErr = ev.find((e) => e.kind === "device-error" && e["device"] === "meter");
      t.truthy(devErr, "the driver reported the meter");
      t.true(devErr!.t >= 60_000 && devErr!.t <= 60_000 + 500, `reported within 500 ms (${devErr!.t})`);
      const faultEv = ev.find((e) => e.kind === "fault" && e["fault"] === "meter");
      t.truthy(faultEv);
      const opened = ev.find((e) => e.kind === "contactor" && e["closed"] === false && e.t >= 60_000);
      t.truthy(opened, "the contactor opened");
      t.true(opened!.t - devErr!.t <= 3_500, `opened ${opened!.t - devErr!.t} ms after the fault (EV stop timeout 3 s)`);
      const frames = ev.filter((e) => e.kind === "ocpp").map((e) => e["frame"] as unknown[]);
      const status = frames.filter((f) => f[0] === 2 && f[2] === "StatusNotification").map((f) => f[3] as { status: string; errorCode: string });
      t.true(status.some((s) => s.status === "Faulted" && s.errorCode === "PowerMeterFailure"));
      const stop = frames.find((f) => f[0] === 2 && f[2] === "StopTransaction");
      t.truthy(stop, "the transaction was stopped");
      t.true((stop![3] as { timestamp: string }).timestamp < "2026-01-15T08:02:00Z", "stopped soon after the fault, not at the unplug");
      t.is(res.interlockTrips, 0);
      // No new charge while the meter is broken.
      t.false(ev.some((e) => e.kind === "contactor" && e["closed"] === true && e.t > opened!.t));
    } finally {
      await sim.close();
    }
  });
}

test("power cut with the early warning: the registers are committed in the hold-up time and continue after the reboot", async (t) => {
  const sim = await Simulation.create({
    scenario: scenario(
      [
        { at: "2s", do: "plug" },
        { at: "3s", do: "swipe", idTag: "CARD-1" },
        { at: "3min", do: "powerCut", offMs: 5000 },
        { at: "4min", do: "swipe", idTag: "CARD-1" },
        { at: "8min", do: "unplug" },
      ],
      { duration: "9min" },
    ),
  });
  try {
    const res = await sim.run((hal, c) => start(hal, c));
    t.true(res.ok, res.problems.join("; "));
    t.deepEqual(sim.csms!.validationFailures, []);
    const ev = sim.trace.events;
    const warn = ev.find((e) => e.kind === "sim" && e["event"] === "power-fail-warning");
    t.is(warn?.t, 180_000 - 50);
    const frames = ev.filter((e) => e.kind === "ocpp").map((e) => e["frame"] as unknown[]);
    const starts = frames.filter((f) => f[0] === 2 && f[2] === "StartTransaction").map((f) => (f[3] as { meterStart: number }).meterStart);
    const stops = frames.filter((f) => f[0] === 2 && f[2] === "StopTransaction").map((f) => f[3] as { meterStop: number; reason: string });
    t.true(starts.length >= 2, `two transactions (${starts.length})`);
    t.true(stops.length >= 2);
    // The energy of the first 3 minutes survived: the second transaction starts where the first one stopped.
    const first = stops[0]!;
    t.true(first.meterStop > 1000, `charged before the cut: ${first.meterStop} Wh`);
    t.true(starts[1]! >= first.meterStop, `meterStart ${starts[1]} >= previous meterStop ${first.meterStop}`);
    // What the world really delivered before the cut vs the register after: lost at most one control period.
    const wh = sim.trace.events.filter((e) => e.kind === "meter" && e.t <= 180_000).pop()!["Wh"] as number;
    t.true(starts[1]! >= Math.floor(wh) - 1, `register ${starts[1]} vs delivered ${wh}`);
  } finally {
    await sim.close();
  }
});
