import test from "ava";
import { ConfigStore, type ConfigSchema } from "../../firmware/storage/config-store.js";
import { PowerCutError, SimStorage } from "../../simulator/storage/index.js";

const schema = {
  maxCurrent: { type: "number", default: 16, min: 6, max: 32, integer: true },
  phases: { type: "number", default: 3, enum: [1, 3] },
  freeMode: { type: "boolean", default: false },
  csmsUrl: { type: "string", default: "ws://localhost:9000/cp1", maxLength: 200 },
  protocol: { type: "string", default: "ocpp1.6", enum: ["ocpp1.6", "ocpp2.0.1"] },
  localIds: { type: "string[]", default: [], maxLength: 20 },
} satisfies ConfigSchema;

function setup(): { sim: SimStorage; open: (onInvalid?: (k: string, r: string) => void) => ConfigStore<typeof schema> } {
  const sim = new SimStorage();
  return { sim, open: (onInvalid) => new ConfigStore(sim.storage.keyValue.open({ path: "config" }), schema, { onInvalid }) };
}

test("defaults, typed set/get, persistence across reopen", (t) => {
  const { open } = setup();
  const c = open();
  t.is(c.get("maxCurrent"), 16);
  t.deepEqual(c.get("localIds"), []);
  c.set("maxCurrent", 20);
  c.set("freeMode", true);
  c.set("csmsUrl", "wss://csms.example/cp7");
  c.set("localIds", ["A1", "B2"]);
  c.set("protocol", "ocpp2.0.1");
  const d = open();
  t.deepEqual(d.all(), { maxCurrent: 20, phases: 3, freeMode: true, csmsUrl: "wss://csms.example/cp7", protocol: "ocpp2.0.1", localIds: ["A1", "B2"] });
  // returned arrays are copies
  d.get("localIds").push("X");
  t.deepEqual(d.get("localIds"), ["A1", "B2"]);
  d.reset("maxCurrent");
  t.is(open().get("maxCurrent"), 16);
});

test("set validates and changes nothing on bad input", (t) => {
  const { open } = setup();
  const c = open();
  t.throws(() => c.set("maxCurrent", 40), { instanceOf: RangeError });
  t.throws(() => c.set("maxCurrent", 10.5), { instanceOf: RangeError });
  t.throws(() => c.set("maxCurrent", NaN), { instanceOf: TypeError });
  t.throws(() => c.set("maxCurrent", "10" as unknown as number), { instanceOf: TypeError });
  t.throws(() => c.set("phases", 2), { instanceOf: RangeError });
  t.throws(() => c.set("protocol", "ocpp3"), { instanceOf: RangeError });
  t.throws(() => c.set("localIds", ["x".repeat(21)]), { instanceOf: RangeError });
  t.throws(() => c.set("localIds", [1 as unknown as string]), { instanceOf: TypeError });
  t.throws(() => c.set("nope" as "freeMode", true), { instanceOf: RangeError });
  t.throws(() => c.set("csmsUrl", "x".repeat(201)), { instanceOf: RangeError });
  t.is(c.get("maxCurrent"), 16);
  t.deepEqual(open().all(), c.all());
});

test("corrupt or out-of-range stored values fall back to defaults and are reported", (t) => {
  const { sim, open } = setup();
  const kv = sim.storage.keyValue.open({ path: "config" });
  kv.set("maxCurrent", "99");
  kv.set("phases", "{bad json");
  kv.set("freeMode", '"yes"');
  kv.set("protocol", '"ocpp1.6"');
  kv.set("localIds", '["ok", 5]');
  kv.set("stray", "1");
  const reports: Array<[string, string]> = [];
  const c = open((k, r) => reports.push([k, r]));
  t.is(c.get("maxCurrent"), 16);
  t.is(c.get("phases"), 3);
  t.is(c.get("freeMode"), false);
  t.is(c.get("protocol"), "ocpp1.6");
  t.deepEqual(c.get("localIds"), []);
  t.deepEqual(reports.map(([k]) => k).sort(), ["freeMode", "localIds", "maxCurrent", "phases", "stray"]);
  t.regex(reports.find(([k]) => k === "maxCurrent")?.[1] ?? "", /above maximum/);
});

test("a bad schema throws; a power cut during set leaves old or new", (t) => {
  const kv = new SimStorage().storage.keyValue.open({ path: "c" });
  t.throws(() => new ConfigStore(kv, { x: { type: "number", default: 50, max: 10 } }), { instanceOf: RangeError });
  t.throws(() => new ConfigStore(kv, { waytoolongkey1234: { type: "boolean", default: true } }), { instanceOf: RangeError });
  const { sim, open } = setup();
  const c = open();
  c.set("maxCurrent", 10);
  sim.powerCut({ op: 1, when: "during" });
  t.throws(() => c.set("maxCurrent", 12), { instanceOf: PowerCutError });
  sim.reboot();
  t.true([10, 12].includes(open().get("maxCurrent")));
});
