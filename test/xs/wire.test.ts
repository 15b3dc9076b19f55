/** The bridge's wire encoding and the HAL recorder, in-process (no XS needed). */
import test from "ava";
import { assignInto, decodeMessage, encodeMessage, fromHex, toHex } from "../../tools/xs/wire.js";
import { recordHal, recordValue, type HalRecord } from "../../simulator/hal-recorder.js";
import { makeFakeHal } from "./fixtures/fake-hal.js";

test("wire: every tagged kind survives encode → decode", (t) => {
  const v = {
    ab: new Uint8Array([0, 1, 254, 255]).buffer,
    u8: new Uint8Array([9, 8, 7]).subarray(1),
    dv: new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2),
    f64: new Float64Array([1.5, -2]),
    nums: [NaN, Infinity, -Infinity, -0, 0, 1e-300],
    undef: undefined,
    holey: [1, undefined, null],
    big: -(2n ** 80n),
    $dollar: { $b: "not binary" },
    err: new RangeError("boom"),
    text: "é€😀\u0000\u2028",
  };
  const back = decodeMessage(encodeMessage(v)) as typeof v;
  t.true(back.ab instanceof ArrayBuffer);
  t.is(toHex(new Uint8Array(back.ab)), "0001feff");
  t.true(back.u8 instanceof Uint8Array);
  t.deepEqual([...back.u8], [8, 7]);
  t.true(back.dv instanceof DataView);
  t.is(toHex(new Uint8Array(back.dv.buffer)), "0203");
  t.true(back.f64 instanceof Float64Array);
  t.deepEqual([...back.f64], [1.5, -2]);
  t.true(Number.isNaN(back.nums[0]));
  t.deepEqual(back.nums.slice(1), [Infinity, -Infinity, -0, 0, 1e-300]);
  t.true(Object.is(back.nums[3], -0));
  t.true("undef" in back);
  t.is(back.undef, undefined);
  t.deepEqual(back.holey, [1, undefined, null]);
  t.is(back.big, -(2n ** 80n));
  t.deepEqual(back.$dollar, { $b: "not binary" });
  t.true(back.err instanceof RangeError);
  t.is(back.err.message, "boom");
  t.is(back.text, v.text);
});

test("wire: functions cannot cross, bad hex is rejected", (t) => {
  t.throws(() => encodeMessage({ f: () => 1 }), { instanceOf: TypeError });
  t.throws(() => fromHex("abc"), { instanceOf: SyntaxError });
  t.throws(() => fromHex("zz"), { instanceOf: SyntaxError });
});

test("wire: assignInto fills the caller's object and nested arrays in place", (t) => {
  const voltage = [0, 0, 0];
  const into = { voltage, frequency: 0 };
  assignInto(into, { voltage: [230, 231, 232], frequency: 50 });
  t.is(into.voltage, voltage);
  t.deepEqual(into, { voltage: [230, 231, 232], frequency: 50 });
});

test("recorder: constructors, calls, getters, errors and callbacks are reported; `this` is the stand-in", async (t) => {
  const world = makeFakeHal(3);
  const records: Array<HalRecord & { t: number }> = [];
  const hal = recordHal(world.hal, (f) => records.push({ t: world.scheduler.now, ...f }));
  let self: unknown = null;
  const c = new hal.io.Contactor({
    contactor: 0,
    onReadable(this: unknown) {
      self = this;
    },
  });
  c.write(1);
  t.throws(() => c.write(3 as 1), { instanceOf: RangeError });
  t.is(c.commanded, 1);
  const digest = hal.crypto.sha256(new Uint8Array([1, 2, 3]));
  t.is(digest.byteLength, 32);
  await world.scheduler.run(100);
  t.is(self, c);
  t.deepEqual(
    records.map((r) => [r.t, r.dev, r.op, r.cb ?? r.error ?? ""]),
    [
      [0, "Contactor#1", "new", ""],
      [0, "Contactor#1", "write", ""],
      [0, "Contactor#1", "write", "RangeError: Contactor: bad value 3"],
      [0, "Contactor#1", "get commanded", ""],
      [0, "crypto", "sha256", ""],
      [20, "Contactor#1", "cb", "onReadable"],
    ],
  );
  t.is(records[4]!.args[0], "010203");
  t.is(records[4]!.ret, "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81");
  t.deepEqual(recordValue([NaN, -0, undefined, new Uint8Array([255])]), ["NaN", 0, null, "ff"]);
});
