/** Power failures against the strict embedded CSMS: the supply monitor's early warning (TC_032_1) and availability kept across one (TC_034). */
import test from "ava";
import { runScenario } from "./core-harness.js";
import { callsIn, checkTransactions, simulate } from "./transactions-support.js";

const T0 = Date.parse("2026-01-15T08:00:00Z");
const FAST = `"controlPeriodMs": 50, "statusIntervalMs": 600000`;

test("TC_032_1_CS Power failure - stop transaction(s) before going down: journaled in the 50 ms hold-up time (PowerLoss), delivered once", async (t) => {
  const sim = await simulate(`{ "name": "tc032_1", "seed": 321, "duration": "5min", "board": { "holdUpMs": 50 }, "config": { ${FAST} },
    "events": [ { "at": "2s", "do": "plug" }, { "at": "4s", "do": "swipe", "idTag": "TAG-321" }, { "at": "90s", "do": "powerCut", "offMs": 5000 }, { "at": "200s", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    t.is(c.transactions, 1);
    t.deepEqual(c.reasons, ["PowerLoss"]);
    const tx = [...sim.csms!.transactions.values()][0]!;
    t.true((tx.stop!["meterStop"] as number) > tx.meterStart);
    // Stamped at the early warning (before the cut), not at the next boot.
    const stamped = Date.parse(tx.stop!["timestamp"] as string) - T0;
    t.true(stamped >= 89_950 && stamped < 90_000, `stamped ${stamped}`);
    // Stopped before going down: the reboot found no interrupted transaction to recover.
    const events = sim.trace.events;
    t.is(events.filter((e) => e.kind === "power-fail-stop").length, 1);
    t.is(events.filter((e) => e.kind === "transaction-recovered").length, 0);
    const warning = events.find((e) => e.kind === "sim" && e["event"] === "power-fail-warning")!;
    const stopLogged = events.find((e) => e.kind === "power-fail-stop")!;
    t.true(stopLogged.t >= warning.t && stopLogged.t < warning.t + 50, "within the hold-up time");
    t.is(callsIn(sim, "BootNotification").length, 2);
  } finally {
    await sim.close();
  }
});

test("without a supply monitor nothing is stopped early: the stop comes after the reboot (TC_032_2 behaviour)", async (t) => {
  const sim = await simulate(`{ "name": "no-monitor", "seed": 322, "duration": "5min", "config": { ${FAST} },
    "events": [ { "at": "2s", "do": "plug" }, { "at": "4s", "do": "swipe", "idTag": "TAG-322" }, { "at": "90s", "do": "powerCut", "offMs": 5000 } ] }`);
  try {
    t.deepEqual(checkTransactions(sim).reasons, ["PowerLoss"]);
    t.is(sim.trace.events.filter((e) => e.kind === "power-fail-stop").length, 0);
    t.is(sim.trace.events.filter((e) => e.kind === "transaction-recovered").length, 1);
  } finally {
    await sim.close();
  }
});

test("TC_034_CS Power Failure with Unavailable Status: Inoperative persisted, the charge point boots Unavailable and reports it", async (t) => {
  const run = await runScenario(t, {
    duration: "90s",
    events: [
      { at: "10s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 0, type: "Inoperative" } },
      { at: "30s", do: "powerCut", offMs: 5000 },
      // After the reboot a car and a card change nothing: the charge point stays Unavailable.
      { at: "60s", do: "plug" },
      { at: "62s", do: "swipe", idTag: "CARD1" },
    ],
  });
  t.deepEqual(run.answers("ChangeAvailability"), [{ status: "Accepted" }]);
  t.is(run.result.boots, 2);
  const boots = run.out("BootNotification");
  t.is(boots.length, 2);
  const second = boots[1]!.t;
  const before = run.statuses(1).filter((s) => s.t < second);
  const after1 = run.statuses(1).filter((s) => s.t >= second);
  const after0 = run.statuses(0).filter((s) => s.t >= second);
  t.is(before.at(-1)!.status, "Unavailable");
  t.true(after1.length >= 1 && after1.every((s) => s.status === "Unavailable"), JSON.stringify(after1));
  t.true(after0.length >= 1 && after0.every((s) => s.status === "Unavailable"), JSON.stringify(after0));
  t.is(run.out("StartTransaction").length, 0);
});
