/**
 * OCPP 1.6 configuration keys (GetConfiguration / ChangeConfiguration): each feature defines the keys it
 * owns, with type, access and reboot flags; values are validated and persisted through the key-value HAL.
 *
 * Types follow the spec's key list: "boolean", "integer" (with an optional range), "string", "csl"
 * (comma-separated list, optionally restricted to `values` and to `maxItems`).
 */
import type { KeyValue } from "../../../hal/index.js";

export type KeyType = "boolean" | "integer" | "string" | "csl";

export interface KeyDefinition {
  type: KeyType;
  /** Default value, in the wire form (OCPP 1.6 transports every value as a string). */
  default: string;
  readonly?: boolean;
  /** A change takes effect after a reboot (ChangeConfiguration answers RebootRequired). */
  reboot?: boolean;
  min?: number;
  max?: number;
  /** For csl: allowed items; for string: allowed values. */
  values?: readonly string[];
  maxItems?: number;
  maxLength?: number;
  /** Not persisted (derived at run time, e.g. a read-only capability). */
  volatile?: boolean;
  /** Write-only (e.g. AuthorizationKey): GetConfiguration lists the key without its value. */
  writeOnly?: boolean;
  /** An extra rule checked after the type's (why the value is refused, or null); also applied to stored values. */
  rule?: (value: string) => string | null;
  /** Called after a change was accepted and stored. */
  onChange?: (value: string) => void;
}

export type ChangeResult = "Accepted" | "Rejected" | "RebootRequired" | "NotSupported";

export interface KeyValueEntry {
  key: string;
  readonly: boolean;
  value?: string;
}

/** KeyValue keys are ≤ 15 characters: OCPP keys are stored under a short hash-like index name. */
function storageName(key: string): string {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return "k" + h.toString(36);
}

export class ConfigurationKeys {
  private readonly defs = new Map<string, KeyDefinition>();
  private readonly values = new Map<string, string>();
  /** Keys with stored values that were invalid at load (for diagnostics). */
  readonly invalid: string[] = [];

  constructor(private readonly store: KeyValue | null) {}

  /** Defines a key; the stored value (if valid) wins over the default. Defining a key twice throws. */
  define(key: string, def: KeyDefinition): void {
    if (this.defs.has(key)) throw new Error(`configuration key ${key} defined twice`);
    if (this.check(def, def.default) !== null) throw new Error(`bad default for ${key}: ${this.check(def, def.default)}`);
    this.defs.set(key, def);
    let value = def.default;
    if (this.store && !def.volatile && !def.readonly) {
      const stored = this.store.get(storageName(key));
      if (stored !== undefined) {
        if (this.check(def, stored) === null) value = stored;
        else this.invalid.push(key);
      }
    }
    this.values.set(key, value);
  }

  has(key: string): boolean {
    return this.defs.has(key);
  }

  get(key: string): string {
    const v = this.values.get(key);
    if (v === undefined) throw new Error(`unknown configuration key ${key}`);
    return v;
  }

  getInt(key: string): number {
    return parseInt(this.get(key), 10);
  }

  getBool(key: string): boolean {
    return this.get(key) === "true";
  }

  getList(key: string): string[] {
    const v = this.get(key);
    return v === "" ? [] : v.split(",");
  }

  /** Sets a value from inside the firmware (not the CSMS): validated, persisted, onChange not called. */
  setInternal(key: string, value: string): void {
    const def = this.defs.get(key);
    if (!def) throw new Error(`unknown configuration key ${key}`);
    const why = this.check(def, value);
    if (why !== null) throw new RangeError(`${key}: ${why}`);
    this.values.set(key, value);
    if (this.store && !def.volatile && !def.readonly) this.store.set(storageName(key), value);
  }

  /** ChangeConfiguration semantics. */
  change(key: string, value: string): ChangeResult {
    const def = this.defs.get(key);
    if (!def) return "NotSupported";
    if (def.readonly) return "Rejected";
    const normalised = def.type === "boolean" ? value.toLowerCase() : value;
    if (this.check(def, normalised) !== null) return "Rejected";
    this.values.set(key, normalised);
    if (this.store && !def.volatile) this.store.set(storageName(key), normalised);
    if (def.reboot) return "RebootRequired";
    def.onChange?.(normalised);
    return "Accepted";
  }

  /** GetConfiguration semantics: all keys, or the requested ones (unknown ones listed separately). */
  list(keys?: readonly string[]): { configurationKey: KeyValueEntry[]; unknownKey: string[] } {
    const out: KeyValueEntry[] = [];
    const unknown: string[] = [];
    const wanted = keys && keys.length > 0 ? keys : [...this.defs.keys()];
    for (const k of wanted) {
      const def = this.defs.get(k);
      if (!def) unknown.push(k);
      else if (def.writeOnly) out.push({ key: k, readonly: false });
      else out.push({ key: k, readonly: def.readonly === true, value: this.values.get(k)! });
    }
    return { configurationKey: out, unknownKey: unknown };
  }

  /** Why `value` does not fit the definition, or null. */
  check(def: KeyDefinition, value: string): string | null {
    const why = this.checkType(def, value);
    return why === null && def.rule ? def.rule(value) : why;
  }

  private checkType(def: KeyDefinition, value: string): string | null {
    if (typeof value !== "string") return "not a string";
    if (value.length > 500) return "longer than 500 characters";
    switch (def.type) {
      case "boolean":
        return value === "true" || value === "false" ? null : "not true or false";
      case "integer": {
        if (!/^-?\d+$/.test(value)) return "not an integer";
        const n = parseInt(value, 10);
        if (def.min !== undefined && n < def.min) return `below ${def.min}`;
        if (def.max !== undefined && n > def.max) return `above ${def.max}`;
        return null;
      }
      case "string":
        if (def.maxLength !== undefined && value.length > def.maxLength) return `longer than ${def.maxLength}`;
        if (def.values && !def.values.includes(value)) return "not an allowed value";
        return null;
      case "csl": {
        const items = value === "" ? [] : value.split(",");
        if (def.maxItems !== undefined && items.length > def.maxItems) return `more than ${def.maxItems} items`;
        if (def.values) for (const it of items) if (!def.values.includes(it)) return `${it} is not supported`;
        return null;
      }
    }
  }
}
