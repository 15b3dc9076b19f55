/**
 * SimStorage: the simulated `Storage` HAL (flash + key-value) on one power domain, persistable as one
 * file image.
 *
 *   const sim = new SimStorage({ partitions: { journal: { size: 64 * 1024 } }, seed });
 *   hal.storage = sim.storage;
 *   sim.powerCut({ op: 3, when: "during" });   // the 3rd mutating op from now is torn
 *   ... firmware runs, a call throws PowerCutError, every later call too ...
 *   sim.reboot();                              // restart the firmware on the same image
 */
import type { Storage } from "../../hal/storage.js";
import { Rng } from "../rng.js";
import { SimFlash, type PartitionSpec } from "./flash.js";
import { loadImageFile, saveImageFile, type StorageImage } from "./image.js";
import { SimKeyValue } from "./kv.js";
import { PowerDomain, type PowerCutEvent, type PowerCutPlan } from "./power.js";

export { SimFlash, type PartitionSpec } from "./flash.js";
export { SimKeyValue } from "./kv.js";
export { PowerCutError, PowerDomain, type PowerCutPlan, type PowerCutEvent } from "./power.js";
export type { StorageImage } from "./image.js";

export interface SimStorageOptions {
  partitions?: Record<string, PartitionSpec>;
  /** Seed for torn-length draws. Default 1. */
  seed?: number;
  /** Start from this image (partitions in the image replace `partitions`). */
  image?: StorageImage;
}

export class SimStorage {
  readonly domain: PowerDomain;
  readonly flash: SimFlash;
  readonly keyValue: SimKeyValue;
  /** The HAL object to hand to the firmware. */
  readonly storage: Storage;

  constructor(options: SimStorageOptions = {}) {
    this.domain = new PowerDomain(new Rng(options.seed ?? 1).fork("power"));
    this.flash = new SimFlash({ partitions: options.partitions ?? {}, domain: this.domain });
    this.keyValue = new SimKeyValue({ domain: this.domain });
    if (options.image) this.restore(options.image);
    this.storage = { flash: this.flash, keyValue: this.keyValue };
  }

  powerCut(plan: PowerCutPlan): void {
    this.domain.schedule(plan);
  }

  /** Cuts the power immediately (between operations). */
  cutNow(): void {
    this.domain.cutNow();
  }

  reboot(): void {
    this.domain.reboot();
  }

  get isPowerDown(): boolean {
    return this.domain.isDown;
  }

  countOps(): number {
    return this.domain.countOps();
  }

  set onPowerCut(cb: ((event: PowerCutEvent) => void) | undefined) {
    this.domain.onPowerCut = cb;
  }

  snapshot(): StorageImage {
    return { partitions: this.flash.snapshot(), keyValue: this.keyValue.snapshot() };
  }

  restore(image: StorageImage): void {
    this.flash.restore(image.partitions);
    this.keyValue.restore(image.keyValue);
  }

  save(path: string): void {
    saveImageFile(path, this.snapshot());
  }

  static load(path: string, options: Omit<SimStorageOptions, "image" | "partitions"> = {}): SimStorage {
    return new SimStorage({ ...options, image: loadImageFile(path) });
  }
}
