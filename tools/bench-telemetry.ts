/**
 * Telemetry rows of `npm run bench` (XS, deterministic compute units; tools/bench-telemetry-guest.ts):
 *  - bytes per state and per measurement message, CBOR vs JSON (payload bytes, the MQTT header aside);
 *  - compute per publish and the telemetry's cost per second of charging: 2 state checks (500 ms) plus a tenth of
 *    a measurement (10 s period), plus a state change every 10 s as an upper bound.
 * The XS part runs in a child process (xsnap needs SES lockdown, which must stay out of the caller).
 */
import { fileURLToPath } from "node:url";
import type { BenchRow } from "./bench-node.js";
import { isMain, printJson, runChild, withGuest } from "./xs/bench-kit.js";

const here = fileURLToPath(import.meta.url);

export async function benchTelemetry(): Promise<BenchRow[]> {
  try {
    return (await runChild(here, ["--child"], "bench-telemetry")) as BenchRow[];
  } catch (e) {
    return [{ name: "telemetry XS rows unavailable", value: 0, unit: "", note: (e as Error).message.split("\n")[0] }];
  }
}

type R = { median: number; max: number; bytes: number };

function child(): Promise<BenchRow[]> {
  return withGuest("tools/bench-telemetry-guest.ts", "dist/xs-bench-telemetry.js", "xs-telemetry", async (xs) => {
    const poll = (await xs.command({ op: "poll", n: 200 })) as R;
    const mc = (await xs.command({ op: "measure", n: 200, format: "cbor" })) as R;
    const mj = (await xs.command({ op: "measure", n: 200, format: "json" })) as R;
    const sc = (await xs.command({ op: "state", n: 200, format: "cbor" })) as R;
    const sj = (await xs.command({ op: "state", n: 200, format: "json" })) as R;
    const perSecond = (m: R) => Math.round(2 * poll.median + m.median / 10);
    return [
      { name: "telemetry measurement bytes CBOR / JSON", value: Math.round(mc.bytes), unit: "bytes", note: `JSON ${Math.round(mj.bytes)} bytes (${Math.round((100 * mc.bytes) / mj.bytes)} %); 3-phase amps/volts, W, Wh, time + synced` },
      { name: "telemetry state bytes CBOR / JSON", value: Math.round(sc.bytes), unit: "bytes", note: `JSON ${Math.round(sj.bytes)} bytes (${Math.round((100 * sc.bytes) / sj.bytes)} %); pilot, contactor, limit + reason, session, energy` },
      { name: "telemetry state check, no change (XS, median)", value: poll.median, unit: "cu", note: `every 500 ms; max ${poll.max}` },
      { name: "telemetry measurement publish CBOR (XS, median)", value: mc.median, unit: "cu", note: `JSON ${mj.median} cu; max ${mc.max}` },
      { name: "telemetry state publish CBOR (XS, median)", value: sc.median, unit: "cu", note: `JSON ${sj.median} cu; max ${sc.max}` },
      { name: "telemetry cost per second (XS, CBOR)", value: perSecond(mc), unit: "cu/s", note: `2 checks + 1/10 measurement; JSON ${perSecond(mj)} cu/s; +${Math.round(sc.median / 10)} cu/s with a state change every 10 s` },
    ];
  });
}

if (isMain(here, "--child")) printJson(child());
