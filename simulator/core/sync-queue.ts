/**
 * A synchronous virtual-time event queue, platform-neutral: runs the simulated devices and the firmware
 * inside one engine (XS benchmarks, allocation checks) without Node, sockets or promises.
 */
import type { EventQueue, Task } from "./devices.js";

interface Ev {
  t: number;
  seq: number;
  id: number;
  fn: Task;
}

export class SyncQueue implements EventQueue {
  private events: Ev[] = [];
  private readonly posted: Task[] = [];
  private readonly cancelled = new Set<number>();
  private seq = 0;
  private ids = 0;
  private _now = 0;
  /** Set by an event to make runUntil return after it (virtual time then stays at that event's). */
  stopped = false;

  get now(): number {
    return this._now;
  }

  at(t: number, fn: Task): number {
    const id = ++this.ids;
    const e: Ev = { t: t < this._now ? this._now : t, seq: this.seq++, id, fn };
    // Sorted insert from the back: timers are mostly appended in order.
    const ev = this.events;
    let i = ev.length;
    while (i > 0 && (ev[i - 1]!.t > e.t || (ev[i - 1]!.t === e.t && ev[i - 1]!.seq > e.seq))) i--;
    ev.splice(i, 0, e);
    return id;
  }

  cancel(id: number): void {
    this.cancelled.add(id);
  }

  post(fn: Task): void {
    this.posted.push(fn);
  }

  /** Runs every event up to and including time `until`, or until an event sets `stopped`. Returns the number of events run. */
  runUntil(until: number): number {
    let n = 0;
    this.stopped = false;
    while (!this.stopped) {
      const p = this.posted.shift();
      if (p) {
        p();
        n++;
        continue;
      }
      const next = this.events[0];
      if (!next || next.t > until) break;
      this.events.shift();
      if (this.cancelled.has(next.id)) {
        this.cancelled.delete(next.id);
        continue;
      }
      this._now = next.t;
      next.fn();
      n++;
    }
    if (!this.stopped && this._now < until) this._now = until;
    return n;
  }
}
