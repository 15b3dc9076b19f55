/**
 * Seeded, deterministic pseudo-random numbers for the simulator (and anything else that must replay).
 *
 * Platform-neutral: no Node imports, so it also runs inside XS.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state), seeded by
 * splitmix32 from a 32-bit seed. Not cryptographic.
 *
 * `fork(label)` derives an independent stream from this generator's SEED and the label (not from its
 * current position), so adding or removing draws in one stream never perturbs another, and
 * `rng.fork("ev")` is the same stream whenever it is called. Forks of forks compose the labels.
 */

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [state, z >>> 0];
}

/** FNV-1a over the UTF-16 code units of a string, mixed with a 32-bit value. */
function hashLabel(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche so that similar labels give unrelated seeds
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

export class Rng {
  /** The 32-bit seed this stream was created from. */
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (typeof seed !== "number" || !Number.isFinite(seed)) throw new TypeError("Rng: seed must be a finite number");
    this.seed = seed >>> 0;
    let s = this.seed;
    let v: number;
    [s, v] = splitmix32(s); this.a = v;
    [s, v] = splitmix32(s); this.b = v;
    [s, v] = splitmix32(s); this.c = v;
    [s, v] = splitmix32(s); this.d = v;
    // warm up, as recommended for sfc32
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  next(): number {
    let a = this.a | 0, b = this.b | 0, c = this.c | 0, d = this.d | 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a; this.b = b; this.c = c; this.d = d;
    return t >>> 0;
  }

  /** A float in [0, 1) with 53 bits of randomness. */
  float(): number {
    const hi = this.next() >>> 5; // 27 bits
    const lo = this.next() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniformly distributed integer in [lo, hi] (both inclusive). Unbiased (rejection sampling). */
  int(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) throw new RangeError("Rng.int: bounds must be safe integers");
    if (hi < lo) throw new RangeError(`Rng.int: empty range [${lo}, ${hi}]`);
    const span = hi - lo + 1;
    if (span <= 0x100000000) {
      if (span === 0x100000000) return lo + this.next();
      // rejection sampling to avoid modulo bias
      const limit = 0x100000000 - (0x100000000 % span);
      for (;;) {
        const x = this.next();
        if (x < limit) return lo + (x % span);
      }
    }
    // wide ranges: 53-bit float is good enough and stays within safe integers
    return lo + Math.floor(this.float() * span);
  }

  /** A uniformly chosen element. Empty array: throws RangeError. */
  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError("Rng.pick: empty array");
    return arr[this.int(0, arr.length - 1)] as T;
  }

  /** An independent stream derived deterministically from this stream's seed and `label`. */
  fork(label: string): Rng {
    return new Rng(hashLabel(this.seed, String(label)));
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError("Rng.bytes: bad length");
    const out = new Uint8Array(n);
    let i = 0;
    while (i + 4 <= n) {
      const x = this.next();
      out[i++] = x & 0xff;
      out[i++] = (x >>> 8) & 0xff;
      out[i++] = (x >>> 16) & 0xff;
      out[i++] = x >>> 24;
    }
    if (i < n) {
      let x = this.next();
      while (i < n) { out[i++] = x & 0xff; x >>>= 8; }
    }
    return out;
  }
}
