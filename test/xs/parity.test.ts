/**
 * Parity: the same scenario with the real firmware on Node (in this process) and on the real XS engine
 * (child process tools/xs/run.js, HAL bridged to the same simulator) must give the same trace: every
 * event, recorded HAL calls and OCPP frames included, with the same virtual timestamps.
 * The embedded CSMS listens on a random port: port numbers are the one thing normalised.
 * Two scenarios: short.json on the default board (the simulator's Meter), and ade9000.json on the demo's board
 * (Board.meterIc: the ADE9000 driver of hal/drivers in the loop, its SPI.transfer(buffer) filled in place
 * across the bridge; power-fail hold-up; signed meter values).
 * ISO 15118: hlc.json (the plumbing: the QCA7000 driver on the simulated SPI bus with its IRQ pin, SLAC, SDP over
 * UDP on ::1, V2GTP over Listener + TCP({from}), the car's default ISO-2 session), hlc-iso2-ac.json and
 * hlc-din-dc.json (whole sessions; DC on the board's power module and isolation monitor). The ports the OS picks
 * for those sockets are normalised as PORT<n> (see normalisePorts).
 */
import test, { type ExecutionContext } from "ava";
import { readFile, mkdir } from "node:fs/promises";
import * as path from "node:path";
import { start } from "../../firmware/main.js";
import { Simulation } from "../../simulator/simulation.js";
import { bundleXsGuest } from "../../tools/bundle.js";
import { firstDifference, root, runChild } from "./fixtures/util.js";


function normalise(events: unknown[]): unknown[] {
  return normalisePorts(events.map((e) => JSON.parse(JSON.stringify(e).replace(/(127\.0\.0\.1|localhost):\d+/g, "$1:PORT")) as unknown));
}

/**
 * The OS picks the ports of the ISO 15118 sockets (the SDP port the simulation reserves, the V2GTP listener's
 * bound port, the car's ephemeral UDP/TCP ports): each becomes "PORT<n>", n in order of first appearance, so
 * the traces still show that e.g. the port SDP announced is the port the listener bound. Found in: fields named
 * port / remotePort, the Listener's `get port`, the port argument of UDP.write, and the port in the bytes of an
 * SDP response (V2GTP payload 0x9001, bytes 24..25).
 */
function normalisePorts(events: unknown[]): unknown[] {
  const names = new Map<number, string>();
  const name = (p: number): string => {
    let n = names.get(p);
    if (n === undefined) names.set(p, (n = `PORT${names.size + 1}`));
    return n;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = (k === "port" || k === "remotePort") && typeof x === "number" && x > 0 ? name(x) : walk(x);
    return out;
  };
  return events.map((e) => {
    const ev = e as { kind: string; dev?: string; op?: string; args?: unknown[]; ret?: unknown };
    if (ev.kind !== "hal") return e;
    const out = walk(ev) as typeof ev;
    if (ev.dev?.startsWith("Listener") && ev.op === "get port" && typeof ev.ret === "number") out.ret = name(ev.ret);
    if (ev.dev?.startsWith("UDP") && ev.op === "write" && Array.isArray(ev.args)) {
      const [bytes, , port] = ev.args as [unknown, unknown, unknown];
      const a = [...(out.args as unknown[])];
      if (typeof port === "number") a[2] = name(port);
      if (typeof bytes === "string" && bytes.startsWith("01fe9001") && bytes.length >= 52) {
        a[0] = `${bytes.slice(0, 48)}<${name(parseInt(bytes.slice(48, 52), 16))}>${bytes.slice(52)}`;
      }
      out.args = a;
    }
    return out;
  });
}

let guestBundle: ReturnType<typeof bundleXsGuest> | undefined;

