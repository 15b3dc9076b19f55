/**
 * The README's demo, end to end in virtual time: the firmware boots, registers with the embedded CSMS
 * (ocpp-rpc, strict validation both ways), an EV plugs in, a card is swiped, it charges, unplugs.
 */
import test from "ava";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { start } from "../../firmware/main.js";
import { Simulation } from "../../simulator/simulation.js";
import type { TraceEvent } from "../../simulator/trace.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

async function runDemo(seed?: number): Promise<{ result: Awaited<ReturnType<Simulation["run"]>>; trace: TraceEvent[] }> {
  const sim = await Simulation.create(seed === undefined ? {} : { seed });
  try {
    const result = await sim.run((hal, config) => start(hal, config));
    return { result, trace: sim.trace.events };
  } finally {
    await sim.close();
  }
}

test("the demo session completes: one accepted transaction, physics-consistent energy, zero strict-validation failures", async (t) => {
  const { result, trace } = await runDemo();
  t.deepEqual(result.problems, []);
  t.true(result.ok);
  t.is(result.sessions.length, 1);
  const s = result.sessions[0]!;
  t.is(s.status, "Accepted");
  t.is(s.reason, "EVDisconnected");
  t.is(s.meterStart, 0);
  // 3 phases x 32 A x ~230 V x PF 0.99 for ~20 min: about 7.2 kWh.
  t.true(s.Wh! > 6800 && s.Wh! < 7500, `energy ${s.Wh} Wh`);
  t.is(result.validationFailures, 0);
  const out = trace.filter((e) => e.kind === "ocpp" && e["dir"] === "out").map((e) => (e["frame"] as unknown[])[2]).filter((a) => typeof a === "string");
  for (const action of ["BootNotification", "StatusNotification", "Authorize", "StartTransaction", "MeterValues", "StopTransaction"]) t.true(out.includes(action), action);
  t.is(out[0], "BootNotification");
  // The trace interface of the README.
  const kinds = new Set(trace.map((e) => e.kind));
  for (const k of ["pilot", "pwm", "contactor", "limit", "meter", "ocpp"]) t.true(kinds.has(k), k);
  const limit = trace.find((e) => e.kind === "limit")!;
  t.is(limit["amps"], 32);
  t.is(typeof limit["reason"], "string");
  const meter = trace.filter((e) => e.kind === "meter").at(-1)!;
  t.is((meter["amps"] as number[]).length, 3);
  t.is((meter["volts"] as number[]).length, 3);
  // The pilot went A -> B -> C -> B/A, and the contactor closed only in C.
  const pilots = trace.filter((e) => e.kind === "pilot").map((e) => e["state"]);
  t.deepEqual(pilots.slice(0, 3), ["A", "B", "C"]);
  t.is(result.interlockTrips, 0);
  t.is(result.forbiddenCloses, 0);
});

test("the same seed gives the same run, event by event", async (t) => {
  // Each run's embedded CSMS listens on an ephemeral loopback port: the only thing allowed to differ.
  const normalise = (trace: TraceEvent[]) => JSON.parse(JSON.stringify(trace).replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT")) as TraceEvent[];
  const a = normalise((await runDemo(7)).trace);
  const b = normalise((await runDemo(7)).trace);
  t.is(a.length, b.length);
  t.deepEqual(a, b);
});

test("npm start -- --once --virtual exits 0 after one accepted transaction; --help lists the options", (t) => {
  const cli = path.join(root, "build/simulator/cli.js");
  const run = spawnSync(process.execPath, [cli, "--virtual", "--once", "--quiet"], { encoding: "utf8", timeout: 120_000 });
  t.is(run.status, 0, run.stderr + run.stdout);
  t.regex(run.stdout, /transaction 1: idTag DEMO-CARD-01 Accepted/);
  t.regex(run.stdout, /Result: OK/);
  const help = spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
  t.is(help.status, 0);
  for (const opt of ["--csms", "--speed", "--once", "--scenario", "--trace"]) t.true(help.stdout.includes(opt), opt);
  const bad = spawnSync(process.execPath, [cli, "--speed", "fast"], { encoding: "utf8" });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--speed: a positive number/);
});
