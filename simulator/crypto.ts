/**
 * SimCrypto: the simulated Crypto HAL (hal/crypto.ts).
 *
 *  - sha256 via node:crypto.
 *  - ECDSA P-256 / SHA-256 signing implemented with BigInt and DETERMINISTIC nonces (RFC 6979, HMAC-SHA256),
 *    so the same key and message give the same signature on every run. Signatures are not low-s normalized
 *    (RFC 6979 output as is; node:crypto and most verifiers accept both).
 *  - Device private keys are derived deterministically from (seed, keyName): d = HMAC-SHA256(seedKey,
 *    "p256-device-key:" + keyName + ":" + counter) taken as an integer, retried with counter+1 until
 *    1 <= d < n. They never leave this object (only `privateKeyForTests` exposes them, for tests).
 *  - verify via node:crypto (JWK public key, dsaEncoding "ieee-p1363"); malformed keys/signatures
 *    give false, a non-buffer argument throws TypeError.
 *  - randomBytes from the seeded Rng (deterministic; NOT cryptographically strong — simulation only).
 */
import { createHash, createHmac, createPublicKey, verify as nodeVerify } from "node:crypto";
import type { BufferLike } from "../hal/common.js";
import type { Crypto } from "../hal/crypto.js";
import { Rng } from "./rng.js";

// ---- P-256 domain parameters (SEC 2 / FIPS 186-4) ----
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const A = P - 3n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function invert(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError("not invertible");
  return mod(oldS, m);
}

/** Jacobian point (X, Y, Z); Z = 0 is the point at infinity. */
type Jac = [bigint, bigint, bigint];
const INF: Jac = [1n, 1n, 0n];

function jDouble(p: Jac): Jac {
  const [x, y, z] = p;
  if (z === 0n || y === 0n) return INF;
  const yy = mod(y * y, P);
  const s = mod(4n * x * yy, P);
  const zz = mod(z * z, P);
  const m = mod(3n * x * x + A * zz * zz, P);
  const x3 = mod(m * m - 2n * s, P);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, P);
  const z3 = mod(2n * y * z, P);
  return [x3, y3, z3];
}

function jAdd(p: Jac, q: Jac): Jac {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const [x1, y1, z1] = p;
  const [x2, y2, z2] = q;
  const z1z1 = mod(z1 * z1, P);
  const z2z2 = mod(z2 * z2, P);
  const u1 = mod(x1 * z2z2, P);
  const u2 = mod(x2 * z1z1, P);
  const s1 = mod(y1 * z2 * z2z2, P);
  const s2 = mod(y2 * z1 * z1z1, P);
  if (u1 === u2) return s1 === s2 ? jDouble(p) : INF;
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const hh = mod(h * h, P);
  const hhh = mod(h * hh, P);
  const v = mod(u1 * hh, P);
  const x3 = mod(r * r - hhh - 2n * v, P);
  const y3 = mod(r * (v - x3) - s1 * hhh, P);
  const z3 = mod(h * z1 * z2, P);
  return [x3, y3, z3];
}

function toAffine(p: Jac): [bigint, bigint] {
  if (p[2] === 0n) throw new RangeError("point at infinity");
  const zi = invert(p[2], P);
  const zi2 = mod(zi * zi, P);
  return [mod(p[0] * zi2, P), mod(p[1] * zi2 * zi, P)];
}

function scalarMul(k: bigint, px: bigint, py: bigint): [bigint, bigint] {
  let acc: Jac = INF;
  const base: Jac = [px, py, 1n];
  for (let i = BigInt(k.toString(2).length - 1); i >= 0n; i--) {
    acc = jDouble(acc);
    if ((k >> i) & 1n) acc = jAdd(acc, base);
  }
  return toAffine(acc);
}

/** True if (x, y) is on P-256 (exported for tests). */
export function onCurve(x: bigint, y: bigint): boolean {
  return mod(y * y - (x * x * x + A * x + B), P) === 0n;
}

// ---- byte helpers ----
function toBytes(b: BufferLike, what: string): Uint8Array {
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  throw new TypeError(`crypto: ${what} must be an ArrayBuffer, Uint8Array or DataView`);
}

