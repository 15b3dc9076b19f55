/**
 * Records every use of a Hal: constructors, method calls (with their result or the error thrown), property
 * reads of devices and services, and callback invocations (device callbacks and timers). Used the same way
 * on Node and under the XS bridge (there it wraps the Node HAL the bridge serves), so the parity test can
 * compare "every HAL call with its virtual timestamp".
 *
 * Values are reported as JSON-friendly data: binary (ArrayBuffer, typed arrays, DataView) as a hex string,
 * non-finite numbers as strings ("NaN", "Infinity", "-Infinity"), -0 as 0, undefined as null inside arrays,
 * and out-parameters (read(into)) as the content they were filled with.
 * `hal.board` and the hal's service objects themselves are plain wiring and are not reported.
 *
 * Devices are named "<Class>#<n>" (n counts per class from 1); services by their path ("clock", "timers",
 * "crypto", "log", "system", "storage.flash", "storage.keyValue"); instances a service returns as
 * "<service>.<method>#<n>" (e.g. "storage.flash.open#1").
 */
import type { Hal } from "../hal/index.js";

export interface HalRecord {
  dev: string;
  /** "new", a method name, "get <prop>", or "cb". */
  op: string;
  args: unknown[];
  ret?: unknown;
  /** The callback's name for op "cb" ("onReadable", "timer", ...). */
  cb?: string;
  /** "<ErrorName>: <message>" when the call threw (it is re-thrown). */
  error?: string;
}

export type HalRecordSink = (fields: HalRecord) => void;

const HEX = "0123456789abcdef";

function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]! >> 4]! + HEX[bytes[i]! & 15]!;
  return s;
}

/** A JSON-friendly snapshot of a value crossing the HAL. */
export function recordValue(v: unknown, depth = 0): unknown {
  switch (typeof v) {
    case "number":
      if (Number.isFinite(v)) return v === 0 ? 0 : v;
      return String(v);
    case "string":
    case "boolean":
      return v;
    case "undefined":
      return null;
    case "bigint":
      return v.toString();
    case "function":
      return "[function]";
    case "symbol":
      return String(v);
  }
  if (v === null) return null;
  if (v instanceof ArrayBuffer) return hex(new Uint8Array(v));
  if (ArrayBuffer.isView(v)) return hex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (depth > 8) return "[deep]";
  if (Array.isArray(v)) return v.map((x) => recordValue(x, depth + 1));
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  const named = recorded.get(v as object);
  if (named) return `[${named}]`;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v as object)) {
    const x = (v as Record<string, unknown>)[key];
    if (typeof x === "function") continue;
    out[key] = recordValue(x, depth + 1);
  }
  return out;
}

