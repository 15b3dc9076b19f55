/**
 * Time comes only from here. Firmware never reads Date.now, performance or setTimeout:
 * on the device these map to the RTC and Moddable's Timer; in the simulator to a virtual clock,
 * so hours of charging run in seconds and every run with the same seed is the same run.
 */

export interface Clock {
  /** Monotonic milliseconds since boot, integer, never goes backwards (esp_timer on the device). */
  now(): number;
  /**
   * Wall clock in milliseconds since the Unix epoch (UTC), or 0 when the device has never been
   * told the time since its RTC lost power. A non-zero value may still be unsynchronised:
   * see `synchronized`.
   */
  wall(): number;
  /** True while the wall clock has been set from a trusted source (SNTP, CSMS) since boot. */
  readonly synchronized: boolean;
  /** Sets the wall clock (from SNTP or the CSMS). Throws RangeError for a non-finite or negative value. */
  setWall(epochMs: number): void;
}

/** An opaque timer handle. */
export type TimerId = number;

/**
 * Timers, shaped after Moddable's Timer module: set(callback, delay, repeat).
 * Callbacks run on the firmware's single thread, never re-entrantly.
 */
export interface Timers {
  /**
   * Calls `callback` once after `delay` ms, then every `repeat` ms if `repeat` > 0.
   * Throws RangeError for a negative or non-finite delay or repeat.
   */
  set(callback: (id: TimerId) => void, delay: number, repeat?: number): TimerId;
  /** Cancels a timer. Clearing an unknown or already-fired one-shot timer is a no-op. */
  clear(id: TimerId): void;
}
