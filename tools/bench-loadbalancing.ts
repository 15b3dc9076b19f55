/**
 * Load-balancing figures (virtual ms): 5 simulated chargers, leader mode, on a real mosquitto; the broker is
 * killed and we measure how long until every charger signals (PWM) and draws (EV current) at most the failsafe
 * current. Also the meter mode with a feed that goes silent (no connection loss: the silence timer).
 */
import type { BenchRow } from "./bench-node.js";
import { start, type FirmwareHandle } from "../firmware/main.js";
import { Site } from "../simulator/site.js";
import { startMosquitto } from "../test/support/mosquitto.js";

const FAILSAFE = 6;
const CONFIG = { siteFailsafeCurrent: FAILSAFE, siteReactionMs: 6_000, siteSilenceTimeoutMs: 6_000, siteHeartbeatMs: 1_000 };

async function measure(mode: "leader" | "meter"): Promise<{ signalMs: number; drawMs: number; over: number } | string> {
  const broker = await startMosquitto();
  if (!broker) return "mosquitto not installed";
  const chargers = [0, 1, 2, 3, 4].map((i) => ({ plugAt: 2_000 + i * 1_000, ev: { maxCurrent: 32 } }));
  const site = await Site.create({ chargers, broker: { host: "127.0.0.1", port: broker.port }, mode, limit: 50, durationMs: 90_000, config: CONFIG, sampleMs: 10 });
  const lossAt = 60_000;
  let signalAt = -1;
  let drawAt = -1;
  site.scheduler.at(lossAt, () => {
    if (mode === "leader") {
      site.bus.holdUntilDisconnected();
      void broker.kill("SIGKILL");
    } else site.meterFaults?.blackhole(true);
  });
  site.onSample = (s) => {
    if (s.t < lossAt) return;
    const hs = site.handles as FirmwareHandle[];
    if (signalAt < 0 && hs.every((h) => h.status().signalledAmps <= FAILSAFE)) signalAt = s.t;
    if (drawAt < 0 && hs.every((h) => Math.max(...h.status().amps) <= FAILSAFE + 0.05)) drawAt = s.t;
  };
  try {
    const r = await site.run(() => (hal, config) => start(hal, config));
    if (!r.ok) return r.problems[0] ?? "site run failed";
    return { signalMs: signalAt - lossAt, drawMs: drawAt - lossAt, over: r.longestOverMs };
  } finally {
    await site.close();
    await broker.stop();
  }
}

export async function benchLoadBalancing(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const k = await measure("leader");
  if (typeof k === "string") return [{ name: "load balancing rows unavailable", value: 0, unit: "", note: k }];
  rows.push({ name: "time from broker loss to failsafe current (PWM, 5 chargers)", value: k.signalMs, unit: "ms", note: "virtual ms, broker killed, 10 ms samples" });
  rows.push({ name: "time from broker loss to failsafe current (EV drawn)", value: k.drawMs, unit: "ms", note: "EV response 1 s (sim default)" });
  const m = await measure("meter");
  if (typeof m !== "string") {
    rows.push({ name: "time from silent site meter to failsafe current (PWM)", value: m.signalMs, unit: "ms", note: "feed silenced at 60 s, last reading 59 s: siteSilenceTimeoutMs 6000 after it" });
  }
  return rows;
}
