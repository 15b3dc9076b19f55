/**
 * Simulated key-value store (NVS / Moddable Preference) implementing the HAL's `Storage["keyValue"]`.
 *
 *  - open({path}) opens a namespace (created on first use); instances of the same namespace share data.
 *  - Keys: strings of 1..15 characters (TypeError if not a string, RangeError if empty or too long).
 *  - Values: strings of at most 4000 bytes UTF-8 (TypeError if not a string, RangeError if longer).
 *  - set()/delete() are atomic and count as mutating operations of the shared PowerDomain: a cut
 *    "before" leaves the old value, "after" the new one (and throws), "during" either (new when
 *    tornBytes > 0, drawn from the domain's Rng when omitted). After a cut every call throws
 *    PowerCutError until reboot(); instances opened before the reboot are stale.
 */
import type { KeyValue, KeyValueOpenOptions, Storage } from "../../hal/storage.js";
import { Rng } from "../rng.js";
import { PowerDomain } from "./power.js";

export const KV_MAX_KEY = 15;
export const KV_MAX_VALUE_BYTES = 4000;

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { n += 4; i++; } else n += 3;
    } else n += 3;
  }
  return n;
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string") throw new TypeError("keyValue: key must be a string");
  if (key.length === 0 || key.length > KV_MAX_KEY) throw new RangeError(`keyValue: key must be 1..${KV_MAX_KEY} characters`);
}

export interface SimKeyValueOptions {
  domain?: PowerDomain;
  seed?: number;
}

type KeyValueFactory = Storage["keyValue"];

export class SimKeyValue implements KeyValueFactory {
  readonly domain: PowerDomain;
  private readonly stores = new Map<string, Map<string, string>>();
  /** set/delete calls that took effect. */
  sets = 0;

  constructor(options: SimKeyValueOptions = {}) {
    this.domain = options.domain ?? new PowerDomain(new Rng(options.seed ?? 1).fork("power"));
  }

  open(options: KeyValueOpenOptions): KeyValue {
    this.domain.check();
    if (!options || typeof options.path !== "string" || options.path.length === 0) {
      throw new TypeError("keyValue.open: options.path must be a non-empty string");
    }
    let store = this.stores.get(options.path);
    if (!store) {
      store = new Map();
      this.stores.set(options.path, store);
    }
    return new SimKeyValueInstance(this, options.path, store, this.domain.epoch);
  }

  snapshot(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [ns, m] of this.stores) out[ns] = Object.fromEntries(m);
    return out;
  }

  restore(snapshot: Record<string, Record<string, string>>): void {
    this.stores.clear();
    for (const [ns, kv] of Object.entries(snapshot)) this.stores.set(ns, new Map(Object.entries(kv)));
  }

  /** @internal apply an atomic mutation under the power domain's rules. */
  _mutate(kind: "kv.set" | "kv.delete", path: string, apply: () => void): void {
    const fate = this.domain.begin();
    const event = { op: this.domain.currentOp, when: "before" as const, kind, path };
    if (fate.kind === "before") this.domain.fire(event);
    if (fate.kind === "during") {
      const commit = fate.tornBytes !== undefined ? fate.tornBytes > 0 : this.domain.rng.int(0, 1) === 1;
      if (commit) { apply(); this.sets++; }
      this.domain.fire({ ...event, when: "during" });
    }
    apply();
    this.sets++;
    if (fate.kind === "after") this.domain.fire({ ...event, when: "after" });
  }
}

class SimKeyValueInstance implements KeyValue {
  private closed = false;
  constructor(
    private readonly owner: SimKeyValue,
    private readonly path: string,
    private readonly store: Map<string, string>,
    private readonly epoch: number,
  ) {}

  private live(): void {
    this.owner.domain.check();
    if (this.closed) throw new Error(`keyValue "${this.path}": instance is closed`);
    if (this.epoch !== this.owner.domain.epoch) throw new Error(`keyValue "${this.path}": instance opened before reboot is stale`);
  }

  get(key: string): string | undefined {
    this.live();
    checkKey(key);
    return this.store.get(key);
  }

  set(key: string, value: string): void {
    this.live();
    checkKey(key);
    if (typeof value !== "string") throw new TypeError("keyValue.set: value must be a string");
    if (utf8Length(value) > KV_MAX_VALUE_BYTES) throw new RangeError(`keyValue.set: value longer than ${KV_MAX_VALUE_BYTES} bytes UTF-8`);
    this.owner._mutate("kv.set", this.path, () => { this.store.set(key, value); });
  }

  delete(key: string): void {
    this.live();
    checkKey(key);
    this.owner._mutate("kv.delete", this.path, () => { this.store.delete(key); });
  }

  keys(): string[] {
    this.live();
    return Array.from(this.store.keys());
  }

  close(): void {
    this.closed = true;
  }
}
