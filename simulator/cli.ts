/**
 * `npm start`: the simulated wallbox running the firmware against the embedded CSMS (or a real one).
 * Prints live status lines and a summary; see `npm start -- --help`.
 */
import { start, ConfigError } from "../firmware/main.js";
import { ScenarioError } from "./scenario.js";
import { Simulation, type SimulationResult } from "./simulation.js";
import type { TraceEvent } from "./trace.js";

const HELP = `Usage: npm start -- [options]

Runs the charge-point firmware on a simulated wallbox (EV, grid, relay, meter) against the
embedded CSMS (OCPP 1.6J, strict validation), prints live status lines and a summary.

Options:
  --scenario FILE   scenario file (JSON: EV model, plug/unplug times, faults, network and
                    power cuts, seed); default: the built-in demo (plug, card, 20 min, unplug)
  --csms URL        use a real CSMS at ws://host:port/path instead of the embedded one
                    (the charge point id is appended: URL/CP-SIM-0001)
  --speed N         time acceleration against the wall clock (default 60)
  --virtual         run in pure virtual time, as fast as possible (as CI does)
  --once            run until one session has ended; exit 0 if it completed with an
                    accepted transaction, 1 otherwise
  --trace FILE      write the trace as JSON lines: {t, kind, ...} one event per line
  --seed N          override the scenario's seed
  --record-hal      include every HAL call in the trace
  --mqtt URL        publish the charger's telemetry to this MQTT broker (mqtt://host:port)
                    and take commands from it (topics: firmware/telemetry/README.md)
  --sntp            serve the simulated wall clock over SNTP on loopback and point the
                    firmware's SNTP client at it
  --quiet           no live status lines, only the summary
  --help            this text

Exit status: 0 when the run had no problem (no interlock trip, no firmware exception,
no OCPP validation failure; with --once: a completed accepted transaction), 1 otherwise,
2 on bad arguments, a bad scenario file or a bad firmware configuration.`;

interface Args {
  scenario?: string;
  csms?: string;
  speed: number;
  virtual: boolean;
  once: boolean;
  trace?: string;
  seed?: number;
  recordHal: boolean;
  quiet: boolean;
  mqtt?: string;
  sntp: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { speed: 60, virtual: false, once: false, recordHal: false, quiet: false, sntp: false };
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) usage(`${name} needs a value`);
    return v!;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case "--help":
      case "-h":
        process.stdout.write(HELP + "\n");
        process.exit(0);
      // falls through (exit does not return)
      case "--scenario":
        a.scenario = value(i++, arg);
        break;
      case "--csms": {
        const url = value(i++, arg);
        if (!/^wss?:\/\/[^\s/]+/.test(url)) usage(`--csms: ${url} is not a ws:// or wss:// URL`);
        a.csms = url;
        break;
      }
      case "--speed": {
        const n = Number(value(i++, arg));
        if (!(n > 0) || !Number.isFinite(n)) usage("--speed: a positive number");
        a.speed = n;
        break;
      }
      case "--virtual":
        a.virtual = true;
        break;
      case "--once":
        a.once = true;
        break;
      case "--trace":
        a.trace = value(i++, arg);
        break;
      case "--seed": {
        const n = Number(value(i++, arg));
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) usage("--seed: an integer in 0..4294967295");
        a.seed = n;
        break;
      }
      case "--record-hal":
        a.recordHal = true;
        break;
      case "--quiet":
        a.quiet = true;
        break;
      case "--mqtt": {
        const url = value(i++, arg);
        if (!/^mqtts?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/.test(url)) usage(`--mqtt: ${url} is not an mqtt://host[:port] URL`);
        a.mqtt = url;
        break;
      }
      case "--sntp":
        a.sntp = true;
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  }
  return a;
}

function usage(message: string): never {
  process.stderr.write(`error: ${message}\n\n${HELP}\n`);
  process.exit(2);
}