/** Recorded stand-in → its name (so an instance passed as a value is reported by name). */
const recorded = new WeakMap<object, string>();

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Wraps `hal` so every use is reported to `emit`. The result behaves exactly like `hal`. */
export function recordHal(hal: Hal, emit: HalRecordSink): Hal {
  const counters = new Map<string, number>();
  const nextName = (base: string): string => {
    const n = (counters.get(base) ?? 0) + 1;
    counters.set(base, n);
    return `${base}#${n}`;
  };

  function call(
    dev: string,
    op: string,
    fn: (...a: unknown[]) => unknown,
    self: unknown,
    args: unknown[],
    wrapResult?: (m: string, ret: unknown) => unknown,
  ): unknown {
    let ret: unknown;
    try {
      ret = fn.apply(self, args);
    } catch (e) {
      emit({ dev, op, args: args.map((a) => recordValue(a)), error: errorText(e) });
      throw e;
    }
    if (wrapResult) ret = wrapResult(op, ret);
    emit({ dev, op, args: args.map((a) => recordValue(a)), ret: recordValue(ret) });
    return ret;
  }

  /** A stand-in for a device or service object: methods and property reads are reported. */
  function wrapObject<T extends object>(target: T, dev: string, wrapResult?: (m: string, ret: unknown) => unknown): T {
    const methods = new Map<PropertyKey, (...a: unknown[]) => unknown>();
    const proxy: T = new Proxy(target, {
      get(t, key, _receiver) {
        const v = Reflect.get(t, key, t) as unknown;
        if (typeof key === "symbol") return v;
        if (typeof v === "function") {
          let w = methods.get(key);
          if (!w) {
            const name = key;
            w = function (this: unknown, ...args: unknown[]): unknown {
              const real = Reflect.get(t, name, t) as (...a: unknown[]) => unknown;
              const self = this === proxy ? t : this;
              return call(dev, name, real, self, args, wrapResult);
            };
            methods.set(key, w);
          }
          return w;
        }
        emit({ dev, op: `get ${key}`, args: [], ret: recordValue(v) });
        return v;
      },
    });
    recorded.set(proxy, dev);
    return proxy;
  }

  function wrapCallbacks(options: unknown, dev: () => string, self: () => unknown): unknown {
    if (options === null || typeof options !== "object") return options;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(options)) {
      const v = (options as Record<string, unknown>)[key];
      if (typeof v === "function") {
        const fn = v as (...a: unknown[]) => unknown;
        out[key] = function (this: unknown, ...args: unknown[]): unknown {
          emit({ dev: dev(), op: "cb", cb: key, args: args.map((a) => recordValue(a)) });
          return fn.apply(self() ?? this, args);
        };
      } else out[key] = v;
    }
    return out;
  }

  function wrapClass(ns: string, name: string, Ctor: new (options: unknown) => object): new (options: unknown) => object {
    const Wrapped = function (this: unknown, options: unknown): object {
      if (!new.target) throw new TypeError(`${name} must be called with new`);
      const dev = nextName(name);
      let instance: object | undefined;
      const wrappedOptions = wrapCallbacks(options, () => dev, () => instance);
      let real: object;
      try {
        real = new Ctor(wrappedOptions);
      } catch (e) {
        emit({ dev, op: "new", args: [recordValue(options)], error: errorText(e) });
        throw e;
      }
      emit({ dev, op: "new", args: [recordValue(options)] });
      instance = wrapObject(real, dev);
      return instance;
    } as unknown as new (options: unknown) => object;
    Object.defineProperty(Wrapped, "name", { value: name });
    Object.defineProperty(Wrapped, "prototype", { value: Ctor.prototype });
    void ns;
    return Wrapped;
  }

  function wrapNamespace<T extends object>(ns: string, obj: T): T {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(obj)) {
      const v = (obj as Record<string, unknown>)[key];
      out[key] = typeof v === "function" ? wrapClass(ns, key, v as new (options: unknown) => object) : v;
    }
    return out as T;
  }

  const timers = hal.timers;
  const recordedTimers: Hal["timers"] = {
    set(callback, delay, repeat) {
      const args = arguments.length > 2 ? [callback, delay, repeat] : [callback, delay];
      const wrapped = (id: number): unknown => {
        emit({ dev: "timers", op: "cb", cb: "timer", args: [id] });
        return (callback as (id: number) => unknown)(id);
      };
      const real = [wrapped, ...args.slice(1)];
      return call("timers", "set", timers.set as (...a: unknown[]) => unknown, timers, real) as number;
    },
    clear(id) {
      call("timers", "clear", timers.clear as (...a: unknown[]) => unknown, timers, [id]);
    },
  };

  const storageResult = (base: string) => (m: string, ret: unknown): unknown =>
    ret !== null && typeof ret === "object" && !(ret instanceof ArrayBuffer) && !ArrayBuffer.isView(ret) && !Array.isArray(ret)
      ? wrapObject(ret, nextName(`${base}.${m}`))
      : ret;

  return {
    board: hal.board,
    clock: wrapObject(hal.clock, "clock"),
    timers: recordedTimers,
    io: wrapNamespace("io", hal.io),
    storage: {
      flash: wrapObject(hal.storage.flash, "storage.flash", storageResult("storage.flash")),
      keyValue: wrapObject(hal.storage.keyValue, "storage.keyValue", storageResult("storage.keyValue")),
    },
    crypto: wrapObject(hal.crypto, "crypto"),
    network: wrapNamespace("network", hal.network),
    system: wrapObject(hal.system, "system"),
    log: wrapObject(hal.log, "log"),
  };
}
