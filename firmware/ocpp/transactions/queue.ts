/**
 * Transaction-related messages (StartTransaction, StopTransaction, MeterValues of a transaction) must never
 * be lost: each is stored before it is sent and removed only after its CALLRESULT, then replayed in order
 * after a reconnect or a reboot. The storage is pluggable: `MemoryTxStore` here, `JournalTxStore`
 * (journal-store.ts, over the flash journal of firmware/storage/journal.ts) on the device.
 *
 * A StopTransaction or MeterValues queued before the StartTransaction.conf arrived refers to the local
 * session number; the transactionId from the CSMS is applied when it is sent. The mapping session ->
 * transactionId is itself stored (a small "txid" record written BEFORE the StartTransaction record is
 * removed, and removed only once the StopTransaction was confirmed), so it survives a reboot, and it marks
 * the session as open: after a reboot, a session with a StartTransaction or a txid record but no
 * StopTransaction was interrupted (`interrupted()`), and the owner queues its StopTransaction (PowerLoss).
 *
 * Crash analysis (every step is one store write; a power cut falls before or after each):
 *  - started:   append Start                        (cut before: the session never existed on flash)
 *  - Start.conf: put txid, then remove Start         (cut between: Start is resent; a newer txid wins)
 *  - MeterValues: append, remove after the .conf     (cut before the remove: resent)
 *  - ended:     append Stop
 *  - Stop.conf: remove txid(s), then remove Stop     (cut between: a Stop without Start or txid is one the
 *               CSMS confirmed; open() removes it)
 * A message answered by the CSMS but cut before its remove is sent again after the reboot, with the same
 * payload (at-least-once; the CSMS recognises the repeat by its content).
 */
import type { Timers, TimerId } from "../../../hal/index.js";
import type { RpcError } from "../rpc/errors.js";
import { isoTime } from "../../util/time.js";

/**
 * Unsynchronised reading times. OCPP 1.6 has no flag for "this timestamp came from a clock that was not
 * synchronised", so such a reading is never sent as it is: the object that carries its `timestamp` (the payload
 * itself for Start/StopTransaction, a MeterValue entry of meterValue / transactionData) also carries the monotonic
 * time of the reading under this key, and is stored (journaled) that way. The queue holds such a message (and,
 * the order being strict, everything after it) until the clock is synchronised, then rewrites every held time
 * of this boot as syncedWall - (monoNow - monoAtReading), stores the rewritten payload, and sends it.
 * A marked message found in the store from a PREVIOUS boot cannot be corrected (the monotonic clock restarted):
 * it keeps the time the RTC gave, the mark is removed, and it is counted (stats.unsyncedKept) and reported
 * (onUnsyncedTime) — sending it late beats holding a transaction forever, and the log says which times are
 * unconfirmed. See README.md.
 */
export const MONO_KEY = "_mono";

/** The clock the queue corrects held times with (the clock policy, hal.clock). */
export interface TxClock {
  now(): number;
  wall(): number;
  readonly synchronized: boolean;
}

/** True when a payload has a reading marked with its monotonic time (taken while the clock was unsynchronised). */
export function hasUnsyncedTime(v: unknown): boolean {
  if (Array.isArray(v)) {
    for (const x of v) if (hasUnsyncedTime(x)) return true;
    return false;
  }
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return false;
  const o = v as Record<string, unknown>;
  if (typeof o[MONO_KEY] === "number") return true;
  for (const k of Object.keys(o)) if (hasUnsyncedTime(o[k])) return true;
  return false;
}

/**
 * The payload with every marked reading's mark removed; with `wallNow`/`monoNow`, its timestamp rewritten as
 * wallNow - (monoNow - mono). A new object (the input is not changed).
 */
export function fixUnsyncedTimes(v: unknown, wallNow?: number, monoNow?: number): unknown {
  if (Array.isArray(v)) return v.map((x) => fixUnsyncedTimes(x, wallNow, monoNow));
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (k !== MONO_KEY) out[k] = fixUnsyncedTimes(o[k], wallNow, monoNow);
  const mono = o[MONO_KEY];
  if (typeof mono === "number" && wallNow !== undefined && monoNow !== undefined) out["timestamp"] = isoTime(wallNow - (monoNow - mono));
  return out;
}

export type TxAction = "StartTransaction" | "StopTransaction" | "MeterValues";

