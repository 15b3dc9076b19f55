/**
 * MQTT telemetry and control against a real mosquitto, with the simulated charger in virtual time.
 * Commands from the test are published in real time while virtual time is HELD, until the charger's reply
 * arrives, so each command lands at a known virtual instant.
 */
import test from "ava";
import { decode as cborDecode } from "cbor-x";
import { start } from "../../firmware/main.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";
import type { TraceEvent } from "../../simulator/trace.js";
import { Observer, TestBroker, findMosquitto, type Seen } from "./broker.js";

const CP = "CP-SIM-0001";
const BASE = `evse/${CP}`;

function scenario(durationS: number, events: unknown[] = [], config: Record<string, unknown> = {}) {
  return parseScenario(
    JSON.stringify({
      name: "telemetry",
      seed: 5,
      duration: `${durationS}s`,
      config: { freeCharging: true, mqttMeasurementIntervalS: 10, ...config },
      ev: { batteryKWh: 60, initialSoc: 30, targetSoc: 90, maxCurrent: 32 },
      events: [{ at: "2s", do: "plug" }, ...events],
    }),
  );
}

async function simulate(url: string, sc: ReturnType<typeof scenario>, config: Record<string, unknown> = {}) {
  const sim = await Simulation.create({ scenario: sc, mqtt: url, config });
  const trace: TraceEvent[] = [];
  sim.trace.on((e) => trace.push(e));
  return { sim, trace };
}

/** At virtual time `at`: publish a command and hold virtual time until its reply (or `settleMs` real ms). */
function command(sim: Simulation, obs: Observer, at: number, name: string, payload: string | Buffer, reply = `${BASE}/reply/${name}`, settleMs = 0): void {
  sim.scheduler.at(at, () => {
    const release = sim.scheduler.hold(`command ${name}`);
    const done = settleMs > 0 ? new Promise((r) => setTimeout(r, settleMs)) : obs.next((m) => m.topic === reply);
    void done.then(() => release());
    void obs.publish(`${BASE}/cmd/${name}`, payload);
  });
}

/** CBOR payload -> object (cbor-x gives 64-bit integers such as wall times as BigInt: numbers here). */
const cbor = (m: Seen) => JSON.parse(JSON.stringify(cborDecode(m.payload), (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))) as Record<string, unknown>;
const limits = (trace: TraceEvent[]) => trace.filter((e) => e.kind === "limit").map((e) => [e.t, e["source"], e["amps"]]);