const parity = test.macro(async (t, fixture: string, check?: (t: ExecutionContext, trace: unknown[]) => void) => {
  const scenario = path.join(root, "test/xs/fixtures", fixture);
  const outDir = path.join(root, "build/test/xs/out");
  await mkdir(outDir, { recursive: true });
  const guest = await (guestBundle ??= bundleXsGuest(root, { outFile: "build/test/xs/parity-guest.js" }));
  const traceFile = path.join(outDir, `parity-xs-${path.basename(fixture, ".json")}.trace.jsonl`);
  const xsRun = runChild(path.join(root, "build/tools/xs/run.js"), ["--scenario", scenario, "--trace", traceFile, "--bundle", guest.file]);

  const sim = await Simulation.create({ scenario, recordHal: true });
  const nodeResult = await sim.run((hal, config) => start(hal, config));
  const nodeTrace = normalise(sim.trace.events);
  await sim.close();

  const child = await xsRun;
  t.is(child.code, 0, child.stderr);
  const summary = JSON.parse(child.stdout.trim().split("\n").pop()!) as { ok: boolean; interlockTrips: number; boots: number; xs: Array<{ reentrantCallbacks: number }> };
  const xsTrace = normalise(
    (await readFile(traceFile, "utf8"))
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as unknown),
  );

  const diff = firstDifference(nodeTrace, xsTrace);
  if (diff) t.log(`first difference at event ${diff.index} (of ${nodeTrace.length} / ${xsTrace.length}):\n  node: ${diff.a}\n  xs:   ${diff.b}`);
  t.is(diff, null);
  t.true(nodeTrace.length > 1000, `only ${nodeTrace.length} events`);
  t.true(nodeTrace.some((e) => (e as { kind: string }).kind === "hal"));
  t.true(nodeTrace.some((e) => (e as { kind: string }).kind === "ocpp"));
  t.is(summary.ok, nodeResult.ok);
  t.is(summary.interlockTrips, nodeResult.interlockTrips);
  t.is(summary.xs[0]!.reentrantCallbacks, 0);
  check?.(t, nodeTrace);
});

test("short charging session: XS trace equals Node trace (HAL calls, OCPP frames, virtual time)", parity, "short.json");

test("short session with the ADE9000 driver as the meter (SPI filled in place across the bridge): XS trace equals Node trace", parity, "ade9000.json", (t, trace) => {
  // The driver really was the meter, and it worked: register reads over SPI, no meter fault, energy counted.
  const events = trace as Array<{ kind: string; dev?: string; op?: string; fault?: string; device?: string; dir?: string; frame?: unknown[] }>;
  t.true(events.filter((e) => e.kind === "hal" && e.dev?.startsWith("SPI") && e.op === "transfer").length > 1000);
  t.deepEqual(events.filter((e) => (e.kind === "fault" && e.fault === "meter") || (e.kind === "device-error" && e.device === "meter")), []);
  const stop = events.find((e) => e.kind === "ocpp" && e.dir === "out" && Array.isArray(e.frame) && e.frame[2] === "StopTransaction");
  t.true(((stop?.frame?.[3] as { meterStop?: number } | undefined)?.meterStop ?? 0) > 0, "meterStop > 0 Wh");
});

type Ev = { t: number; kind: string; event?: string; state?: string; dev?: string; op?: string; args?: unknown[]; error?: string; duty?: number };

