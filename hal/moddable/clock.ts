/** Clock and timers over Moddable's Time and Timer modules. */
import Time from "time";
import Timer from "timer";
import type { Clock, TimerId, Timers } from "../index.js";

/** Wall-clock values below this (2001-09-09) mean the RTC was never set since it lost power. */
const EPOCH_FLOOR = 1e12;

export class ModdableClock implements Clock {
  #last = Time.ticks;
  #elapsed = 0;
  #synchronized = false;
  /** Time.ticks is a wrapping 32-bit millisecond counter: accumulate deltas so now() never goes backwards. */
  now(): number {
    const ticks = Time.ticks;
    this.#elapsed += (ticks - this.#last) >>> 0;
    this.#last = ticks;
    return this.#elapsed;
  }
  wall(): number {
    const ms = Date.now();
    return ms < EPOCH_FLOOR ? 0 : ms;
  }
  get synchronized(): boolean {
    return this.#synchronized;
  }
  setWall(epochMs: number): void {
    if (!Number.isFinite(epochMs) || epochMs < 0) throw new RangeError("wall clock");
    Time.set(Math.round(epochMs / 1000));
    this.#synchronized = true;
  }
}

const checkDelay = (ms: number | undefined): void => {
  if (ms !== undefined && (!Number.isFinite(ms) || ms < 0)) throw new RangeError("timer delay");
};

export class ModdableTimers implements Timers {
  #timers = new Map<TimerId, Timer>();
  #next = 1;
  set(callback: (id: TimerId) => void, delay: number, repeat?: number): TimerId {
    checkDelay(delay);
    checkDelay(repeat);
    const id = this.#next++;
    const repeating = repeat !== undefined && repeat > 0;
    const fire = () => {
      if (!repeating) this.#timers.delete(id);
      callback(id);
    };
    const timer = repeating ? Timer.set(fire, delay, repeat) : Timer.set(fire, delay);
    this.#timers.set(id, timer);
    return id;
  }
  clear(id: TimerId): void {
    const timer = this.#timers.get(id);
    if (!timer) return;
    this.#timers.delete(id);
    Timer.clear(timer);
  }
}