function bytesToBig(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

function bigTo32(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function toArrayBuffer(u: Uint8Array): ArrayBuffer {
  return u.slice().buffer;
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function b64url(u: Uint8Array): string {
  return Buffer.from(u).toString("base64url");
}

/** RFC 6979 deterministic ECDSA P-256 with SHA-256. Returns [r, s]. Exported for tests. */
export function signDeterministic(d: bigint, message: Uint8Array): [bigint, bigint] {
  if (d <= 0n || d >= N) throw new RangeError("private key out of range");
  const h1 = new Uint8Array(createHash("sha256").update(message).digest());
  const e = bytesToBig(h1); // qlen == hlen == 256: bits2int is the plain integer
  const x = bigTo32(d);
  const h1o = bigTo32(mod(e, N)); // bits2octets
  let V: Uint8Array = new Uint8Array(32).fill(1);
  let K: Uint8Array = new Uint8Array(32);
  K = hmac(K, V, Uint8Array.of(0), x, h1o);
  V = hmac(K, V);
  K = hmac(K, V, Uint8Array.of(1), x, h1o);
  V = hmac(K, V);
  for (;;) {
    V = hmac(K, V);
    const k = bytesToBig(V);
    if (k >= 1n && k < N) {
      const [rx] = scalarMul(k, GX, GY);
      const r = mod(rx, N);
      if (r !== 0n) {
        const s = mod(invert(k, N) * (e + r * d), N);
        if (s !== 0n) return [r, s];
      }
    }
    K = hmac(K, V, Uint8Array.of(0));
    V = hmac(K, V);
  }
}

/** The public point of private key d (exported for tests). */
export function publicPoint(d: bigint): [bigint, bigint] {
  return scalarMul(d, GX, GY);
}

export interface SimCryptoOptions {
  /** Seed for key derivation and randomBytes. Default 1. */
  seed?: number;
  /** Use this Rng for randomBytes instead of one derived from the seed. */
  rng?: Rng;
}

export class SimCrypto implements Crypto {
  private readonly seedKey: Uint8Array;
  private readonly rng: Rng;
  private readonly keys = new Map<string, { d: bigint; pub: Uint8Array }>();
  /** sign() calls so far. */
  signatures = 0;

  constructor(options: SimCryptoOptions = {}) {
    const seed = (options.seed ?? 1) >>> 0;
    this.seedKey = new Uint8Array(createHash("sha256").update(`sim-crypto-seed:${seed}`).digest());
    this.rng = options.rng ?? new Rng(seed).fork("crypto.randomBytes");
  }

  private key(keyName: string): { d: bigint; pub: Uint8Array } {
    if (typeof keyName !== "string" || keyName.length === 0) throw new TypeError("crypto: keyName must be a non-empty string");
    let k = this.keys.get(keyName);
    if (!k) {
      let d = 0n;
      for (let counter = 0; d <= 0n || d >= N; counter++) {
        d = bytesToBig(hmac(this.seedKey, new Uint8Array(Buffer.from(`p256-device-key:${keyName}:${counter}`, "utf8"))));
      }
      const [x, y] = publicPoint(d);
      const pub = new Uint8Array(65);
      pub[0] = 4;
      pub.set(bigTo32(x), 1);
      pub.set(bigTo32(y), 33);
      k = { d, pub };
      this.keys.set(keyName, k);
    }
    return k;
  }

  sha256(data: BufferLike): ArrayBuffer {
    const u = toBytes(data, "data");
    return toArrayBuffer(new Uint8Array(createHash("sha256").update(u).digest()));
  }

  sign(keyName: string, message: BufferLike): ArrayBuffer {
    const m = toBytes(message, "message");
    const { d } = this.key(keyName);
    const [r, s] = signDeterministic(d, m);
    this.signatures++;
    const out = new Uint8Array(64);
    out.set(bigTo32(r), 0);
    out.set(bigTo32(s), 32);
    return out.buffer;
  }

  publicKey(keyName: string): ArrayBuffer {
    return toArrayBuffer(this.key(keyName).pub);
  }

  verify(publicKey: BufferLike, message: BufferLike, signature: BufferLike): boolean {
    const pk = toBytes(publicKey, "publicKey");
    const m = toBytes(message, "message");
    const sig = toBytes(signature, "signature");
    if (pk.length !== 65 || pk[0] !== 4 || sig.length !== 64) return false;
    const x = pk.subarray(1, 33);
    const y = pk.subarray(33, 65);
    const bx = bytesToBig(x), by = bytesToBig(y);
    if (bx >= P || by >= P || !onCurve(bx, by)) return false;
    try {
      const key = createPublicKey({ key: { kty: "EC", crv: "P-256", x: b64url(x), y: b64url(y) }, format: "jwk" });
      return nodeVerify("sha256", m, { key, dsaEncoding: "ieee-p1363" }, sig);
    } catch {
      return false;
    }
  }

  randomBytes(byteLength: number): ArrayBuffer {
    if (!Number.isSafeInteger(byteLength) || byteLength < 0 || byteLength > 65536) {
      throw new RangeError("crypto.randomBytes: byteLength must be an integer in 0..65536");
    }
    return this.rng.bytes(byteLength).buffer as ArrayBuffer;
  }

  /** Test hook: the derived private key of a named key. Simulation only. */
  privateKeyForTests(keyName: string): bigint {
    return this.key(keyName).d;
  }
}