function clock(t: number): string {
  const s = Math.floor(t / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

function statusLine(e: TraceEvent): string {
  const amps = (e["amps"] as number[]).map((a) => a.toFixed(1)).join("/");
  const pwm = `${(e["duty"] as number).toFixed(1)}%`;
  return (
    `[${clock(e.t)}] pilot ${e["pilot"]}  ${String(e["connector"]).padEnd(13)} PWM ${pwm.padStart(6)} ` +
    `limit ${String(e["limit"]).padStart(4)} A (${e["reason"]})  contactor ${e["contactor"] ? "closed" : "open  "}  ` +
    `I ${amps} A  E ${((e["Wh"] as number) / 1000).toFixed(3)} kWh  ocpp ${e["ocpp"]}`
  );
}

function eventLine(e: TraceEvent): string | null {
  switch (e.kind) {
    case "scenario":
      return `[${clock(e.t)}] scenario: ${e["do"]}${e["idTag"] ? ` ${e["idTag"]}` : ""}`;
    case "registration":
      return `[${clock(e.t)}] OCPP BootNotification: ${e["status"]} (heartbeat ${e["interval"]} s)`;
    case "session":
      return e["event"] === "started"
        ? `[${clock(e.t)}] session ${e["number"]} started for ${e["idTag"]} at ${e["meterStartWh"]} Wh`
        : `[${clock(e.t)}] session ${e["number"]} ended (${e["reason"]}): ${(e["Wh"] as number).toFixed(1)} Wh`;
    case "transaction":
      return `[${clock(e.t)}] OCPP transaction ${e["transactionId"]} ${e["status"]}`;
    case "fault":
      return e["fault"] ? `[${clock(e.t)}] FAULT ${e["fault"]}` : `[${clock(e.t)}] fault cleared`;
    case "interlock":
      return `[${clock(e.t)}] HARDWARE INTERLOCK acted (trips ${e["trips"]})`;
    case "sim":
      return e["event"] === "firmware-error" ? `[${clock(e.t)}] FIRMWARE ERROR ${e["error"]}` : e["event"] === "boot" ? `[${clock(e.t)}] boot (${e["reason"]})` : null;
    default:
      return null;
  }
}

function summary(r: SimulationResult): string {
  const lines = [
    "",
    `Summary: scenario ${r.scenario}, seed ${r.seed}, ${clock(r.virtualMs)} simulated, ${r.boots} boot(s)`,
    `  energy delivered (meter register): ${(r.energyWh / 1000).toFixed(3)} kWh`,
    `  OCPP frames: ${r.ocppFrames}, strict validation failures: ${r.validationFailures}`,
    `  interlock trips: ${r.interlockTrips}, forbidden closes: ${r.forbiddenCloses}, firmware exceptions: ${r.firmwareErrors.length}`,
  ];
  if (r.sessions.length === 0) lines.push("  transactions: none");
  for (const s of r.sessions) {
    lines.push(
      `  transaction ${s.transactionId}: idTag ${s.idTag} ${s.status}, meter ${s.meterStart} -> ${s.meterStop ?? "(open)"} Wh` +
        (s.Wh !== null ? ` = ${s.Wh} Wh` : "") +
        (s.reason ? `, stopped: ${s.reason}` : ""),
    );
  }
  lines.push(r.ok ? "Result: OK" : `Result: PROBLEMS\n  - ${r.problems.join("\n  - ")}`);
  return lines.join("\n");
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let sim: Simulation;
  try {
    sim = await Simulation.create({
      ...(args.scenario ? { scenario: args.scenario } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
      ...(args.csms ? { csms: args.csms } : {}),
      ...(args.trace ? { traceFile: args.trace } : {}),
      realTime: !args.virtual,
      speed: args.speed,
      once: args.once,
      recordHal: args.recordHal,
      keepTrace: false,
      ...(args.mqtt ? { mqtt: args.mqtt } : {}),
      sntp: args.sntp,
    });
  } catch (e) {
    if (e instanceof ScenarioError) {
      process.stderr.write(`error: scenario ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  let lastPrint = 0;
  let lastKey = "";
  sim.trace.on((e) => {
    if (args.quiet) return;
    if (e.kind === "status") {
      const key = `${e["pilot"]}${e["connector"]}${e["contactor"]}${e["limit"]}`;
      const now = performance.now();
      if (key !== lastKey || now - lastPrint >= (args.virtual ? 0 : 1000) || (args.virtual && e.t % 60_000 < 1000)) {
        if (key !== lastKey || !args.virtual || e.t % 60_000 < 1000) {
          process.stdout.write(statusLine(e) + "\n");
          lastPrint = now;
          lastKey = key;
        }
      }
      return;
    }
    const line = eventLine(e);
    if (line) process.stdout.write(line + "\n");
  });
  if (!args.quiet) {
    process.stdout.write(
      `Simulated wallbox ${sim.scenario.board.model} (${sim.scenario.board.phases} phase, ${sim.scenario.board.ratedCurrent} A), ` +
        `CSMS ${String(sim.config["csmsUrl"])}, ${args.virtual ? "virtual time" : `${args.speed}x real time`}, scenario ${sim.scenario.name}\n`,
    );
  }
  let result: SimulationResult;
  try {
    result = await sim.run((hal, config) => start(hal, config));
  } catch (e) {
    await sim.close();
    if (e instanceof ConfigError) {
      process.stderr.write(`error: firmware ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  await sim.close();
  process.stdout.write(summary(result) + "\n");
  process.exit(result.ok ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
