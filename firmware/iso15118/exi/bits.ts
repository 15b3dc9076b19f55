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
    const pos = this.pos;
    const end = pos + n;
    if (end > this.end) this.fail("unexpected end of stream");
    if (n > 24) {
      const hi = this.bits(n - 16);
      return hi * 65536 + this.bits(16);
    }
    const buf = this.buf;
    let i = pos >> 3;
    let have = 8 - (pos & 7);
    let v = buf[i]! & ((1 << have) - 1);
    while (have < n) {
      v = (v << 8) | buf[++i]!;
      have += 8;
    }
    this.pos = end;
    return v >>> (have - n);
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
    // clear only what the previous message used
    this.buf.fill(0, 0, (this.pos + 7) >> 3);
    this.pos = 0;
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
    if (n > 24) {
      this.bits(Math.floor(v / 65536), n - 16);
      this.bits(v & 0xffff, 16);
      return;
    }
    const pos = this.pos;
    const end = pos + n;
    if (end + 7 > this.buf.length * 8) this.grow(n);
    const buf = this.buf;
    // left-align the value at the current bit, then or it in byte by byte
    let i = pos >> 3;
    let room = 8 - (pos & 7);
    let left = n;
    while (left > 0) {
      if (left <= room) {
        buf[i] = buf[i]! | ((v & ((1 << left) - 1)) << (room - left));
        break;
      }
      left -= room;
      buf[i] = buf[i]! | ((v >>> left) & ((1 << room) - 1));
      i++;
      room = 8;
    }
    this.pos = end;
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

