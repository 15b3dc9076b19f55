/**
 * Node rows of the benchmark: the firmware in-process against the simulator's platform-neutral devices on
 * a synchronous virtual-time queue (no sockets: the uplink is refused, free charging authorizes), so the
 * control tick is measured with the device models it reads and nothing else.
 */
import type { Crypto, Flash, Hal, KeyValue, Network } from "../hal/index.js";
import { start } from "../firmware/main.js";
import { DeviceHal } from "../simulator/core/devices.js";
import { SyncQueue } from "../simulator/core/sync-queue.js";
import { World } from "../simulator/models/world.js";
import { Rng } from "../simulator/rng.js";
import { DEFAULT_BOARD } from "../simulator/scenario.js";
import { SimStorage } from "../simulator/storage/index.js";

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

function offlineNetwork(q: SyncQueue): Network {
  const refused = function (this: object, options: { onError?: (this: unknown, e: { code: string; message: string }) => void }) {
    q.at(q.now + 1000, () => options.onError?.call(this, { code: "ECONNREFUSED", message: "offline (bench)" }));
    Object.assign(this, { read() { throw new Error("offline"); }, write() { throw new Error("offline"); }, ping() {}, subscribe() {}, unsubscribe() {}, close() {}, protocol: "" });
  };
  return { TCP: refused, UDP: refused, WebSocketClient: refused, MQTTClient: refused } as unknown as Network;
}

/** A charging wallbox in steady state, ready to be ticked. */
export function steadyStateRig(seed = 1): { q: SyncQueue; hal: Hal; world: World; tick: () => void; period: number } {
  const rng = new Rng(seed);
  const q = new SyncQueue();
  const world = new World({}, rng.fork("world"));
  const storage = new SimStorage({ partitions: { journal: { size: 64 * 1024 } }, seed });
  const cryptoRng = rng.fork("crypto");
  const crypto = { randomBytes: (n: number) => cryptoRng.bytes(n).buffer } as unknown as Crypto;
  const device = new DeviceHal({
    queue: q,
    world,
    board: DEFAULT_BOARD,
    storage: storage.storage as { flash: { open(o: { path: string }): Flash }; keyValue: { open(o: { path: string }): KeyValue } },
    crypto,
    network: offlineNetwork(q),
    rtcAtZero: 1_700_000_000_000,
    bootReason: "power-on",
    log: () => {},
    observe: () => {},
    onRestart: () => {},
    watchdogMs: 0,
  });
  const period = 10;
  let loopTick: (() => unknown) | null = null;
  const dh = device.hal;
  const hal: Hal = {
    ...dh,
    timers: {
      set(callback, delay, repeat) {
        // Capture the control loop's timer so the bench can call the tick directly.
        if (repeat === period && loopTick === null) {
          const id = dh.timers.set(() => {}, delay, repeat);
          loopTick = () => callback(id);
          return id;
        }
        return dh.timers.set(callback, delay, repeat);
      },
      clear: (id) => dh.timers.clear(id),
    },
  };
  start(hal, { freeCharging: true, controlPeriodMs: period, meterValueSampleIntervalS: 0 });
  world.plug({ maxCurrent: 32 });
  // Let the EV wake, close S2, the contactor close and the current ramp up (virtual seconds).
  for (let t = 0; t < 10_000; t += period) {
    q.runUntil(q.now + period);
    loopTick!();
  }
  return {
    q,
    hal,
    world,
    period,
    tick: () => {
      q.runUntil(q.now + period);
      loopTick!();
    },
  };
}

export function benchNode(): BenchRow[] {
  const rows: BenchRow[] = [];
  const rig = steadyStateRig();
  const ticks = 100_000;
  // Warm up the JIT, then measure.
  for (let i = 0; i < 20_000; i++) rig.tick();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < ticks; i++) rig.tick();
  const t1 = performance.now();
  gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  rows.push({ name: "control tick on Node (incl. simulated devices)", value: Math.round(((t1 - t0) * 1e6) / ticks), unit: "ns", note: `${ticks} steady-state ticks, charging at 32 A` });
  if (gc) rows.push({ name: "Node heap growth over those ticks (after GC)", value: Math.round((heapAfter - heapBefore) / 1024), unit: "KiB" });
  return rows;
}
