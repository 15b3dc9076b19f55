/**
 * ConfigStore: typed configuration over the KeyValue HAL, validated against a schema.
 *
 *  - Schema: key (<= 15 chars, the KeyValue limit) -> { type, default, min?, max?, integer?, enum?, maxLength? }
 *    with type "number" | "boolean" | "string" | "string[]". min/max bound numbers; maxLength bounds a
 *    string's length (and each element of a string[]); enum lists the allowed values (for string[]: per
 *    element). The defaults are checked when the store is created (a bad default throws: a programming error).
 *  - Values are stored as JSON text, one KeyValue key per config key (each set() is atomic).
 *  - On load (construction), a stored value that does not parse, has the wrong type or is out of range is
 *    ignored: the default is used and `onInvalid(key, reason)` is called. Stored keys not in the schema are
 *    reported the same way and left alone.
 *  - set() validates and throws (TypeError for a wrong type, RangeError for out of range / unknown key)
 *    without changing anything; a valid value is stored then cached.
 */
import type { KeyValue } from "../../hal/storage.js";

export type ConfigType = "number" | "boolean" | "string" | "string[]";

export interface ConfigField {
  type: ConfigType;
  default: number | boolean | string | readonly string[];
  min?: number;
  max?: number;
  /** Numbers only: must be an integer. */
  integer?: boolean;
  enum?: readonly (string | number)[];
  /** Strings (and string[] elements): maximum length in characters. */
  maxLength?: number;
}

export type ConfigSchema = Record<string, ConfigField>;

export type ConfigValue<F extends ConfigField> = F["type"] extends "number"
  ? number
  : F["type"] extends "boolean"
    ? boolean
    : F["type"] extends "string"
      ? string
      : string[];

export type ConfigValues<S extends ConfigSchema> = { [K in keyof S]: ConfigValue<S[K]> };

export interface ConfigStoreOptions {
  onInvalid?: (key: string, reason: string) => void;
}

/** Returns why `v` does not fit `f`, or undefined when it does. */
export function checkConfigValue(f: ConfigField, v: unknown): string | undefined {
  switch (f.type) {
    case "number":
      if (typeof v !== "number" || !Number.isFinite(v)) return "not a finite number";
      if (f.integer && !Number.isInteger(v)) return "not an integer";
      if (f.min !== undefined && v < f.min) return `below minimum ${f.min}`;
      if (f.max !== undefined && v > f.max) return `above maximum ${f.max}`;
      if (f.enum && !f.enum.includes(v)) return "not one of the allowed values";
      return undefined;
    case "boolean":
      return typeof v === "boolean" ? undefined : "not a boolean";
    case "string":
      if (typeof v !== "string") return "not a string";
      if (f.maxLength !== undefined && v.length > f.maxLength) return `longer than ${f.maxLength}`;
      if (f.enum && !f.enum.includes(v)) return "not one of the allowed values";
      return undefined;
    case "string[]":
      if (!Array.isArray(v)) return "not an array";
      for (const x of v) {
        if (typeof x !== "string") return "element not a string";
        if (f.maxLength !== undefined && x.length > f.maxLength) return `element longer than ${f.maxLength}`;
        if (f.enum && !f.enum.includes(x)) return "element not one of the allowed values";
      }
      return undefined;
    default:
      return "unknown type in schema";
  }
}

const TYPE_PROBLEMS = ["not a finite number", "not a boolean", "not a string", "not an array", "element not a string"];

function copy(v: unknown): unknown {
  return Array.isArray(v) ? v.slice() : v;
}

export class ConfigStore<S extends ConfigSchema> {
  private readonly values = new Map<string, unknown>();

  constructor(private readonly kv: KeyValue, private readonly schema: S, private readonly options: ConfigStoreOptions = {}) {
    for (const key of Object.keys(schema)) {
      if (key.length === 0 || key.length > 15) throw new RangeError(`config schema: key "${key}" must be 1..15 characters`);
      const why = checkConfigValue(schema[key], schema[key].default);
      if (why) throw new RangeError(`config schema: default of "${key}" ${why}`);
    }
    this.load();
  }

  /** (Re)reads every key from the KeyValue store. */
  load(): void {
    const report = (key: string, reason: string): void => {
      if (this.options.onInvalid) this.options.onInvalid(key, reason);
    };
    this.values.clear();
    for (const key of Object.keys(this.schema)) {
      const f = this.schema[key];
      let value: unknown = copy(f.default);
      const raw = this.kv.get(key);
      if (raw !== undefined) {
        let parsed: unknown;
        let ok = true;
        try {
          parsed = JSON.parse(raw);
        } catch {
          ok = false;
          report(key, "stored value is not valid JSON");
        }
        if (ok) {
          const why = checkConfigValue(f, parsed);
          if (why) report(key, `stored value ${why}`);
          else value = parsed;
        }
      }
      this.values.set(key, value);
    }
    for (const key of this.kv.keys()) {
      if (!Object.prototype.hasOwnProperty.call(this.schema, key)) report(key, "unknown key");
    }
  }

  get<K extends keyof S & string>(key: K): ConfigValue<S[K]> {
    if (!this.values.has(key)) throw new RangeError(`config: unknown key "${key}"`);
    return copy(this.values.get(key)) as ConfigValue<S[K]>;
  }

  /** Validates and stores. Throws TypeError (wrong type) or RangeError (range, enum, unknown key, too big). */
  set<K extends keyof S & string>(key: K, value: ConfigValue<S[K]>): void {
    const f = Object.prototype.hasOwnProperty.call(this.schema, key) ? this.schema[key] : undefined;
    if (!f) throw new RangeError(`config: unknown key "${key}"`);
    const why = checkConfigValue(f, value);
    if (why) {
      const typeProblem = TYPE_PROBLEMS.includes(why);
      throw typeProblem ? new TypeError(`config ${key}: ${why}`) : new RangeError(`config ${key}: ${why}`);
    }
    const text = JSON.stringify(value);
    this.kv.set(key, text);
    this.values.set(key, copy(value));
  }

  /** Forgets the stored value: the default applies again. */
  reset<K extends keyof S & string>(key: K): void {
    const f = Object.prototype.hasOwnProperty.call(this.schema, key) ? this.schema[key] : undefined;
    if (!f) throw new RangeError(`config: unknown key "${key}"`);
    this.kv.delete(key);
    this.values.set(key, copy(f.default));
  }

  /** A snapshot of every value. */
  all(): ConfigValues<S> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.values) out[k] = copy(v);
    return out as ConfigValues<S>;
  }
}
