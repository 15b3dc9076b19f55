/**
 * The SECC plumbing end to end in virtual time: EV plugs in → B → 5 % → SLAC over the SPI-level QCA7000 model and
 * the simulated power line → SDP over UDP (::1) → V2GTP over TCP (Listener + TCP({from})) → an opaque EXI payload
 * from the simulated EVCC reaches the SECC's channel and a response goes back. SLAC failure → basic charging.
 */
import test from "ava";
import fs from "node:fs";
import { start, type FirmwareHandle } from "../../firmware/main.js";
import type { V2gChannel } from "../../firmware/iso15118/index.js";
import { PAYLOAD_EXI } from "../../firmware/iso15118/v2gtp/header.js";
import type { EvccChannel, EvccHook } from "../../simulator/evcc/evcc.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";
import type { TraceEvent } from "../../simulator/trace.js";
import { SHARED_DIR } from "../../tools/shared-dir.js";

const VECTORS = `${SHARED_DIR}/iso15118/exi-vectors.jsonl`;
/** A recorded supportedAppProtocolReq (DIN 70121) and its Res, from the reference data when present. */
function appVectors(): { req: string; res: string } {
  const fallback = { req: "8000dbab9371d3234b71d1b981899189d191818991d26b9b3a232b30020000040040", res: "80400040" };
  if (!fs.existsSync(VECTORS)) return fallback;
  let req = "";
  let res = "";
  for (const line of fs.readFileSync(VECTORS, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const v = JSON.parse(line) as { protocol: string; message: string; hex: string };
    if (v.protocol !== "app") continue;
    if (!req && v.message === "supportedAppProtocolReq") req = v.hex;
    if (!res && v.message === "supportedAppProtocolRes") res = v.hex;
  }
  return req && res ? { req, res } : fallback;
}
const { req: REQ_HEX, res: RES_HEX } = appVectors();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

const BOARD = `"board": { "plcModem": { "chip": "qca7000", "spi": { "hz": 8000000, "mode": 3, "select": 2 }, "irq": 12 } }`;

function scenario(extra: { config?: Record<string, unknown>; events?: string; duration?: string; seed?: number } = {}) {
  return parseScenario(`{
    "name": "hlc", "seed": ${extra.seed ?? 11}, "duration": "${extra.duration ?? "60s"}",
    ${BOARD},
    "config": ${JSON.stringify({ hlcEnabled: true, freeCharging: true, ...(extra.config ?? {}) })},
    "ev": { "hlc": true, "maxCurrent": 16 },
    "events": ${extra.events ?? `[{ "at": "5s", "do": "plug" }, { "at": "50s", "do": "unplug" }]`}
  }`);
}

interface Run {
  trace: TraceEvent[];
  secc: { t: number; what: string; data?: string }[];
  ev: { t: number; what: string; data?: string }[];
  result: Awaited<ReturnType<Simulation["run"]>>;
  handle: FirmwareHandle | null;
}

/** Runs a scenario with an EVCC hook that sends the recorded request, and a SECC session stub that answers it. */
async function run(sc = scenario()): Promise<Run> {
  const ev: Run["ev"] = [];
  const secc: Run["secc"] = [];
  let sim!: Simulation;
  const hook: EvccHook = {
    connected(ch: EvccChannel) {
      ev.push({ t: sim.scheduler.now, what: "connected" });
      ch.send(PAYLOAD_EXI, bytes(REQ_HEX));
    },
    message(type, payload) {
      ev.push({ t: sim.scheduler.now, what: `message ${type.toString(16)}`, data: hex(payload) });
    },
    closed(reason) {
      ev.push({ t: sim.scheduler.now, what: `closed ${reason}` });
    },
  };
  sim = await Simulation.create({ scenario: sc, evccHook: hook });
  let handle: FirmwareHandle | null = null;
  try {
    const result = await sim.run((hal, config) => {
      handle = start(hal, config);
      const h = handle.hlc;
      if (h) {
        h.secc.events.channel = (ch: V2gChannel) => {
          secc.push({ t: sim.scheduler.now, what: "channel" });
          ch.attach({
            onMessage(type, payload, c) {
              secc.push({ t: sim.scheduler.now, what: `message ${type.toString(16)}`, data: hex(payload) });
              c.setupDone();
              c.send(PAYLOAD_EXI, bytes(RES_HEX));
            },
            onClose(reason) {
              secc.push({ t: sim.scheduler.now, what: `closed ${reason}` });
            },
          });
        };
      }
      return handle;
    });
    return { trace: sim.trace.events, secc, ev, result, handle };
  } finally {
    await sim.close();
  }
}

const hlcEvents = (trace: TraceEvent[]) => trace.filter((e) => e.kind === "hlc").map((e) => e["event"]);

test("HLC end to end: 5 % → SLAC over the SPI-level modems → SDP → V2GTP; the recorded supportedAppProtocolReq reaches the SECC channel and its Res the car", async (t) => {
  const r = await run();
  t.deepEqual(r.result.problems, []);
  t.deepEqual(r.result.firmwareErrors, []);
  // 5 % PWM once the EV is in B (and before anything else on the pilot).
  const pwm = r.trace.filter((e) => e.kind === "pwm" && e.t >= 5_000).map((e) => e["duty"]);
  t.is(pwm[0], 5);
  // The SECC's steps, in order.
  const steps = hlcEvents(r.trace).filter((e) => e !== "modem");
  t.deepEqual(steps.slice(0, 5), ["slac", "matched", "joined", "sdp", "connected"]);
  // The payload passed both ways, unchanged.
  t.deepEqual(r.secc.slice(0, 2).map((e) => [e.what, e.data]), [["channel", undefined], ["message 8001", REQ_HEX]]);
  t.deepEqual(r.ev.slice(0, 2).map((e) => [e.what, e.data]), [["connected", undefined], ["message 8001", RES_HEX]]);
  // Request and response at the same virtual instant as the connection (the SECC answered at once).
  t.is(r.secc[1]!.t, r.ev[1]!.t);
  // The whole HLC setup took well under TT_EVSE_SLAC_init + the communication setup time.
  const plugAt = 5_000;
  t.true(r.ev[0]!.t - plugAt < 5_000, `connected ${r.ev[0]!.t - plugAt} ms after plug-in`);
  // The duty stays 5 % while HLC runs (the session layer negotiates the current digitally).
  const duringHlc = r.trace.filter((e) => e.kind === "pwm" && e.t > 5_000 && e.t < 50_000).map((e) => e["duty"]);
  t.deepEqual([...new Set(duringHlc)], [5]);
  // Unplug: the channel closes on both sides.
  // Unplug: the car drops its TCP connection at once; the SECC sees it close at the same instant.
  t.deepEqual(r.ev.filter((e) => e.what.startsWith("closed")), [{ t: 50_000, what: "closed unplugged" }]);
  t.deepEqual(r.secc.filter((e) => e.what.startsWith("closed")), [{ t: 50_000, what: "closed peer" }]);
  const h = r.handle as FirmwareHandle | null;
  t.truthy(h?.hlc);
  t.is(h!.hlc!.secc.stats.connections, 1);
  t.is(h!.hlc!.secc.stats.fallbacks, 0);
});

test("HLC end to end is deterministic: two runs give identical traces", async (t) => {
  const a = await run(scenario({ seed: 3 }));
  const b = await run(scenario({ seed: 3 }));
  const norm = (trace: TraceEvent[]) => JSON.parse(JSON.stringify(trace).replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT")) as TraceEvent[];
  t.deepEqual(norm(a.trace), norm(b.trace));
  t.deepEqual(a.secc, b.secc);
  t.deepEqual(a.ev, b.ev);
  t.true(a.secc.length >= 2);
});

test("SLAC failure (the power line carries nothing) → fallback to basic charging at the nominal duty; the car charges on PWM", async (t) => {
  const sc = scenario({ config: { slacInitTimeoutMs: 20_000 }, duration: "90s", events: `[{ "at": "5s", "do": "plug" }, { "at": "85s", "do": "unplug" }]` });
  const sim = await Simulation.create({ scenario: sc });
  sim.chips.plc!.medium.blocked = true;
  try {
    const result = await sim.run((hal, config) => start(hal, config));
    t.deepEqual(result.problems, []);
    const trace = sim.trace.events;
    const fb = trace.find((e) => e.kind === "hlc" && e["event"] === "fallback");
    t.truthy(fb);
    t.is(fb!["reason"], "slac:slac_init_timeout");
    t.true(fb!.t >= 25_000 && fb!.t < 26_000, `fallback at ${fb!.t}`);
    const duties = trace.filter((e) => e.kind === "pwm" && e.t >= 5_000).map((e) => [e.t, e["duty"]] as [number, number]);
    t.is(duties[0]![1], 5);
    const after = duties.filter(([tt]) => tt >= fb!.t).map(([, d]) => d);
    t.is(after[0], 53.3, `the nominal duty for the 32 A limit after the fallback: ${JSON.stringify(after)}`);
    // The car charged on PWM: the contactor closed and energy flowed.
    t.true(trace.some((e) => e.kind === "contactor" && e["closed"] === true && e.t > fb!.t));
    t.true(result.energyWh > 10, `${result.energyWh} Wh`);
    t.is(sim.evcc!.state, "idle"); // unplugged at the end
  } finally {
    await sim.close();
  }
});

test("slacFallback retry: a second SLAC session (new NMK) before basic charging", async (t) => {
  const sc = scenario({ config: { slacInitTimeoutMs: 10_000, slacFallback: "retry", slacSessionRetries: 1 }, duration: "60s", events: `[{ "at": "5s", "do": "plug" }]` });
  const sim = await Simulation.create({ scenario: sc });
  sim.chips.plc!.medium.blocked = true;
  try {
    await sim.run((hal, config) => start(hal, config));
    const trace = sim.trace.events;
    const failed = trace.filter((e) => e.kind === "hlc" && e["event"] === "slac-failed").map((e) => [e["action"], e.t]);
    t.deepEqual(failed.map(([a]) => a), ["retry", "basic"]);
    const fb = trace.find((e) => e.kind === "hlc" && e["event"] === "fallback")!;
    t.true(fb.t >= 25_000 && fb.t < 27_000, `fallback at ${fb.t}`);
  } finally {
    await sim.close();
  }
});

test("a car without HLC on an HLC charger: 5 % then, with no SLAC, basic charging after TT_EVSE_SLAC_init", async (t) => {
  const sc = parseScenario(`{
    "name": "basic-car", "seed": 2, "duration": "60s", ${BOARD},
    "config": { "hlcEnabled": true, "freeCharging": true, "slacInitTimeoutMs": 20000 },
    "ev": { "maxCurrent": 16 },
    "events": [{ "at": "5s", "do": "plug" }]
  }`);
  const sim = await Simulation.create({ scenario: sc });
  try {
    const result = await sim.run((hal, config) => start(hal, config));
    t.deepEqual(result.problems, []);
    const fb = sim.trace.events.find((e) => e.kind === "hlc" && e["event"] === "fallback");
    t.truthy(fb);
    t.true(result.energyWh > 0);
  } finally {
    await sim.close();
  }
});

test("scenario validation: ev.hlc needs a PLC modem and must be a boolean; board.plcModem is checked", (t) => {
  t.throws(() => parseScenario(`{ "name": "x", "ev": { "hlc": true }, "events": [] }`), { message: /ev\.hlc/ });
  t.throws(() => parseScenario(`{ "name": "x", ${BOARD}, "ev": { "hlc": 1 }, "events": [] }`), { message: /ev\.hlc/ });
  t.throws(() => parseScenario(`{ "name": "x", "board": { "plcModem": { "chip": "x" } }, "events": [] }`), { message: /plcModem/ });
  t.notThrows(() => parseScenario(`{ "name": "x", ${BOARD}, "ev": { "hlc": true }, "events": [] }`));
});