export interface TxMessage {
  /** Store-assigned, increasing. */
  seq: number;
  action: TxAction;
  /** The local session number the message belongs to. */
  session: number;
  payload: Record<string, unknown>;
  /** Intermediate meter values may be dropped when storage is full; starts and stops never. */
  droppable: boolean;
  attempts: number;
}

/** A stored session -> transactionId mapping (also: "this session's StartTransaction was confirmed"). */
export interface TxIdRecord {
  seq: number;
  session: number;
  transactionId: number;
}

export interface TxStore {
  /** Stores a message; returns its seq, or 0 when a droppable message could not be stored (full). */
  append(message: Omit<TxMessage, "seq">): number;
  remove(seq: number): void;
  update(seq: number, payload: Record<string, unknown>, attempts: number): void;
  /** Live messages in order. */
  all(): TxMessage[];
  /** Stores a transactionId mapping; returns its seq. */
  putTxId(session: number, transactionId: number): number;
  /** Live transactionId mappings in order. */
  txIds(): TxIdRecord[];
  /** Messages dropped to stay within the bound. */
  readonly dropped: number;
  /** Sets the byte budget (0: as much as the storage has). Optional. */
  setLimit?(bytes: number): void;
}

/**
 * RAM store, bounded: when full, the oldest droppable message (an intermediate MeterValues) is dropped to make
 * room; a start or a stop is never dropped (past the bound they are still kept: losing them is worse).
 */
export class MemoryTxStore implements TxStore {
  private readonly items: TxMessage[] = [];
  private readonly ids: TxIdRecord[] = [];
  private seq = 0;
  /** Messages dropped to stay within the bound. */
  dropped = 0;

  constructor(private readonly capacity = 100) {}

  append(message: Omit<TxMessage, "seq">): number {
    if (this.items.length >= this.capacity) {
      const i = this.items.findIndex((m) => m.droppable);
      if (i >= 0) {
        this.items.splice(i, 1);
        this.dropped++;
      } else if (message.droppable) {
        this.dropped++;
        return 0;
      }
    }
    const seq = ++this.seq;
    this.items.push({ ...message, seq });
    return seq;
  }

  remove(seq: number): void {
    const i = this.items.findIndex((m) => m.seq === seq);
    if (i >= 0) this.items.splice(i, 1);
    const j = this.ids.findIndex((m) => m.seq === seq);
    if (j >= 0) this.ids.splice(j, 1);
  }

  update(seq: number, payload: Record<string, unknown>, attempts: number): void {
    const m = this.items.find((x) => x.seq === seq);
    if (m) {
      m.payload = payload;
      m.attempts = attempts;
    }
  }

  all(): TxMessage[] {
    return this.items.slice();
  }

  putTxId(session: number, transactionId: number): number {
    const seq = ++this.seq;
    this.ids.push({ seq, session, transactionId });
    return seq;
  }

  txIds(): TxIdRecord[] {
    return this.ids.slice();
  }
}

export interface TxSender {
  /** Sends one message; `done` gets the CALLRESULT payload or the error. */
  send(action: TxAction, payload: Record<string, unknown>, done: (error: RpcError | null, result: Record<string, unknown> | null) => void): void;
  /** True when messages may be sent now (connected and registered). */
  ready(): boolean;
}

export interface TxQueueOptions {
  /** How often a message the CSMS answers with a CALLERROR (or not at all) is tried (TransactionMessageAttempts). */
  maxAttempts: number | (() => number);
  /**
   * TransactionMessageRetryInterval in ms: after the n-th failed attempt the next one waits n times this
   * (OCPP 1.6 §4.10: "wait interval × number of attempts"). Needs `timers`; without them retries go at once.
   */
  retryIntervalMs?: () => number;
  timers?: Timers;
  /** Called with the StartTransaction.conf of a session. */
  onStartConf(session: number, result: Record<string, unknown>): void;
  /** Called when a message is given up (failed `maxAttempts` times). */
  onGiveUp(message: TxMessage, error: RpcError): void;
  /**
   * Called when a StopTransaction was confirmed, with the StopTransaction.conf and the payload that was sent (its
   * idTag is the one the conf's idTagInfo is about; the authorization cache learns from it).
   */
  onStopConf?(session: number, result: Record<string, unknown> | null | undefined, sent: Record<string, unknown>): void;
}

