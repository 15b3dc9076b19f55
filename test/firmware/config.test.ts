import test from "ava";
import { CONFIG_SCHEMA, ConfigError, resolveConfig, start } from "../../firmware/main.js";
import { Simulation } from "../../simulator/simulation.js";

test("defaults resolve and every default satisfies its own spec", (t) => {
  const cfg = resolveConfig();
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) t.deepEqual((cfg as Record<string, unknown>)[key], spec.default, key);
});

test("later layers win", (t) => {
  const cfg = resolveConfig({ installerCurrentLimit: 20 }, { installerCurrentLimit: 16 });
  t.is(cfg.installerCurrentLimit, 16);
});

const cases: Array<[string, Record<string, unknown>, RegExp]> = [
  ["unknown key", { installerCurrentLimt: 16 }, /^config installerCurrentLimt: unknown key; known keys: .*installerCurrentLimit/],
  ["out of range", { controlPeriodMs: 0 }, /^config controlPeriodMs: 0 is out of range; allowed: an integer in 1\.\.50$/],
  ["period too long for IEC 61851-1 C->B", { controlPeriodMs: 100 }, /^config controlPeriodMs: 100 is out of range; allowed: an integer in 1\.\.50$/],
  ["not an integer", { controlPeriodMs: 2.5 }, /controlPeriodMs: 2\.5 is not an integer/],
  ["wrong type", { ventilationAllowed: "yes" }, /ventilationAllowed: "yes" is not a boolean; allowed: true or false/],
  ["NaN", { installerCurrentLimit: Number.NaN }, /installerCurrentLimit: .* is not a number; allowed: a number in 6\.\.80/],
  ["bad enum", { ocppVersion: "1.5" }, /ocppVersion: "1\.5" is not allowed; allowed: one of "1\.6"/],
  ["bad url", { csmsUrl: "http://x/y" }, /csmsUrl: "http:\/\/x\/y" is not well formed; allowed: .*ws:\/\/ or wss:\/\//],
  ["bad id", { chargePointId: "a b" }, /chargePointId: "a b" is not well formed/],
  ["unsorted curve", { thermalDerating: [[80, 10], [70, 20]] }, /thermalDerating: points are not in ascending x order/],
  ["cross-key", { minCurrent: 20, installerCurrentLimit: 16 }, /minCurrent: 20 is above installerCurrentLimit 16/],
  ["profile 1 without key", { securityProfile: 1 }, /basicAuthPassword: security profiles 1 and 2 need an AuthorizationKey/],
  ["profile 2 without TLS", { securityProfile: 2, basicAuthPassword: "0123456789abcdef" }, /csmsUrl: security profiles 2 and 3 need a wss:\/\/ URL/],
];
for (const [name, layer, message] of cases) {
  test(`bad config: ${name}`, (t) => {
    const e = t.throws(() => resolveConfig(layer), { instanceOf: ConfigError });
    t.regex(e!.message, message);
  });
}

test("start() refuses a bad configuration before touching any device", async (t) => {
  const sim = await Simulation.create({ config: {} });
  try {
    let halCalls = -1;
    const result = sim.run((hal) => {
      t.throws(() => start(hal, { controlPeriodMs: 1000 }), { instanceOf: ConfigError, message: /controlPeriodMs: 1000 is out of range/ });
      halCalls = (sim as unknown as { device: { stats: { halCalls: number } } }).device.stats.halCalls;
      sim.scheduler.stop();
    });
    await result;
    t.is(halCalls, 0);
  } finally {
    await sim.close();
  }
});
