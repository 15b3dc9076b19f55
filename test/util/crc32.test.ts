import test from "ava";
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32 } from "../../firmware/util/crc32.js";
import { Rng } from "../../simulator/rng.js";

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

test("known vectors", (t) => {
  t.is(crc32(new Uint8Array(0)), 0);
  t.is(crc32(ascii("123456789")), 0xcbf43926);
  t.is(crc32(ascii("The quick brown fox jumps over the lazy dog")), 0x414fa339);
});

test("matches zlib on random data; incremental and ranged forms agree", (t) => {
  const seed = 0xc3c3;
  const rng = new Rng(seed);
  for (let i = 0; i < 200; i++) {
    const data = rng.bytes(rng.int(0, 300));
    const whole = crc32(data);
    t.is(whole, zlibCrc32(data) >>> 0, `seed ${seed} case ${i}`);
    const cut = rng.int(0, data.length);
    t.is(crc32(data.subarray(cut), crc32(data.subarray(0, cut))), whole);
    t.is(crc32(data, crc32(data, 0, 0, cut), cut, data.length), whole);
  }
});
