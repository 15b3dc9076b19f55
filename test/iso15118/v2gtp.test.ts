import test from "ava";
import * as v from "../../firmware/iso15118/v2gtp/header.js";
import { Rng } from "../../simulator/rng.js";

test("header: serialize and check", (t) => {
  const msg = v.v2gtpMessage(v.PAYLOAD_EXI, new Uint8Array([0x80, 0x00, 0xdb]));
  t.deepEqual([...msg], [0x01, 0xfe, 0x80, 0x01, 0, 0, 0, 3, 0x80, 0x00, 0xdb]);
  const h = { payloadType: 0, payloadLength: 0 };
  t.is(v.checkV2gtpHeader(msg, 0, 100, h), "ok");
  t.deepEqual(h, { payloadType: 0x8001, payloadLength: 3 });
  t.is(v.checkV2gtpHeader(msg, 0, 2, h), "length");
  t.is(v.checkV2gtpHeader(msg.subarray(0, 7), 0, 100, h), "short");
  t.is(v.checkV2gtpHeader(Uint8Array.of(1, 0xfd, 0x80, 1, 0, 0, 0, 0), 0, 100, h), "version");
  t.is(v.checkV2gtpHeader(Uint8Array.of(2, 0xfd, 0x80, 1, 0, 0, 0, 0), 0, 100, h), "version");
  t.is(v.checkV2gtpHeader(Uint8Array.of(1, 0xfe, 0x80, 0x07, 0, 0, 0, 0), 0, 100, h), "type");
  t.is(v.checkV2gtpHeader(Uint8Array.of(1, 0xfe, 0x90, 0x00, 0, 0, 0, 2), 0, 100, h, [v.PAYLOAD_EXI]), "type");
  for (const type of [0x8001, 0x8002, 0x8003, 0x8004, 0x8005, 0x8006, 0x9000, 0x9001, 0x9002, 0x9003]) t.true(v.isKnownPayloadType(type));
  // A length beyond 2^31 is read unsigned and refused by the limit.
  t.is(v.checkV2gtpHeader(Uint8Array.of(1, 0xfe, 0x80, 1, 0xff, 0xff, 0xff, 0xff), 0, 65536, h), "length");
  t.is(h.payloadLength, 0xffffffff);
  t.throws(() => v.writeV2gtpHeader(new Uint8Array(8), 0, 0x10000, 0), { instanceOf: RangeError });
});

test("framer: messages split and joined at every boundary come out whole and in order", (t) => {
  const seed = 0x15118;
  const rng = new Rng(seed);
  for (let round = 0; round < 50; round++) {
    const payloads = Array.from({ length: rng.int(1, 6) }, () => rng.bytes(rng.int(0, 3000)).slice());
    const stream = Buffer.concat(payloads.map((p, i) => v.v2gtpMessage(i % 2 ? v.PAYLOAD_ISO20_MAIN : v.PAYLOAD_EXI, p)));
    const got: [number, string][] = [];
    const f = new v.V2gtpFramer(4096, (type, payload) => got.push([type, Buffer.from(payload).toString("hex")]));
    for (let at = 0; at < stream.length; ) {
      const n = rng.int(1, 700);
      t.is(f.push(stream.subarray(at, at + n)), "ok", `seed ${seed} round ${round}`);
      at += n;
    }
    t.deepEqual(got, payloads.map((p, i) => [i % 2 ? 0x8002 : 0x8001, Buffer.from(p).toString("hex")] as [number, string]), `seed ${seed} round ${round}`);
  }
});

test("framer: a bad header kills the stream (the owner closes the connection); nothing after it is delivered", (t) => {
  const got: number[] = [];
  const f = new v.V2gtpFramer(100, (type) => got.push(type));
  t.is(f.push(v.v2gtpMessage(v.PAYLOAD_EXI, new Uint8Array(5))), "ok");
  t.is(f.push(Uint8Array.of(1, 0xfe, 0x80, 1, 0, 0, 0, 101)), "length");
  t.is(f.push(v.v2gtpMessage(v.PAYLOAD_EXI, new Uint8Array(5))), "length");
  t.is(f.error, "length");
  t.deepEqual(got, [0x8001]);
  const g = new v.V2gtpFramer(100, () => t.fail());
  t.is(g.push(Uint8Array.of(0x47, 0x45, 0x54, 0x20)), "ok"); // "GET " — not enough for a header yet
  t.is(g.push(Uint8Array.of(0x2f, 0x20, 0x48, 0x54)), "version");
  const onlyExi = new v.V2gtpFramer(100, () => t.fail(), [v.PAYLOAD_EXI]);
  t.is(onlyExi.push(v.v2gtpMessage(v.PAYLOAD_SDP_REQ, new Uint8Array(2))), "type");
  t.throws(() => new v.V2gtpFramer(0, () => undefined), { instanceOf: RangeError });
});

test("framer: an empty payload is a message", (t) => {
  const got: number[] = [];
  const f = new v.V2gtpFramer(10, (_type, p) => got.push(p.length));
  f.push(v.v2gtpMessage(v.PAYLOAD_EXI, new Uint8Array(0)));
  f.push(v.v2gtpMessage(v.PAYLOAD_EXI, new Uint8Array(10)));
  t.deepEqual(got, [0, 10]);
});
