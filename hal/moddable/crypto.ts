/**
 * Crypto over Moddable's crypt modules: Digest("SHA256"), the platform RNG, and the pure-JS ECDSA over
 * secp256r1 (crypt/etc). Device keys are P-256 private scalars kept in Preference domain "hal.keys" (NVS; use
 * NVS encryption / flash encryption in production) — there is no secure-element module in Moddable.
 */
import { Digest } from "crypt";
import Curve from "curve";
import ECDSA from "ecdsa";
import ECPoint from "ecp";
import Preference from "preference";
import RNG from "rng";
import type { BufferLike, Crypto } from "../index.js";

const KEYS = "hal.keys";
/** secp256r1 field prime and curve constant b (a = -3), to reject public keys that are not on the curve. */
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const onCurve = (x: bigint, y: bigint): boolean => x < P && y < P && (y * y - (x * x * x - 3n * x + B)) % P === 0n;

/** A copy of exactly the bytes viewed (never the whole backing buffer of a view). */
export function toArrayBuffer(data: BufferLike): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer;
}

export class ModdableCrypto implements Crypto {
  #curve = new Curve("secp256r1");
  sha256(data: BufferLike): ArrayBuffer {
    const digest = new Digest("SHA256");
    digest.write(toArrayBuffer(data));
    return digest.close();
  }
  randomBytes(byteLength: number): ArrayBuffer {
    if (!Number.isInteger(byteLength) || byteLength < 0 || byteLength > 4096) throw new RangeError("randomBytes length");
    return byteLength ? RNG.get(byteLength) : new ArrayBuffer(0);
  }
  /** The named private key, created (1 <= d < n) and stored on first use. */
  #privateKey(keyName: string): ArrayBuffer {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(keyName)) throw new RangeError("key name");
    const stored = Preference.get(KEYS, keyName);
    if (stored instanceof ArrayBuffer && stored.byteLength === 32) return stored;
    let d: bigint;
    do d = BigInt.fromArrayBuffer(RNG.get(32)) as bigint;
    while (d === 0n || d >= this.#curve.n);
    const key = ArrayBuffer.fromBigInt(d);
    const padded = new Uint8Array(32);
    padded.set(new Uint8Array(key), 32 - key.byteLength);
    Preference.set(KEYS, keyName, padded.buffer);
    return padded.buffer;
  }
  sign(keyName: string, message: BufferLike): ArrayBuffer {
    const d = BigInt.fromArrayBuffer(this.#privateKey(keyName)) as bigint;
    return new ECDSA(d, this.#curve).sign(this.sha256(message));
  }
  publicKey(keyName: string): ArrayBuffer {
    return this.#curve.dh(this.#privateKey(keyName));
  }
  verify(publicKey: BufferLike, message: BufferLike, signature: BufferLike): boolean {
    const q = new Uint8Array(toArrayBuffer(publicKey));
    if (q.byteLength !== 65 || q[0] !== 4 || signature.byteLength !== 64) return false;
    try {
      const x = BigInt.fromArrayBuffer(q.slice(1, 33).buffer) as bigint;
      const y = BigInt.fromArrayBuffer(q.slice(33).buffer) as bigint;
      if (!onCurve(x, y)) return false;
      return new ECDSA(new ECPoint(x, y), this.#curve).verify(this.sha256(message), toArrayBuffer(signature));
    } catch {
      return false;
    }
  }
}