test("ISO 15118 on XS: QCA7000 over SPI + IRQ pin, SLAC, SDP over UDP (::1), V2GTP over Listener + TCP({from}); XS trace equals Node trace", parity, "hlc.json", (t, trace) => {
  const events = trace as Ev[];
  const hal = (dev: string, op?: string) => events.filter((e) => e.kind === "hal" && e.dev?.startsWith(dev) && (op === undefined || e.op === op));
  // The modem driver ran over the bridge: SPI transfers, the IRQ pin's callbacks.
  t.true(hal("SPI", "transfer").length > 50, "SPI transfers");
  t.true(hal("Digital", "cb").length > 0, "IRQ pin callbacks");
  // SDP over IPv6 loopback: the request came in with its address, the answer went back to it.
  const udpIn = hal("UDP", "read").map((e) => (e as { ret?: { address?: string } }).ret).filter((r) => r !== null && r !== undefined);
  t.true(udpIn.length > 0 && udpIn.every((r) => r!.address === "::1"), JSON.stringify(udpIn));
  t.true(hal("UDP", "write").some((e) => e.args?.[1] === "::1"));
  // The V2GTP connection: accepted by the Listener, wrapped by TCP({from}) — no error on any HAL call of the session.
  t.true(hal("Listener", "read").length > 0);
  t.true(hal("TCP", "new").length > 0);
  t.deepEqual(events.filter((e) => e.kind === "hal" && e.error !== undefined && /^(TCP|Listener|UDP|SPI|Digital)/.test(e.dev ?? "")), []);
  // Both ends saw the steps in order.
  const seccSteps = events.filter((e) => e.kind === "hlc" && e.event !== "modem").map((e) => e.event);
  t.deepEqual(seccSteps.slice(0, 5), ["slac", "matched", "joined", "sdp", "connected"]);
  const carStates = events.filter((e) => e.kind === "evcc" && e.event === "state").map((e) => e.state);
  t.deepEqual(carStates.slice(0, 5), ["slac", "joining", "sdp", "connecting", "connected"]);
  t.is(events.find((e) => e.kind === "pwm" && e.t >= 5_000)?.duty, 5);
});

test("ISO 15118-2 AC session on XS (handshake, ISO-2 session, contactor after PowerDelivery Start, ChargingStatus loop, SessionStop): XS trace equals Node trace", parity, "hlc-iso2-ac.json", (t, trace) => {
  const events = trace as Array<Ev & { protocol?: string; end?: string; closed?: boolean; index?: number }>;
  const hlc = events.filter((e) => e.kind === "hlc");
  t.is(hlc.find((e) => e.event === "handshake")?.protocol, "iso2");
  const end = hlc.find((e) => e.event === "session-end");
  t.is(end?.end, "terminate");
  // The contactor closed only after the session allowed energy (PowerDelivery Start), and opened at its end.
  const handshakeAt = hlc.find((e) => e.event === "handshake")!.t;
  const contactor = events.filter((e) => e.kind === "contactor");
  t.true(contactor.length >= 2 && contactor[0]!.closed === true && contactor[0]!.t > handshakeAt);
  t.true(contactor.some((e) => e.closed === false && e.t >= end!.t));
  t.deepEqual(events.filter((e) => e.kind === "safe-stop" || (e.kind === "hlc" && e.event === "safe-stop")), []);
  // The car got ChargingStatus answers all along (the V2GTP messages crossed the bridge both ways).
  t.true(events.filter((e) => e.kind === "hal" && e.dev?.startsWith("TCP") && e.op === "write").length >= 20);
});

test("DIN 70121 DC session on XS (cable check on the isolation monitor, pre-charge, CurrentDemand on the DC power module, welding detection, SessionStop): XS trace equals Node trace", parity, "hlc-din-dc.json", (t, trace) => {
  const events = trace as Array<Ev & { protocol?: string; end?: string; result?: string; closed?: boolean }>;
  const hlc = events.filter((e) => e.kind === "hlc");
  t.is(hlc.find((e) => e.event === "handshake")?.protocol, "din");
  t.is(hlc.find((e) => e.event === "isolation")?.result, "Valid");
  t.is(hlc.find((e) => e.event === "session-end")?.end, "terminate");
  t.deepEqual(hlc.filter((e) => e.event === "safe-stop"), []);
  // The power module and the isolation monitor were driven across the bridge.
  const devs = new Set(events.filter((e) => e.kind === "hal").map((e) => e.dev?.replace(/#\d+$/, "")));
  t.true(devs.has("DcPowerModule") && devs.has("IsolationMonitor"), [...devs].join(", "));
  // The car's DC contactor closed after pre-charge and opened before the session ended.
  t.deepEqual(events.filter((e) => e.kind === "evcc" && e.event === "dc-contactor").map((e) => e.closed), [true, false]);
});
