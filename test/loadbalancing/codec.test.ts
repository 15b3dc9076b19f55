import test from "ava";
import { encode as cborXEncode } from "cbor-x";
import { decodeAllocation, decodeHeartbeat, decodeMeter, encodeAllocation, encodeHeartbeat, encodeMeter } from "../../firmware/loadbalancing/codec.js";

const enc = new TextEncoder();

test("heartbeat round trip; the id must be the topic's", (t) => {
  const hb = { id: "CP-1", act: true, ln: 7, want: 32, use: 12.34, al: 16 };
  const bytes = encodeHeartbeat(hb);
  t.deepEqual(decodeHeartbeat(bytes, "CP-1"), { ...hb, use: 12.3 });
  t.is(typeof decodeHeartbeat(bytes, "CP-2"), "string");
});

test("allocation round trip", (t) => {
  const a = { by: "CP-1", seq: 7, a: [["CP-1", 10] as [string, number], ["CP-2", 6.5] as [string, number]], q: ["CP-2", "CP-1"] };
  t.deepEqual(decodeAllocation(encodeAllocation(a)), a);
});

test("bad heartbeats and allocations are refused with a reason", (t) => {
  const bad: Array<[string, Uint8Array]> = [
    ["garbage", new Uint8Array([0xff, 0x00])],
    ["not a map", cborXEncode([1, 2]) as Uint8Array],
    ["version", cborXEncode({ v: 2, id: "CP-1", act: true, ln: 7, want: 1, use: 1, al: 1 }) as Uint8Array],
    ["lines", cborXEncode({ v: 1, id: "CP-1", act: true, ln: 3, want: 1, use: 1, al: 1 }) as Uint8Array],
    ["negative", cborXEncode({ v: 1, id: "CP-1", act: true, ln: 7, want: -1, use: 1, al: 1 }) as Uint8Array],
    ["NaN", cborXEncode({ v: 1, id: "CP-1", act: true, ln: 7, want: NaN, use: 1, al: 1 }) as Uint8Array],
  ];
  for (const [what, b] of bad) t.is(typeof decodeHeartbeat(b, "CP-1"), "string", what);
  t.is(typeof decodeAllocation(cborXEncode({ v: 1, by: "CP 1", seq: 1, a: [], q: [] }) as Uint8Array), "string");
  t.is(typeof decodeAllocation(cborXEncode({ v: 1, by: "CP-1", seq: 1, a: [["CP-2", 6], ["CP-2", 7]], q: [] }) as Uint8Array), "string");
  t.is(typeof decodeAllocation(cborXEncode({ v: 1, by: "CP-1", seq: -1, a: [], q: [] }) as Uint8Array), "string");
});

test("site meter feed: JSON object or array; anything else refused", (t) => {
  t.deepEqual(decodeMeter(enc.encode('{"amps":[10,11.5,12]}')), [10, 11.5, 12]);
  t.deepEqual(decodeMeter(enc.encode("[20]")), [20, 20, 20]);
  t.deepEqual(decodeMeter(encodeMeter([1.26, 2, 3])), [1.3, 2, 3]);
  for (const s of ["", "{}", '{"amps":[]}', '{"amps":[1,2,3,4]}', '{"amps":["1"]}', "[-1]", "[1e9]", "nope"]) t.is(typeof decodeMeter(enc.encode(s)), "string", s);
});
