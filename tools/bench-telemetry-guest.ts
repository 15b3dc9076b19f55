/**
 * XS guest for tools/bench-telemetry.ts: the MQTT telemetry's periodic work inside XS, in compute units (xsnap's
 * deterministic meter). The MQTT client is a stub that takes the bytes (what the native client's write costs the
 * VM is a call); the snapshot is a fixed charging state.
 *   {op:"poll", n}     the 500 ms state check with nothing changed: {median, max}
 *   {op:"measure", n, format}  one measurement publish (snapshot, encode, write): {median, max, bytes}
 *   {op:"state", n, format}    one state publish (a change): {median, max, bytes}
 */
import type { Hal, MQTTClientOptions } from "../hal/index.js";
import { LimitArbiter } from "../firmware/control/arbiter.js";
import { Session } from "../firmware/session/session.js";
import { UserClaim } from "../firmware/telemetry/user-claim.js";
import { Telemetry, type TelemetryConfig, type TelemetrySnapshot } from "../firmware/telemetry/telemetry.js";
import { Prng } from "../firmware/util/prng.js";
import { meterNow, serveCommands, stats, type GuestOp } from "./xs/guest-kit.js";

let written = 0;
let now = 1_000;
let connectLast: (() => void) | null = null;
class StubMqtt {
  constructor(o: MQTTClientOptions) {
    connectLast = () => (o.onWritable as (this: unknown, n: number) => void).call(this, 1024);
  }
  write(data: Uint8Array): void {
    written += data.byteLength;
  }
  subscribe(): void {}
  unsubscribe(): void {}
  read(): ArrayBuffer {
    return new ArrayBuffer(0);
  }
  close(): void {}
}
const hal = {
  clock: { now: () => now, wall: () => 1_750_000_000_000 + now, synchronized: true, setWall() {} },
  timers: { set: () => 1, clear() {} },
  network: { MQTTClient: StubMqtt },
  log: { event() {} },
} as unknown as Hal;

const snap: TelemetrySnapshot = {
  pilot: "C",
  connector: "Charging",
  contactor: true,
  fault: "",
  signalledAmps: 16,
  limit: { amps: 16, source: "site", reason: "mqtt limit" },
  amps: [15.93, 16.02, 15.88],
  volts: [229.8, 230.4, 231.1],
  powerW: 11_040,
  energyWh: 123_456.7,
  session: { number: 12, idTag: "DEMO-CARD-01", transactionId: 4711, wh: 5_432.1 },
};

function make(format: "cbor" | "json"): Telemetry {
  const cfg: TelemetryConfig = {
    host: "127.0.0.1", port: 1883, tls: false, ca: "", clientId: "CP-1", user: "", password: "", chargerId: "CP-1", prefix: "evse",
    format, keepAliveS: 30, bufferBytes: 16_384, measurementIntervalMs: 10_000, maxHoldS: 3_600, discovery: false, discoveryPrefix: "homeassistant", maxAmps: 32,
  };
  const session = new Session({ mono: () => now, wall: () => 0, synced: () => true, energyWh: () => 0 }, (_t, done) => done(true, ""), 60_000, null);
  const t = new Telemetry(cfg, { hal, claim: new UserClaim(new LimitArbiter()), session, prng: new Prng(1), snapshot: () => snap, start: () => null });
  t.start();
  connectLast?.();
  return t;
}

const ops: Record<string, GuestOp> = {
  poll(m) {
    const t = make("cbor") as unknown as { checkState(): void };
    const costs: number[] = [];
    for (let i = 0; i < (m["n"] as number); i++) {
      now += 500;
      const a = meterNow();
      t.checkState();
      costs.push(meterNow() - a);
    }
    return stats(costs);
  },
  measure(m) {
    const t = make(m["format"] as "cbor" | "json") as unknown as { measure(): void };
    const costs: number[] = [];
    const n = m["n"] as number;
    const before = written;
    for (let i = 0; i < n; i++) {
      now += 10_000;
      const a = meterNow();
      t.measure();
      costs.push(meterNow() - a);
    }
    return { ...stats(costs), bytes: (written - before) / n };
  },
  state(m) {
    const t = make(m["format"] as "cbor" | "json") as unknown as { checkState(): void };
    const costs: number[] = [];
    const n = m["n"] as number;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      now += 500;
      snap.signalledAmps = 16 + (i % 2);
      const b = written;
      const a = meterNow();
      t.checkState();
      costs.push(meterNow() - a);
      bytes += written - b;
    }
    snap.signalledAmps = 16;
    return { ...stats(costs), bytes: bytes / n };
  },
};

serveCommands("bench-telemetry", ops);
