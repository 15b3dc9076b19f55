import test from "ava";
import { Decoder, Encoder } from "cbor-x";
import { CborError, decodeCbor, decodeCborPrefix, encodeCbor } from "../../firmware/util/cbor.js";
import { Rng } from "../../simulator/rng.js";

const hex = (u: Uint8Array): string => Buffer.from(u).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

/** A comparable form: byte strings as hex, maps and plain objects as entry lists, NaN / -0 spelled out. */
function norm(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v); // cbor-x gives 8-byte integers as bigint
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : v;
  if (v instanceof Uint8Array) return { bytes: hex(v) };
  if (Array.isArray(v)) return v.map(norm);
  if (v instanceof Map) return { map: Array.from(v, ([k, x]) => [norm(k), norm(x)]) };
  if (v !== null && typeof v === "object") return { map: Object.entries(v).map(([k, x]) => [k, norm(x)]) };
  return v;
}

function randomString(rng: Rng): string {
  const n = rng.int(0, 12);
  let s = "";
  for (let i = 0; i < n; i++) {
    const kind = rng.int(0, 4);
    if (kind <= 1) s += String.fromCharCode(rng.int(0x20, 0x7e));
    else if (kind === 2) s += String.fromCharCode(rng.int(0x80, 0x7ff));
    else if (kind === 3) s += String.fromCharCode(rng.int(0x800, 0xd7ff));
    else s += String.fromCodePoint(rng.int(0x10000, 0x10ffff));
  }
  return s;
}

function randomNumber(rng: Rng): number {
  switch (rng.int(0, 6)) {
    case 0: return rng.int(0, 23);
    case 1: return rng.int(-300, 300);
    case 2: return rng.int(-(2 ** 32), 2 ** 32);
    case 3: return rng.int(0, 9) === 0 ? rng.pick([2 ** 53, -(2 ** 53)]) : rng.int(-(2 ** 53 - 1), 2 ** 53 - 1);
    case 4: return (rng.float() - 0.5) * 10 ** rng.int(-30, 30);
    case 5: return rng.pick([Infinity, -Infinity, 0.5, 1e300, 5e-324]);
    default: return rng.int(0, 0xffff);
  }
}

/** Random values; `intKeyMaps` adds Maps with integer keys (which cbor-x only encodes with a tag). */
function randomValue(rng: Rng, depth: number, intKeyMaps: boolean): unknown {
  const k = rng.int(0, depth > 3 ? 5 : 9);
  switch (k) {
    case 0: return randomNumber(rng);
    case 1: return randomString(rng);
    case 2: return rng.bytes(rng.int(0, 20));
    case 3: return rng.pick([true, false, null, undefined]);
    case 4: return randomNumber(rng);
    case 5: return randomString(rng);
    case 6:
    case 7: return Array.from({ length: rng.int(0, 5) }, () => randomValue(rng, depth + 1, intKeyMaps));
    case 8: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(0, 5); i > 0; i--) o[randomString(rng) || "k"] = randomValue(rng, depth + 1, intKeyMaps);
      return o;
    }
    default: {
      if (!intKeyMaps) return [];
      const m = new Map<string | number, unknown>();
      m.set(rng.int(-1000, 1000), randomValue(rng, depth + 1, intKeyMaps));
      for (let i = rng.int(0, 3); i > 0; i--) m.set(rng.pick([rng.int(-(2 ** 40), 2 ** 40), randomString(rng)]), randomValue(rng, depth + 1, intKeyMaps));
      return m;
    }
  }
}

test("fixed encodings (RFC 8949 Appendix A)", (t) => {
  const cases: Array<[unknown, string]> = [
    [0, "00"], [23, "17"], [24, "1818"], [100, "1864"], [1000, "1903e8"], [1000000, "1a000f4240"],
    [1000000000000, "1b000000e8d4a51000"], [-1, "20"], [-10, "29"], [-100, "3863"], [-1000, "3903e7"],
    [1.1, "fb3ff199999999999a"], [-4.1, "fbc010666666666666"], [Infinity, "fb7ff0000000000000"],
    [false, "f4"], [true, "f5"], [null, "f6"], [undefined, "f7"],
    [new Uint8Array([1, 2, 3, 4]), "4401020304"], ["", "60"], ["a", "6161"], ["IETF", "6449455446"],
    ["\u00fc", "62c3bc"], ["\u6c34", "63e6b0b4"], ["\ud800\udd51", "64f0908591"],
    [[], "80"], [[1, [2, 3], [4, 5]], "8301820203820405"], [{}, "a0"], [{ a: 1, b: [2, 3] }, "a26161016162820203"],
    [new Map([[1, 2], [3, 4]]), "a201020304"],
  ];
  for (const [v, h] of cases) {
    t.is(hex(encodeCbor(v)), h, String(h));
    t.deepEqual(norm(decodeCbor(unhex(h))), norm(v), h);
  }
  // lone surrogate encodes as U+FFFD; -0 and beyond-2^53 integers go as float64
  t.is(hex(encodeCbor("\ud800")), "63efbfbd");
  t.is(hex(encodeCbor(-0)), "fb8000000000000000");
  t.is(hex(encodeCbor(2 ** 53)), "1b0020000000000000");
  t.is(hex(encodeCbor(2 ** 53 + 2)), "fb4340000000000001");
  t.is(decodeCbor(unhex("1b0020000000000000")), 2 ** 53);
});

