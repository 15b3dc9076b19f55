/**
 * "embedded:storage/flash" for the lin host build (Moddable has no flash module there): RAM partitions with
 * NOR semantics (erased = 0xFF, write ANDs, eraseBlock(start, end) with `end` exclusive as in ECMA-419).
 * Contents are lost at exit. The manifest maps the specifier to this module on lin only.
 */
const SIZES: Record<string, number> = { journal: 256 * 1024, config: 64 * 1024 };
const BLOCK = 4096;
const partitions = new Map<string, Uint8Array>();

class RamFlash {
  #bytes: Uint8Array | undefined;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  #range(byteOffset: number, byteLength: number): Uint8Array {
    const bytes = this.#bytes;
    if (!bytes) throw new Error("closed");
    if (!Number.isInteger(byteOffset) || !Number.isInteger(byteLength) || byteOffset < 0 || byteLength < 0 || byteOffset + byteLength > bytes.length)
      throw new RangeError("out of range");
    return bytes.subarray(byteOffset, byteOffset + byteLength);
  }
  read(byteLength: number, byteOffset: number): ArrayBuffer {
    return this.#range(byteOffset, byteLength).slice().buffer;
  }
  write(buffer: ArrayBuffer | Uint8Array | DataView, byteOffset: number): void {
    const source = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const target = this.#range(byteOffset, source.length);
    for (let i = 0; i < source.length; i++) target[i] &= source[i];
  }
  eraseBlock(start: number, end: number = start + 1): void {
    this.#range(start * BLOCK, (end - start) * BLOCK).fill(0xff);
  }
  status(): { size: number; blockLength: number } {
    return { size: this.#range(0, 0) && this.#bytes!.length, blockLength: BLOCK };
  }
  close(): void {
    this.#bytes = undefined;
  }
}

export default {
  open(options: { path: string }): RamFlash {
    const size = SIZES[options.path];
    if (size === undefined) throw new Error("can't find partition");
    let bytes = partitions.get(options.path);
    if (!bytes) partitions.set(options.path, (bytes = new Uint8Array(size).fill(0xff)));
    return new RamFlash(bytes);
  },
};
