/**
 * Transaction-related messages (StartTransaction, StopTransaction, MeterValues of a transaction) must never
 * be lost: each is stored before it is sent and removed only after its CALLRESULT, then replayed in order
 * after a reconnect or a reboot. The storage is pluggable: `MemoryTxStore` here, the flash journal
 * (firmware/storage/journal.ts) on the device.
 *
 * A StopTransaction or MeterValues queued before the StartTransaction.conf arrived refers to the local
 * session number; the transactionId from the CSMS is applied when it is known.
 */
import type { RpcError } from "../rpc/errors.js";

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

export interface TxStore {
  append(message: Omit<TxMessage, "seq">): number;
  remove(seq: number): void;
  update(seq: number, payload: Record<string, unknown>, attempts: number): void;
  /** Live messages in order. */
  all(): TxMessage[];
}

/**
 * RAM store, bounded: when full, the oldest droppable message (an intermediate MeterValues) is dropped to make
 * room; a start or a stop is never dropped (past the bound they are still kept: losing them is worse).
 */
export class MemoryTxStore implements TxStore {
  private readonly items: TxMessage[] = [];
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
}

export interface TxSender {
  /** Sends one message; `done` gets the CALLRESULT payload or the error. */
  send(action: TxAction, payload: Record<string, unknown>, done: (error: RpcError | null, result: Record<string, unknown> | null) => void): void;
  /** True when messages may be sent now (connected and registered). */
  ready(): boolean;
}

export interface TxQueueOptions {
  /** How often a message the CSMS answers with a CALLERROR is tried (TransactionMessageAttempts). */
  maxAttempts: number;
  /** Called with the StartTransaction.conf of a session. */
  onStartConf(session: number, result: Record<string, unknown>): void;
  /** Called when a message is given up (CALLERROR `maxAttempts` times). */
  onGiveUp(message: TxMessage, error: RpcError): void;
}

/** Sends stored transaction messages strictly in order, one at a time. */
export class TxQueue {
  private busy = false;
  /** session number -> transactionId from the CSMS */
  private readonly txIds = new Map<number, number>();
  readonly stats = { sent: 0, retried: 0, givenUp: 0 };

  constructor(
    private readonly store: TxStore,
    private readonly sender: TxSender,
    private readonly options: TxQueueOptions,
  ) {}

  /** The CSMS's transactionId for a session, if known. */
  transactionId(session: number): number | undefined {
    return this.txIds.get(session);
  }

  enqueue(action: TxAction, session: number, payload: Record<string, unknown>, droppable = false): void {
    this.store.append({ action, session, payload, droppable, attempts: 0 });
    this.pump();
  }

  get length(): number {
    return this.store.all().length;
  }

  /** Sends the next message if possible. Call after (re)connection too. */
  pump(): void {
    if (this.busy || !this.sender.ready()) return;
    const next = this.store.all()[0];
    if (!next) return;
    let payload = next.payload;
    if (next.action !== "StartTransaction") {
      const id = this.txIds.get(next.session);
      if (id === undefined) {
        // The StartTransaction of this session has not been answered: it must be ahead in the queue.
        // If it is not (it was given up), the CSMS never assigned an id: use -1... never: skip sending.
        if (!this.store.all().some((m) => m.action === "StartTransaction" && m.session === next.session)) {
          this.store.remove(next.seq);
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
        if (error.details.transport) return; // connection lost: resend after reconnect, same order
        const attempts = next.attempts + 1;
        if (attempts >= this.options.maxAttempts) {
          this.store.remove(next.seq);
          this.stats.givenUp++;
          this.options.onGiveUp(next, error);
        } else {
          this.stats.retried++;
          this.store.update(next.seq, next.payload, attempts);
        }
        this.pump();
        return;
      }
      this.stats.sent++;
      if (next.action === "StartTransaction" && result) {
        const id = result["transactionId"];
        if (typeof id === "number") this.txIds.set(next.session, id);
        this.options.onStartConf(next.session, result);
      }
      this.store.remove(next.seq);
      this.pump();
    });
  }
}