if (!findMosquitto()) {
  test("mosquitto is required (a real broker) and could not be installed: apt-get install mosquitto", (t) => {
    t.fail("no mosquitto binary, and installing Debian's package failed (not root, or no apt-get)");
  });
} else {
  test.serial("topics, CBOR payloads, retained state, QoS 1 events, HA discovery, will on a dead charger", async (t) => {
    const broker = await TestBroker.start();
    const obs = await Observer.connect(broker.port, [`${BASE}/#`, "homeassistant/#"]);
    const { sim } = await simulate(broker.url, scenario(65));
    try {
      const r = await sim.run((hal, config) => start(hal, config));
      t.true(r.ok, r.problems.join("; "));
      await new Promise((res) => setTimeout(res, 200));
      const meas = obs.on(`${BASE}/measurements`).map(cbor);
      t.true(meas.length >= 6, `measurements: ${meas.length}`);
      const last = meas[meas.length - 1]!;
      t.deepEqual(Object.keys(last).sort(), ["amps", "energyWh", "powerW", "synced", "t", "volts"]);
      t.is((last["amps"] as number[]).length, 3);
      t.true((last["powerW"] as number) > 10_000, "charging at ~22 kW");
      t.true(last["synced"] as boolean, "the CSMS set the clock");
      const states = obs.on(`${BASE}/state`);
      t.true(states.length >= 2);
      const st = cbor(states[states.length - 1]!);
      t.is(st["connector"], "Charging");
      t.is(st["contactor"], true);
      t.deepEqual(st["limit"], { amps: 32, source: "hardware", reason: "SimWallbox-22 rating" });
      t.is((st["session"] as Record<string, unknown>)["idTag"], "FREECHARGING");
      const events = obs.on(`${BASE}/events`);
      t.true(events.every((e) => e.qos === 1));
      t.true(events.map(cbor).some((e) => e["event"] === "session-started"));
      // retained: a client connecting afterwards gets state, config, status (the will: offline) and discovery
      const late = await Observer.connect(broker.port, [`${BASE}/#`, "homeassistant/#"]);
      await sim.close();
      await new Promise((res) => setTimeout(res, 300));
      const retained = late.seen.filter((m) => m.retain);
      const topics = new Set(retained.map((m) => m.topic));
      for (const tp of ["state", "config", "ha"]) t.true(topics.has(`${BASE}/${tp}`), tp);
      const config = cbor(retained.find((m) => m.topic === `${BASE}/config`)!);
      t.is(config["limitSource"], "user");
      const disc = retained.filter((m) => m.topic.startsWith("homeassistant/"));
      t.deepEqual(disc.map((m) => m.topic).sort(), [
        "homeassistant/number/CP-SIM-0001/limit/config",
        "homeassistant/sensor/CP-SIM-0001/current/config",
        "homeassistant/sensor/CP-SIM-0001/energy/config",
        "homeassistant/sensor/CP-SIM-0001/limit/config",
        "homeassistant/sensor/CP-SIM-0001/power/config",
        "homeassistant/sensor/CP-SIM-0001/state/config",
        "homeassistant/switch/CP-SIM-0001/pause/config",
      ]);
      const num = JSON.parse(disc.find((m) => m.topic.includes("/number/"))!.payload.toString()) as Record<string, unknown>;
      t.is(num["command_topic"], `${BASE}/cmd/limit`);
      t.is(num["availability_topic"], `${BASE}/status`);
      const ha = JSON.parse(retained.find((m) => m.topic === `${BASE}/ha`)!.payload.toString()) as Record<string, unknown>;
      t.is(ha["state"], "Charging");
      t.is(ha["paused"], "OFF");
      // the charger died without DISCONNECT: the will says offline (retained)
      const status = late.on(`${BASE}/status`);
      t.is(status[status.length - 1]!.payload.toString(), "offline");
      await late.close();
    } finally {
      await sim.close();
      await obs.close();
      await broker.stop();
    }
  });

  test.serial("JSON payloads by option", async (t) => {
    const broker = await TestBroker.start();
    const obs = await Observer.connect(broker.port, [`${BASE}/#`]);
    const { sim } = await simulate(broker.url, scenario(25, [], { mqttPayloadFormat: "json", mqttDiscovery: false }));
    try {
      await sim.run((hal, config) => start(hal, config));
      const m = obs.on(`${BASE}/measurements`);
      t.true(m.length >= 2);
      const cb = JSON.parse(m[m.length - 1]!.payload.toString()) as Record<string, unknown>;
      t.is(typeof cb["powerW"], "number");
      t.false(obs.seen.some((x) => x.topic === `${BASE}/ha`), "no HA view without discovery");
    } finally {
      await sim.close();
      await obs.close();
      await broker.stop();
    }
  });

  test.serial("commands: limit -> user claim -> PWM; pause/resume; ttl expiry within a control period; bad payloads change nothing", async (t) => {
    const broker = await TestBroker.start();
    const obs = await Observer.connect(broker.port, [`${BASE}/#`]);
    const { sim, trace } = await simulate(broker.url, scenario(200));
    try {
      command(sim, obs, 20_000, "limit", JSON.stringify({ amps: 10, id: "a1" }));
      command(sim, obs, 40_000, "limit", Buffer.from([0xa1, 0x64, 0x61, 0x6d, 0x70, 0x73, 0x18, 0xc8])); // CBOR {amps: 200}
      command(sim, obs, 41_000, "limit", "{not json");
      command(sim, obs, 42_000, "limit", JSON.stringify({ amps: 8, extra: 1 }));
      command(sim, obs, 43_000, "limit", JSON.stringify({ amps: 8, ttl: 10_000_000 }));
      command(sim, obs, 44_000, "fly", "{}", `${BASE}/error`);
      command(sim, obs, 50_000, "pause", "ON");
      command(sim, obs, 70_000, "pause", "OFF");
      command(sim, obs, 90_000, "limit", JSON.stringify({ amps: 13, ttl: 30 }));
      command(sim, obs, 150_000, "stop", "");
      command(sim, obs, 160_000, "stop", "");
      const r = await sim.run((hal, config) => start(hal, config));
      t.true(r.ok, r.problems.join("; "));
      const ls = limits(trace);
      t.deepEqual(
        ls.filter(([time]) => (time as number) >= 20_000),
        [
          [20_000, "user", 10],
          [50_000, "user", 0],
          [70_000, "user", 10],
          [90_000, "user", 13],
          [120_000, "hardware", 32],
        ],
        "bad commands (40-44 s) changed nothing; the 30 s ttl expired at 120 s exactly",
      );
      // the PWM followed: 10 A -> 16.7 % within one control period (10 ms)
      const pwm = trace.filter((e) => e.kind === "pwm" && e.t >= 20_000 && e.t <= 20_010);
      t.true(pwm.some((e) => Math.abs((e["duty"] as number) - 16.7) < 0.1), JSON.stringify(pwm));
      const pwmExpire = trace.filter((e) => e.kind === "pwm" && e.t >= 120_000 && e.t <= 120_010);
      t.true(pwmExpire.some((e) => Math.abs((e["duty"] as number) - 53.3) < 0.1), JSON.stringify(pwmExpire));
      const replies = (name: string) => obs.on(`${BASE}/reply/${name}`).map(cbor);
      const lr = replies("limit");
      t.deepEqual(
        lr.map((x) => [x["ok"], x["error"] ?? null]),
        [
          [true, null],
          [false, "BadValue"],
          [false, "BadPayload"],
          [false, "BadValue"],
          [false, "BadValue"],
          [true, null],
        ],
      );
      t.is(lr[0]!["id"], "a1");
      t.is(lr[0]!["holdS"], 3600, "no ttl: held for mqttCommandMaxHoldS");
      t.is(lr[5]!["holdS"], 30);
      t.is(cbor(obs.on(`${BASE}/error`)[0]!)["error"], "UnknownCommand");
      const sr = replies("stop");
      t.deepEqual(sr.map((x) => x["ok"]), [true, false], "the second stop: no session");
      t.true(obs.on(`${BASE}/events`).map(cbor).some((e) => e["event"] === "command-expired" && e["cmd"] === "limit"));
      const ended = trace.find((e) => e.kind === "session" && e["event"] === "ended");
      t.is(ended?.["reason"], "Local");
    } finally {
      await sim.close();
      await obs.close();
      await broker.stop();
    }
  });

  test.serial("ACL: another authenticated client cannot command this charger; anonymous is refused; the site manager can", async (t) => {
    const users = { [CP]: "cp-secret", "CP-OTHER": "other-secret", hems: "hems-secret" };
    const broker = await TestBroker.start({ users });
    const hems = await Observer.connect(broker.port, [`${BASE}/#`], { username: "hems", password: "hems-secret" });
    const evil = await Observer.connect(broker.port, [`${BASE}/#`], { username: "CP-OTHER", password: "other-secret" });
    const { sim, trace } = await simulate(broker.url, scenario(60), { mqttUser: CP, mqttPassword: "cp-secret" });
    try {
      await t.throwsAsync(Observer.connect(broker.port, ["#"]), undefined, "anonymous refused");
      await t.throwsAsync(Observer.connect(broker.port, ["#"], { username: CP, password: "wrong" }), undefined, "bad password refused");
      // the other charger publishes a limit at 20 s: the broker drops it (no reply); 1 s of real time to show it
      command(sim, evil, 20_000, "limit", "6", "", 1_000);
      command(sim, hems, 30_000, "limit", "12");
      const r = await sim.run((hal, config) => start(hal, config));
      t.true(r.ok, r.problems.join("; "));
      t.deepEqual(
        limits(trace).filter(([time]) => (time as number) >= 10_000),
        [[30_000, "user", 12]],
      );
      const replies = hems.on(`${BASE}/reply/limit`).map(cbor);
      t.is(replies.length, 1);
      t.true(replies[0]!["ok"] as boolean);
      t.true(hems.on(`${BASE}/state`).length > 0, "the charger could publish under its own subtree");
      t.is(evil.on(`${BASE}/state`).length, 0, "and the other charger cannot even read it");
    } finally {
      await sim.close();
      await hems.close();
      await evil.close();
      await broker.stop();
    }
  });

  test.serial("broker killed: offline buffer with the drop policy, reconnect, backlog in order, latest state retained", async (t) => {
    const broker = await TestBroker.start();
    const port = broker.port;
    // 10 s measurements, 2,048 B buffer: a 10 min outage overflows it
    const { sim, trace } = await simulate(broker.url, scenario(900, [{ at: "400s", do: "unplug" }], { mqttBufferBytes: 2048 }));
    let obs: Observer | null = null;
    try {
      sim.scheduler.at(60_000, async () => {
        await broker.kill();
        const release = sim.scheduler.hold("telemetry notices the dead broker");
        const wait = () => (trace.some((e) => e.kind === "telemetry" && e["event"] === "disconnected") ? release() : setTimeout(wait, 5));
        wait();
      });
      sim.scheduler.at(700_000, async () => {
        await broker.launch();
        obs = await Observer.connect(port, [`${BASE}/#`]);
      });
      const r = await sim.run((hal, config) => start(hal, config));
      t.true(r.ok, r.problems.join("; "));
      await new Promise((res) => setTimeout(res, 300));
      const o = obs as unknown as Observer;
      const connects = trace.filter((e) => e.kind === "telemetry" && e["event"] === "connected");
      t.is(connects.length, 2, "connected, then reconnected");
      const back = connects[1]!.t;
      t.true(back >= 700_000 && back <= 760_000, `reconnected at ${back} (back-off at most 60 s)`);
      const events = o.on(`${BASE}/events`).map(cbor);
      const names = events.map((e) => e["event"]);
      t.true(names.includes("session-ended"), "an event from the outage was kept");
      const dropped = events.find((e) => e["event"] === "dropped")!;
      t.true((dropped["measurements"] as number) > 0);
      t.is(dropped["events"], 0, "events are dropped only after every measurement");
      const ms = o.on(`${BASE}/measurements`).map(cbor);
      const during = ms.filter((m) => (m["t"] as number) < sim.trueWallTime() - (900_000 - back));
      t.true(during.length > 0, "buffered measurements were resent");
      const times = during.map((m) => m["t"] as number);
      t.deepEqual(times, [...times].sort((a, b) => a - b), "in order");
      // the newest measurements survived, the oldest were dropped
      t.true(times[0]! > sim.trueWallTime() - 900_000 + 60_000 + 100_000, "the oldest ones were dropped");
      const states = o.on(`${BASE}/state`).map(cbor);
      t.is(states[states.length - 1]!["connector"], "Available", "the latest state after the unplug");
    } finally {
      await sim.close();
      if (obs) await (obs as Observer).close();
      await broker.stop();
    }
  });
}