/** Sends stored transaction messages strictly in order, one at a time. */
export class TxQueue {
  private busy = false;
  /** session number -> transactionId from the CSMS */
  private readonly txIdMap = new Map<number, number>();
  private retryTimer: TimerId | 0 = 0;
  private readonly _interrupted: number[] = [];
  readonly stats = { sent: 0, retried: 0, givenUp: 0, recovered: 0, timeFixed: 0, unsyncedKept: 0 };
  /**
   * Stores give increasing seqs: a message with a seq above every seq the store held at start-up was appended in
   * this boot (its monotonic times are valid). `heldAppended` counts this boot's marked appends since the last
   * correction pass (an upper bound: the store may have dropped some), so a pass runs only when needed; no
   * per-message state (bounded RAM however long the clock stays unsynchronised).
   */
  private bootSeq = 0;
  private heldAppended = 0;
  private clock: TxClock | null = null;
  private holdTimer: TimerId | 0 = 0;
  private onUnsyncedTime: ((m: TxMessage) => void) | null = null;

  constructor(
    private readonly store: TxStore,
    private readonly sender: TxSender,
    private readonly options: TxQueueOptions,
  ) {
    this.load();
  }

  /** What the store held at start-up: the mappings, stale records cleaned, interrupted sessions found. */
  private load(): void {
    const store = this.store;
    const ids = store.txIds();
    const latest = new Map<number, TxIdRecord>();
    for (const r of ids) {
      const prev = latest.get(r.session);
      if (prev) store.remove(prev.seq); // a resent Start gave a newer id: the newest wins
      latest.set(r.session, r);
    }
    for (const [s, r] of latest) this.txIdMap.set(s, r.transactionId);
    const msgs = store.all();
    for (const m of msgs) if (m.seq > this.bootSeq) this.bootSeq = m.seq;
    for (const r of ids) if (r.seq > this.bootSeq) this.bootSeq = r.seq;
    const started = new Set<number>();
    const stopped = new Set<number>();
    for (const m of msgs) {
      if (m.action === "StartTransaction") started.add(m.session);
      else if (m.action === "StopTransaction") stopped.add(m.session);
    }
    for (const m of msgs) {
      // Without a Start or a txid record, a session's messages are leftovers of a confirmed Stop (see above).
      if (!started.has(m.session) && !latest.has(m.session)) {
        store.remove(m.seq);
        this.stats.recovered++;
      }
    }
    const open = new Set<number>([...started, ...latest.keys()]);
    for (const s of open) if (!stopped.has(s)) this._interrupted.push(s);
    this._interrupted.sort((a, b) => a - b);
  }

  /**
   * The clock that decides when held reading times may be corrected and sent (see MONO_KEY); `onUnsyncedTime` is
   * told of a previous boot's message sent with its uncorrected (RTC) time.
   */
  useClock(clock: TxClock, onUnsyncedTime?: (m: TxMessage) => void): void {
    this.clock = clock;
    this.onUnsyncedTime = onUnsyncedTime ?? null;
  }

  /** Rewrites (and stores) the held reading times of this boot once the clock is synchronised. */
  private resolveHeld(): void {
    const clock = this.clock;
    if (this.heldAppended === 0 || clock === null || !clock.synchronized) return;
    const wall = clock.wall();
    const now = clock.now();
    if (wall <= 0) return;
    for (const m of this.store.all()) {
      if (m.seq <= this.bootSeq) continue;
      const p = m.payload;
      if (!hasUnsyncedTime(p)) continue;
      this.store.update(m.seq, fixUnsyncedTimes(p, wall, now) as Record<string, unknown>, m.attempts);
      this.stats.timeFixed++;
    }
    this.heldAppended = 0;
  }

  /** Sessions that were open (started, not stopped) when the store was loaded: the power failed during them. */
  interrupted(): number[] {
    return this._interrupted.slice();
  }

  /** The highest session number the store knows (session numbers must not be reused while stored). */
  maxSession(): number {
    let n = 0;
    for (const m of this.store.all()) if (m.session > n) n = m.session;
    for (const r of this.store.txIds()) if (r.session > n) n = r.session;
    return n;
  }

  /** The CSMS's transactionId for a session, if known. */
  transactionId(session: number): number | undefined {
    return this.txIdMap.get(session);
  }

  /** Stores a message, then sends it when its turn comes. False when a droppable message was not stored. */
  enqueue(action: TxAction, session: number, payload: Record<string, unknown>, droppable = false): boolean {
    const seq = this.store.append({ action, session, payload, droppable, attempts: 0 });
    if (seq !== 0 && hasUnsyncedTime(payload)) this.heldAppended++;
    this.pump();
    return seq !== 0;
  }

