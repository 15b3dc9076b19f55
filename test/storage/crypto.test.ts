import test from "ava";
import { createPublicKey, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { SimCrypto, onCurve, publicPoint, signDeterministic } from "../../simulator/crypto.js";

const hex = (u: ArrayBuffer | Uint8Array): string => Buffer.from(u instanceof Uint8Array ? u : new Uint8Array(u)).toString("hex");
const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"));

test("RFC 6979 A.2.5: P-256 / SHA-256 vectors for 'sample' and 'test'", (t) => {
  const x = 0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721n;
  const [ux, uy] = publicPoint(x);
  t.is(ux, 0x60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6n);
  t.is(uy, 0x7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299n);
  const [r, s] = signDeterministic(x, enc("sample"));
  t.is(r, 0xefd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716n);
  t.is(s, 0xf7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8n);
  const [r2, s2] = signDeterministic(x, enc("test"));
  t.is(r2, 0xf1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367n);
  t.is(s2, 0x019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083n);
});

test("sha256", (t) => {
  const c = new SimCrypto();
  t.is(hex(c.sha256(enc("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  t.is(hex(c.sha256(new ArrayBuffer(0))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

test("device keys are deterministic per (seed, name); signatures verify with node:crypto", (t) => {
  const a = new SimCrypto({ seed: 7 });
  const b = new SimCrypto({ seed: 7 });
  const c = new SimCrypto({ seed: 8 });
  t.is(hex(a.publicKey("meter")), hex(b.publicKey("meter")));
  t.not(hex(a.publicKey("meter")), hex(c.publicKey("meter")));
  t.not(hex(a.publicKey("meter")), hex(a.publicKey("tls")));
  const pub = new Uint8Array(a.publicKey("meter"));
  t.is(pub.length, 65);
  t.is(pub[0], 4);
  t.true(onCurve(BigInt("0x" + hex(pub.subarray(1, 33))), BigInt("0x" + hex(pub.subarray(33)))));
  for (let i = 0; i < 5; i++) {
    const msg = enc(`meter value ${i}`);
    const sig = a.sign("meter", msg);
    t.is(sig.byteLength, 64);
    t.is(hex(sig), hex(b.sign("meter", msg)), "same signature run to run");
    const key = createPublicKey({ key: Buffer.concat([Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"), pub]), format: "der", type: "spki" });
    t.true(nodeVerifyRaw(key, msg, new Uint8Array(sig)));
    t.true(a.verify(pub, msg, sig));
    t.false(a.verify(pub, enc("tampered"), sig));
    const bad = new Uint8Array(sig);
    bad[10] ^= 1;
    t.false(a.verify(pub, msg, bad));
  }
});

import { verify as nodeVerify, type KeyObject } from "node:crypto";
function nodeVerifyRaw(key: KeyObject, msg: Uint8Array, sig: Uint8Array): boolean {
  return nodeVerify("sha256", msg, { key, dsaEncoding: "ieee-p1363" }, sig);
}

test("verify accepts node:crypto signatures and rejects malformed input without throwing", (t) => {
  const c = new SimCrypto();
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const pub = new Uint8Array(Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, "base64url"), Buffer.from(jwk.y as string, "base64url")]));
  const msg = enc("hello");
  const sig = new Uint8Array(nodeSign("sha256", msg, { key: privateKey, dsaEncoding: "ieee-p1363" }));
  t.true(c.verify(pub, msg, sig));
  t.true(c.verify(pub.buffer, new DataView(msg.buffer), sig.buffer));
  t.false(c.verify(pub.subarray(0, 64), msg, sig));
  t.false(c.verify(new Uint8Array(65).fill(4), msg, sig), "point not on the curve");
  t.false(c.verify(pub, msg, sig.subarray(0, 63)));
  t.false(c.verify(pub, msg, new Uint8Array(64)));
  t.throws(() => c.verify("x" as unknown as Uint8Array, msg, sig), { instanceOf: TypeError });
  t.throws(() => c.sign("", msg), { instanceOf: TypeError });
});

test("randomBytes is seeded", (t) => {
  const a = new SimCrypto({ seed: 1 }), b = new SimCrypto({ seed: 1 }), c = new SimCrypto({ seed: 2 });
  t.is(hex(a.randomBytes(16)), hex(b.randomBytes(16)));
  t.not(hex(a.randomBytes(16)), hex(c.randomBytes(16)));
  t.is(a.randomBytes(0).byteLength, 0);
  t.throws(() => a.randomBytes(-1), { instanceOf: RangeError });
});