test("decodes float16 and float32", (t) => {
  t.is(decodeCbor(unhex("f93c00")), 1);
  t.is(decodeCbor(unhex("f93e00")), 1.5);
  t.is(decodeCbor(unhex("f97bff")), 65504);
  t.is(decodeCbor(unhex("f90001")), 5.960464477539063e-8);
  t.is(decodeCbor(unhex("f90400")), 0.00006103515625);
  t.is(decodeCbor(unhex("f9c400")), -4);
  t.is(decodeCbor(unhex("f97c00")), Infinity);
  t.true(Number.isNaN(decodeCbor(unhex("f97e00"))));
  t.true(Object.is(decodeCbor(unhex("f98000")), -0));
  t.is(decodeCbor(unhex("fa47c35000")), 100000);
  t.is(decodeCbor(unhex("fa7f7fffff")), 3.4028234663852886e38);
});

test("rejects malformed and unsupported input with CborError and the offset", (t) => {
  const bad: Array<[string, number, RegExp]> = [
    ["", 0, /truncated/],
    ["18", 0, /truncated/],
    ["1b00000000", 0, /truncated/],
    ["62c3", 0, /truncated/],
    ["8301", 0, /count exceeds/],
    ["820118", 2, /truncated/],
    ["a26161016162", 6, /truncated/],
    ["1c", 0, /reserved/],
    ["5f", 0, /indefinite/],
    ["9f01ff", 0, /indefinite/],
    ["ff", 0, /break/],
    ["c074", 0, /tags/],
    ["f0", 0, /simple/],
    ["f820", 0, /simple/],
    ["1b0020000000000001", 0, /2\^53/],
    ["3b0020000000000000", 0, /-2\^53/],
    ["5affffffff", 0, /truncated/],
    ["9bffffffffffffffff", 0, /2\^53/],
    ["9a7fffffff00", 0, /count exceeds/],
    ["ba7fffffff0000", 0, /count exceeds/],
    ["62c0af", 1, /UTF-8/],
    ["63eda080", 1, /UTF-8/],
    ["62ff41", 1, /UTF-8/],
    ["62e282", 1, /truncated UTF-8/],
    ["a2616101616102", 4, /duplicate/],
    ["a14000", 1, /key/],
    ["a18001", 1, /key/],
    ["0000", 1, /trailing/],
  ];
  for (const [h, offset, msg] of bad) {
    const e = t.throws(() => decodeCbor(unhex(h)), { instanceOf: CborError }, h);
    t.is(e?.offset, offset, h);
    t.regex(e?.message ?? "", msg, h);
  }
  t.throws(() => encodeCbor(1n), { instanceOf: CborError });
  t.throws(() => encodeCbor(new Date()), { instanceOf: CborError });
  t.throws(() => encodeCbor(new Map([[[1], 1]])), { instanceOf: CborError });
  const cyc: unknown[] = [];
  cyc.push(cyc);
  t.throws(() => encodeCbor(cyc), { instanceOf: CborError });
});

test("maxDepth limits nesting both ways; __proto__ stays an own key", (t) => {
  const deep = unhex("81".repeat(40) + "01");
  t.throws(() => decodeCbor(deep), { instanceOf: CborError, message: /maxDepth/ });
  t.is((decodeCbor(deep, { maxDepth: 40 }) as unknown[]).length, 1);
  t.throws(() => decodeCbor(unhex("818101"), { maxDepth: 1 }), { instanceOf: CborError });
  t.throws(() => encodeCbor([[[1]]], { maxDepth: 2 }), { instanceOf: CborError });
  const o = decodeCbor(unhex("a1695f5f70726f746f5f5fa1617801")) as Record<string, unknown>;
  t.is(Object.getPrototypeOf(o), Object.prototype);
  t.deepEqual(Object.keys(o), ["__proto__"]);
  t.is(({} as Record<string, unknown>).x, undefined);
  const p = decodeCborPrefix(unhex("0102"));
  t.deepEqual(p, { value: 1, length: 1 });
});

