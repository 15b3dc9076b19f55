/**
 * Bit-packed EXI streams: a reader and a writer over a Uint8Array (MSB first), reusable across messages, with
 * no per-bit allocation. Both throw ExiError carrying the bit position; the codec adds the grammar state.
 */

export class ExiError extends Error {
  /** Bit offset in the stream where the problem was found (header included). */
  readonly bit: number;
  /** Label of the grammar state (e.g. "CurrentDemandReqType: after EVTargetCurrent"), "" outside a state. */
  state: string;
  constructor(message: string, bit: number, state = "") {
    super(`${message} at bit ${bit}${state ? ` in state ${state}` : ""}`);
    this.name = "ExiError";
    this.bit = bit;
    this.state = state;
  }
}

const TWO32 = 4294967296;

export class BitReader {
  buf: Uint8Array = new Uint8Array(0);
  /** Current bit position. */
  pos = 0;
  /** Length in bits. */
  end = 0;

  reset(buf: Uint8Array): void {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length * 8;
  }

  fail(message: string): never {
    throw new ExiError(message, this.pos);
  }

  /** n <= 32 bits as an unsigned number. */
  bits(n: number): number {
    let pos = this.pos;
    if (pos + n > this.end) this.fail("unexpected end of stream");
    const buf = this.buf;
    let v = 0;
    while (n > 0) {
      const off = pos & 7;
      const avail = 8 - off;
      const take = n < avail ? n : avail;
      const chunk = (buf[pos >> 3]! >> (avail - take)) & ((1 << take) - 1);
      v = v * (1 << take) + chunk;
      pos += take;
      n -= take;
    }
    this.pos = pos;
    return v;
  }

  bit(): number {
    const pos = this.pos;
    if (pos >= this.end) this.fail("unexpected end of stream");
    this.pos = pos + 1;
    return (this.buf[pos >> 3]! >> (7 - (pos & 7))) & 1;
  }

  /** EXI Unsigned Integer (7-bit groups, least significant first); at most 2^53 - 1. */
  uint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.bits(8);
      v += (b & 127) * mul;
      if ((b & 128) === 0) {
        if (v > Number.MAX_SAFE_INTEGER) this.fail("unsigned integer too large");
        return v;
      }
      mul *= 128;
    }
    return this.fail("unsigned integer too large");
  }

  remaining(): number {
    return this.end - this.pos;
  }
}

export class BitWriter {
  buf: Uint8Array;
  /** Bits written. */
  pos = 0;
  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
  }

  reset(): void {
    this.pos = 0;
    this.buf.fill(0);
  }

  private grow(bits: number): void {
    const need = (this.pos + bits + 7) >> 3;
    if (need <= this.buf.length) return;
    let n = this.buf.length * 2;
    while (n < need) n *= 2;
    const b = new Uint8Array(n);
    b.set(this.buf);
    this.buf = b;
  }

  /** Writes the n <= 32 low bits of v (v >= 0). */
  bits(v: number, n: number): void {
    if (n === 0) return;
    this.grow(n);
    let pos = this.pos;
    const buf = this.buf;
    while (n > 0) {
      const off = pos & 7;
      const avail = 8 - off;
      const take = n < avail ? n : avail;
      const shift = n - take;
      const chunk = shift >= 24 ? Math.floor(v / 2 ** shift) & ((1 << take) - 1) : ((v >>> shift) & ((1 << take) - 1));
      buf[pos >> 3] = buf[pos >> 3]! | (chunk << (avail - take));
      pos += take;
      n -= take;
    }
    this.pos = pos;
  }

  uint(v: number): void {
    for (;;) {
      const low = v % 128;
      v = (v - low) / 128;
      if (v === 0) {
        this.bits(low, 8);
        return;
      }
      this.bits(low | 128, 8);
    }
  }

  /** The bytes written so far (a view: valid until the next reset or write). */
  view(): Uint8Array {
    return this.buf.subarray(0, (this.pos + 7) >> 3);
  }
}

export { TWO32 };
