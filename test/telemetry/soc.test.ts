/** MQTT telemetry: the EV's state of charge (Session.evSoc) in the state and measurement payloads, only when known. */
import test from "ava";
import type { Hal } from "../../hal/index.js";
import { Telemetry, type TelemetryConfig, type TelemetrySnapshot } from "../../firmware/telemetry/index.js";
import type { Session } from "../../firmware/session/session.js";

const CFG: TelemetryConfig = {
  host: "127.0.0.1", port: 1883, tls: false, ca: "", clientId: "CP", user: "", password: "", chargerId: "CP", prefix: "evse",
  format: "json", keepAliveS: 30, bufferBytes: 4096, measurementIntervalMs: 10_000, maxHoldS: 3600, discovery: false,
  discoveryPrefix: "homeassistant", maxAmps: 32,
};

const SNAP: TelemetrySnapshot = {
  pilot: "C", connector: "Charging", contactor: true, fault: "", signalledAmps: 16, limit: { amps: 16, source: "hardware", reason: "rating" },
  amps: [16, 16, 16], volts: [230, 230, 230], powerW: 11_000, energyWh: 1234.56, session: { number: 1, idTag: "TAG", transactionId: 7, wh: 100 },
};

function telemetry(session: { evSoc: number | null }): Telemetry {
  const hal = { clock: { wall: () => 1_768_464_000_000, now: () => 0, synchronized: true } } as unknown as Hal;
  return new Telemetry(CFG, { hal, claim: {} as never, session: session as unknown as Session, prng: {} as never, snapshot: () => SNAP, start: () => null });
}

test("state and measurements carry soc (%, one decimal) only while the session knows one", (t) => {
  const session = { evSoc: null as number | null };
  const tm = telemetry(session);
  t.false("soc" in tm.stateValue(SNAP), "unknown: no soc key (not a made-up 0)");
  t.false("soc" in tm.measurementValue(SNAP));
  session.evSoc = 57;
  t.is(tm.stateValue(SNAP)["soc"], 57);
  t.is(tm.measurementValue(SNAP)["soc"], 57);
  session.evSoc = 33.333;
  t.is(tm.stateValue(SNAP)["soc"], 33.3);
  session.evSoc = 0;
  t.is(tm.stateValue(SNAP)["soc"], 0, "0 % is a value");
  session.evSoc = null;
  t.false("soc" in tm.stateValue(SNAP));
  // The rest of the payloads is unchanged by it.
  session.evSoc = 80;
  const { soc: _s, ...state } = tm.stateValue(SNAP);
  session.evSoc = null;
  t.deepEqual(state, tm.stateValue(SNAP));
});