/**
 * cbor-x 1.6.0 decodes a negative integer with a 4-byte argument >= 2^31 (-2^32 .. -2^31-1) wrongly
 * (0x3a9c71bf7d gives 1670267010 instead of -2624700286). Values with such integers skip that one check.
 */
function inCborxBugRange(v: unknown): boolean {
  if (typeof v === "number") return Number.isInteger(v) && v >= -(2 ** 32) && v <= -(2 ** 31) - 1;
  if (Array.isArray(v)) return v.some(inCborxBugRange);
  if (v instanceof Map) return Array.from(v).some(([k, x]) => inCborxBugRange(k) || inCborxBugRange(x));
  if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) return Object.values(v).some(inCborxBugRange);
  return false;
}

test("negative 32-bit arguments decode per RFC 8949 (-1 - n)", (t) => {
  t.is(decodeCbor(unhex("3a9c71bf7d")), -2624700286);
  t.is(hex(encodeCbor(-2624700286)), "3a9c71bf7d");
  t.is(decodeCbor(unhex("3affffffff")), -(2 ** 32));
});

test("cross-check with cbor-x: ours -> cbor-x and cbor-x -> ours", (t) => {
  const seed = 0x5eed;
  const rng = new Rng(seed);
  const xdec = new Decoder({ mapsAsObjects: false, useRecords: false });
  const xenc = new Encoder({ tagUint8Array: false, useRecords: false, variableMapSize: true });
  let skipped = 0;
  for (let i = 0; i < 2000; i++) {
    const v = randomValue(rng, 0, true);
    const ours = encodeCbor(v);
    if (inCborxBugRange(v)) skipped++;
    else t.deepEqual(norm(xdec.decode(Buffer.from(ours))), norm(v), `seed ${seed} case ${i}: ours -> cbor-x ${hex(ours)}`);
    t.deepEqual(norm(decodeCbor(ours)), norm(v), `seed ${seed} case ${i}: round trip`);
    const w = randomValue(rng, 0, false);
    const theirs = new Uint8Array(xenc.encode(w));
    // cbor-x writes -0 as the integer 0
    t.deepEqual(norm(decodeCbor(theirs)), norm(xdec.decode(Buffer.from(theirs))), `seed ${seed} case ${i}: cbor-x -> ours ${hex(theirs)}`);
  }
  t.true(skipped < 200, `skipped ${skipped}`);
});

test("fuzz: 20,000 random and mutated inputs never escape as anything but CborError", (t) => {
  const seed = 0xf022;
  const rng = new Rng(seed);
  const corpus = Array.from({ length: 64 }, () => encodeCbor(randomValue(rng, 0, true)));
  let decoded = 0, rejected = 0;
  for (let i = 0; i < 20000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) input = rng.bytes(rng.int(0, 48));
    else {
      input = rng.pick(corpus).slice();
      const edits = rng.int(1, 4);
      for (let e = 0; e < edits; e++) {
        const op = rng.int(0, 3);
        if (op === 0 && input.length) input[rng.int(0, input.length - 1)] = rng.int(0, 255);
        else if (op === 1 && input.length) input[rng.int(0, input.length - 1)] ^= 1 << rng.int(0, 7);
        else if (op === 2) input = input.subarray(0, rng.int(0, input.length));
        else {
          const at = rng.int(0, input.length);
          const ins = rng.bytes(rng.int(1, 9));
          const next = new Uint8Array(input.length + ins.length);
          next.set(input.subarray(0, at));
          next.set(ins, at);
          next.set(input.subarray(at), at + ins.length);
          input = next;
        }
      }
    }
    try {
      const v = decodeCbor(input);
      decoded++;
      // whatever decodes re-encodes and decodes to the same value
      const again = decodeCbor(encodeCbor(v));
      if (JSON.stringify(norm(again)) !== JSON.stringify(norm(v))) t.fail(`seed ${seed} case ${i}: ${hex(input)} does not round-trip`);
    } catch (e) {
      if (!(e instanceof CborError)) t.fail(`seed ${seed} case ${i}: ${hex(input)} threw ${String(e)}`);
      else if (e.offset < 0 || e.offset > input.length) t.fail(`seed ${seed} case ${i}: offset ${e.offset} out of range`);
      rejected++;
    }
  }
  t.is(decoded + rejected, 20000);
  t.true(decoded > 1000 && rejected > 1000, `decoded ${decoded}, rejected ${rejected}`);
});

test("hostile lengths do not allocate: a 2^32 byte-string head with 5 bytes of input fails at once", (t) => {
  const e = t.throws(() => decodeCbor(unhex("5b00000000ffffffff")), { instanceOf: CborError });
  t.is(e?.offset, 0);
  const e2 = t.throws(() => decodeCbor(unhex("9b00000000ffffffff")), { instanceOf: CborError });
  t.regex(e2?.message ?? "", /count exceeds/);
});
