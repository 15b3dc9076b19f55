import test from "ava";
import { PowerCutError, SimKeyValue, SimStorage } from "../../simulator/storage/index.js";

test("get/set/delete/keys per namespace", (t) => {
  const kv = new SimKeyValue();
  const a = kv.open({ path: "a" });
  const b = kv.open({ path: "b" });
  a.set("k", "v");
  t.is(a.get("k"), "v");
  t.is(b.get("k"), undefined);
  t.is(kv.open({ path: "a" }).get("k"), "v");
  a.set("k2", "");
  t.deepEqual(a.keys().sort(), ["k", "k2"]);
  a.delete("k");
  a.delete("missing");
  t.deepEqual(a.keys(), ["k2"]);
});

test("key and value limits", (t) => {
  const a = new SimKeyValue().open({ path: "a" });
  a.set("123456789012345", "x");
  t.throws(() => a.set("1234567890123456", "x"), { instanceOf: RangeError });
  t.throws(() => a.set("", "x"), { instanceOf: RangeError });
  t.throws(() => a.set(5 as unknown as string, "x"), { instanceOf: TypeError });
  t.throws(() => a.set("k", 5 as unknown as string), { instanceOf: TypeError });
  a.set("k", "x".repeat(4000));
  t.throws(() => a.set("k", "x".repeat(4001)), { instanceOf: RangeError });
  t.throws(() => a.set("k", "é".repeat(2001)), { instanceOf: RangeError });
  a.set("k", "é".repeat(2000));
  t.throws(() => a.set("k", "😀".repeat(1001)), { instanceOf: RangeError });
  const inst = new SimKeyValue().open({ path: "z" });
  inst.close();
  t.throws(() => inst.get("a"), { message: /closed/ });
});

test("set is atomic under power cuts", (t) => {
  for (const [when, torn, expected] of [
    ["before", undefined, "old"],
    ["after", undefined, "new"],
    ["during", 0, "old"],
    ["during", 1, "new"],
  ] as const) {
    const s = new SimStorage();
    const kv = s.storage.keyValue.open({ path: "n" });
    kv.set("k", "old");
    s.powerCut({ op: 1, when, tornBytes: torn });
    t.throws(() => kv.set("k", "new"), { instanceOf: PowerCutError });
    t.throws(() => kv.keys(), { instanceOf: PowerCutError });
    s.reboot();
    t.is(s.storage.keyValue.open({ path: "n" }).get("k"), expected, `${when} ${torn}`);
  }
});