  get length(): number {
    return this.store.all().length;
  }

  /** The store's byte budget (TransactionJournalMaxBytes; 0 = all the storage has). */
  setByteLimit(bytes: number): void {
    this.store.setLimit?.(bytes);
  }

  get dropped(): number {
    return this.store.dropped;
  }

  private maxAttempts(): number {
    const m = this.options.maxAttempts;
    return Math.max(1, typeof m === "number" ? m : m());
  }

  /** Sends the next message if possible. Call after (re)connection too. */
  pump(): void {
    this.resolveHeld();
    if (this.busy || this.retryTimer || !this.sender.ready()) return;
    const all = this.store.all();
    const next = all[0];
    if (!next) return;
    let base = next.payload;
    if (hasUnsyncedTime(base)) {
      if (next.seq > this.bootSeq && this.clock !== null) {
        // Not synchronised yet: nothing goes out before it is (checked again on clock events and every 5 s).
        const timers = this.options.timers;
        if (timers && !this.holdTimer) {
          this.holdTimer = timers.set(() => {
            this.holdTimer = 0;
            this.pump();
          }, 5_000);
        }
        return;
      }
      // From a previous boot: its monotonic time means nothing now; it keeps the RTC's time, reported. (Also
      // without a clock to correct it with: an owner that never called useClock.)
      base = fixUnsyncedTimes(base) as Record<string, unknown>;
      this.store.update(next.seq, base, next.attempts);
      this.stats.unsyncedKept++;
      this.onUnsyncedTime?.(next);
    }
    let payload = base;
    if (next.action !== "StartTransaction") {
      const id = this.txIdMap.get(next.session);
      if (id === undefined) {
        // The StartTransaction of this session has not been answered: it must be ahead in the queue. If it is
        // not (it was given up), the CSMS never assigned an id and the message cannot be sent: drop it.
        if (!all.some((m) => m.action === "StartTransaction" && m.session === next.session)) {
          this.store.remove(next.seq);
          this.stats.givenUp++;
          this.pump();
        }
        return;
      }
      payload = { ...payload, transactionId: id };
    }
    this.busy = true;
    this.sender.send(next.action, payload, (error, result) => {
      this.busy = false;
      if (error) {
        if (error.details["transport"]) return; // connection lost: resend after reconnect, same order
        if (error.details["timeout"]) {
          // No answer at all (a dead link the socket has not noticed yet): the CSMS did not refuse the message,
          // so it is not an attempt that counts; try again after the retry interval (or the reconnection).
          this.retryLater(this.options.retryIntervalMs ? this.options.retryIntervalMs() : 0);
          return;
        }
        const attempts = next.attempts + 1;
        if (attempts >= this.maxAttempts()) {
          this.store.remove(next.seq);
          this.stats.givenUp++;
          this.options.onGiveUp(next, error);
          this.pump();
          return;
        }
        this.stats.retried++;
        this.store.update(next.seq, base, attempts);
        this.retryLater((this.options.retryIntervalMs ? this.options.retryIntervalMs() : 0) * attempts);
        return;
      }
      this.stats.sent++;
      if (next.action === "StartTransaction" && result) {
        const id = result["transactionId"];
        if (typeof id === "number") {
          this.store.putTxId(next.session, id);
          this.txIdMap.set(next.session, id);
        }
        this.store.remove(next.seq);
        this.options.onStartConf(next.session, result);
      } else if (next.action === "StopTransaction") {
        for (const r of this.store.txIds()) if (r.session === next.session) this.store.remove(r.seq);
        this.store.remove(next.seq);
        this.txIdMap.delete(next.session);
        this.options.onStopConf?.(next.session, result, payload);
      } else {
        this.store.remove(next.seq);
      }
      this.pump();
    });
  }

  private retryLater(ms: number): void {
    const timers = this.options.timers;
    if (!timers || ms <= 0) {
      this.pump();
      return;
    }
    this.retryTimer = timers.set(() => {
      this.retryTimer = 0;
      this.pump();
    }, ms);
  }

  /** Stops the retry timer (shutdown). */
  stop(): void {
    if (this.retryTimer && this.options.timers) this.options.timers.clear(this.retryTimer);
    this.retryTimer = 0;
    if (this.holdTimer && this.options.timers) this.options.timers.clear(this.holdTimer);
    this.holdTimer = 0;
  }
}
