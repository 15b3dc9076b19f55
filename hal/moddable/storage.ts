/**
 * Storage: flash partitions through ECMA-419 "embedded:storage/flash" (ESP32 data partitions by name, see
 * esp32/partitions.csv; on the lin host build the manifest maps that specifier to lin/flash.ts, a RAM flash),
 * key-value through Moddable's "preference" module (NVS on ESP32).
 */
import FlashStorage from "embedded:storage/flash";
import Preference from "preference";
import type { BufferLike, Flash, FlashOpenOptions, FlashStatus, KeyValue, KeyValueOpenOptions, Storage } from "../index.js";

class PartitionFlash implements Flash {
  #flash: ReturnType<typeof FlashStorage.open> | undefined;
  constructor(options: FlashOpenOptions) {
    this.#flash = FlashStorage.open({ path: options.path, mode: "r+" });
  }
  #live() {
    return this.#flash ?? (() => { throw new Error("closed"); })();
  }
  read(byteLength: number, byteOffset: number): ArrayBuffer {
    return this.#live().read(byteLength, byteOffset);
  }
  write(buffer: BufferLike, byteOffset: number): void {
    this.#live().write(buffer, byteOffset);
  }
  /** The HAL's `last` is inclusive; ECMA-419's `end` is exclusive. */
  eraseBlock(first: number, last: number = first): void {
    const flash = this.#live();
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < first) throw new RangeError("eraseBlock");
    flash.eraseBlock(first, last + 1);
  }
  status(): FlashStatus {
    const { size, blockLength } = this.#live().status();
    return { size, blockLength };
  }
  close(): void {
    this.#flash?.close();
    this.#flash = undefined;
  }
}

/** NVS key/namespace rule. (A function, not a module-level RegExp: RegExp instances cannot be preloaded.) */
const validKey = (key: string): boolean => /^[A-Za-z0-9_.-]{1,15}$/.test(key);

class PreferenceStore implements KeyValue {
  #domain: string | undefined;
  constructor(options: KeyValueOpenOptions) {
    if (!validKey(options.path)) throw new RangeError("key-value path: 1..15 characters [A-Za-z0-9_.-]");
    this.#domain = options.path;
  }
  #live(key?: string): string {
    if (this.#domain === undefined) throw new Error("closed");
    if (key !== undefined && !validKey(key)) throw new RangeError("key: 1..15 characters [A-Za-z0-9_.-]");
    return this.#domain;
  }
  get(key: string): string | undefined {
    const value = Preference.get(this.#live(key), key);
    return typeof value === "string" ? value : undefined;
  }
  set(key: string, value: string): void {
    const domain = this.#live(key);
    if (typeof value !== "string" || ArrayBuffer.fromString(value).byteLength > 4000) throw new RangeError("value: a string of at most 4000 bytes");
    Preference.set(domain, key, value);
  }
  delete(key: string): void {
    Preference.delete(this.#live(key), key);
  }
  keys(): string[] {
    return Preference.keys(this.#live());
  }
  close(): void {
    this.#domain = undefined;
  }
}

export const moddableStorage: Storage = {
  flash: { open: (options) => new PartitionFlash(options) },
  keyValue: { open: (options) => new PreferenceStore(options) },
};
