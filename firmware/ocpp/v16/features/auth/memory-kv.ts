/** A RAM key-value store with the HAL's KeyValue shape, for a board that has no persistent one. */
import type { KeyValue } from "../../../../../hal/index.js";

export class MemoryKeyValue implements KeyValue {
  private readonly map = new Map<string, string>();

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  set(key: string, value: string): void {
    this.map.set(key, value);
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  close(): void {
    this.map.clear();
  }
}
