/**
 * A small deterministic PRNG for the firmware's own randomness (back-off jitter, message-id prefixes).
 * Seeded once at boot from the HAL's crypto.randomBytes, so on the device it is unpredictable and in the
 * simulator (seeded HAL) every run is the same run. Not for keys or nonces: those come from the HAL.
 */
export class Prng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  static fromBytes(bytes: ArrayBuffer): Prng {
    const v = new Uint8Array(bytes);
    let seed = 0;
    for (let i = 0; i < v.length && i < 4; i++) seed = (seed << 8) | v[i]!;
    return new Prng(seed);
  }

  /** Uniform uint32 (mulberry32). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }
}
