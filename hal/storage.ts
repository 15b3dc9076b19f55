/**
 * Storage, shaped after ECMA-419 storage: open({path}) returns an instance.
 *
 * Flash has NOR semantics and the firmware must respect them: erased bytes read 0xFF, write() can only
 * clear bits (a write over non-erased bytes ANDs), eraseBlock() sets a whole block to 0xFF. A power cut
 * during write() or eraseBlock() may leave the affected range partially written ("torn"). The
 * simulator enforces all of this, with power-cut injection.
 */
import type { BufferLike, IoInstance } from "./common.js";

export interface FlashOpenOptions {
  /** The partition name, e.g. "journal" or "config". Unknown: throws. */
  path: string;
}

export interface FlashStatus {
  /** Bytes in the partition. */
  size: number;
  /** Erase block size in bytes. */
  blockLength: number;
}

export interface Flash extends IoInstance {
  /** Reads `byteLength` bytes at `byteOffset`. Out of range: throws RangeError. */
  read(byteLength: number, byteOffset: number): ArrayBuffer;
  /** Programs bytes at `byteOffset` (NOR: bits can only go from 1 to 0). Out of range: throws RangeError. */
  write(buffer: BufferLike, byteOffset: number): void;
  /** Erases blocks `first` through `last` (inclusive; default `first`) to 0xFF. */
  eraseBlock(first: number, last?: number): void;
  status(): FlashStatus;
}

export interface KeyValueOpenOptions {
  /** The store's name (namespace). */
  path: string;
}

/**
 * A small persistent key-value store (NVS on ESP32, Preference in Moddable). Each set() is atomic:
 * after a power cut a key holds either its old or its new value. Keys are at most 15 characters.
 */
export interface KeyValue extends IoInstance {
  /** The stored string, or undefined. */
  get(key: string): string | undefined;
  /** Stores a string value (at most 4000 bytes UTF-8). Throws on a bad key or an oversize value. */
  set(key: string, value: string): void;
  delete(key: string): void;
  /** Every key in the store. */
  keys(): string[];
}

export interface Storage {
  flash: { open(options: FlashOpenOptions): Flash };
  keyValue: { open(options: KeyValueOpenOptions): KeyValue };
}
