/**
 * The simulator's clock: a deterministic discrete-event scheduler in virtual time, or paced against the
 * wall clock (`realTime`, with a speed factor) for `npm start`.
 *
 * Determinism with real sockets: every piece of real I/O whose answer the simulation waits for takes a
 * `hold()` before it starts (a WebSocket connect, an OCPP CALL sent to the embedded CSMS). While any hold
 * is active, nothing else runs in virtual time — not even other events due at the same instant — until the
 * real world answers. Deliveries from the real world are `postExternal()`ed; the simulation's own follow-up
 * work is `post()`ed. Order of execution: the simulation's posts, then real-world deliveries, then (only when
 * nothing is held) the next virtual event. So the CSMS's answer to a CALL lands at the same point of the
 * event sequence in every run, however slow the machine is.
 *
 * Event functions may return a promise (the XS bridge does): the scheduler awaits it before the next event,
 * so the firmware always sees one event at a time, as on the device.
 */

export type Task = () => unknown;

interface Entry {
  t: number;
  seq: number;
  id: number;
  fn: Task;
}

export interface SchedulerOptions {
  /** Pace virtual time against the wall clock (npm start). Default false: pure virtual time. */
  realTime?: boolean;
  /** Virtual ms per real ms in real-time mode. Default 1. */
  speed?: number;
  /** A hold that lasts longer than this (real ms) is released and counted in stats.holdTimeouts. */
  holdTimeoutMs?: number;
  /** Virtual start time (ms). Default 0. */
  start?: number;
}

export interface SchedulerStats {
  events: number;
  holds: number;
  holdTimeouts: number;
  timedOutHolds: string[];
}

export type Release = () => void;

export class Scheduler {
  private readonly heap: Entry[] = [];
  private readonly posted: Task[] = [];
  private readonly external: Task[] = [];
  private readonly cancelled = new Set<number>();
  private seq = 0;
  private nextId = 1;
  private _now: number;
  private activeHolds = 0;
  private waker: (() => void) | null = null;
  private stopped = false;
  private running = false;
  private readonly realTime: boolean;
  private readonly speed: number;
  private readonly holdTimeoutMs: number;
  private realBase = 0;
  private virtualBase = 0;
  readonly stats: SchedulerStats = { events: 0, holds: 0, holdTimeouts: 0, timedOutHolds: [] };

  constructor(options: SchedulerOptions = {}) {
    this.realTime = options.realTime ?? false;
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0)) throw new RangeError("speed must be > 0");
    this.holdTimeoutMs = options.holdTimeoutMs ?? 10_000;
    this._now = options.start ?? 0;
  }

  /** Current virtual time, ms. */
  get now(): number {
    return this._now;
  }

  get isRealTime(): boolean {
    return this.realTime;
  }

  /** Runs `fn` at virtual time `t` (not before now). Returns an id for cancel(). */
  at(t: number, fn: Task): number {
    if (!Number.isFinite(t)) throw new RangeError(`bad event time ${t}`);
    const id = this.nextId++;
    this.push({ t: Math.max(t, this._now), seq: this.seq++, id, fn });
    this.wake();
    return id;
  }

  /** Runs `fn` after `ms` virtual milliseconds. */
  after(ms: number, fn: Task): number {
    return this.at(this._now + ms, fn);
  }

  cancel(id: number): void {
    this.cancelled.add(id);
  }

  /**
   * Runs `fn` at the current virtual time, after the event in progress, in posting order. Safe to call from
   * real I/O callbacks at any moment: this is how the real world enters the simulation.
   */
  post(fn: Task): void {
    this.posted.push(fn);
    this.wake();
  }

  /**
   * Freezes virtual time until the returned function is called (idempotent), or until holdTimeoutMs of real
   * time passes (then it is counted as a timeout: tests treat that as a failure of determinism).
   */
  /**
   * Delivers something from the real world (a socket's data, a connection result): runs at the current
   * virtual time after the simulation's own posted work, in arrival order.
   */
  postExternal(fn: Task): void {
    this.external.push(fn);
    this.wake();
  }

  hold(label: string): Release {
    this.activeHolds++;
    this.stats.holds++;
    let released = false;
    const timer = setTimeout(() => {
      if (released) return;
      this.stats.holdTimeouts++;
      this.stats.timedOutHolds.push(label);
      release();
    }, this.holdTimeoutMs);
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.activeHolds--;
      this.wake();
    };
    return release;
  }

  get holding(): boolean {
    return this.activeHolds > 0;
  }

  /** Stops run() after the event in progress. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  /**
   * Runs events until `until` (virtual ms) is reached, stop() is called, or `done()` returns true after an
   * event. Rejects with the first error an event throws.
   */
  async run(until: number = Infinity, done?: () => boolean): Promise<void> {
    if (this.running) throw new Error("Scheduler.run() is already running");
    this.running = true;
    this.stopped = false;
    this.realBase = performance.now();
    this.virtualBase = this._now;
    let sinceYield = 0;
    try {
      for (;;) {
        if (this.stopped) return;
        if (done && done()) return;
        const posted = this.posted.shift() ?? this.external.shift();
        if (posted) {
          await this.exec(posted);
          continue;
        }
        if (this.activeHolds > 0) {
          // Waiting for the real world: nothing else may run, or the order would depend on its speed.
          await this.sleep(Infinity);
          continue;
        }
        const next = this.peek();
        if (!next) {
          if (this._now >= until) return;
          // Nothing to do in virtual time: wait for the real world (or the end).
          if (!this.realTime && until === Infinity) return;
          if (!this.realTime) {
            this._now = until;
            return;
          }
          await this.sleep(this.realDelay(until));
          this.syncRealTime(until);
          continue;
        }
        if (next.t > until) {
          if (this.realTime) {
            await this.sleep(this.realDelay(until));
            this.syncRealTime(until);
            if (this._now < until) continue;
          }
          this._now = until;
          return;
        }
        if (this.realTime) {
          const delay = this.realDelay(next.t);
          if (delay > 0) {
            await this.sleep(delay);
            this.syncRealTime(next.t);
            continue;
          }
        }
        this.pop();
        this._now = Math.max(this._now, next.t);
        await this.exec(next.fn);
        // Let real I/O callbacks (which only post()) run now and then, so sockets make progress.
        if (++sinceYield >= 2000) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async exec(fn: Task): Promise<void> {
    this.stats.events++;
    const result = fn() as { then?: unknown } | undefined;
    if (result && typeof result.then === "function") await result;
  }

  private realDelay(t: number): number {
    const target = this.realBase + (t - this.virtualBase) / this.speed;
    return Math.max(0, target - performance.now());
  }

  private syncRealTime(limit: number): void {
    const v = this.virtualBase + (performance.now() - this.realBase) * this.speed;
    this._now = Math.max(this._now, Math.min(Math.floor(v), limit));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      this.waker = () => {
        if (timer) clearTimeout(timer);
        this.waker = null;
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(() => this.waker?.(), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    });
  }

  private wake(): void {
    const w = this.waker;
    if (w) w();
  }

  private peek(): Entry | undefined {
    while (this.heap.length && this.cancelled.has(this.heap[0]!.id)) {
      this.cancelled.delete(this.heap[0]!.id);
      this.popRaw();
    }
    return this.heap[0];
  }

  private pop(): Entry {
    const top = this.peek();
    if (!top) throw new Error("empty");
    this.popRaw();
    return top;
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private popRaw(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
