/**
 * The bounded offline buffer of the MQTT telemetry, with its drop policy (see README.md "Offline buffer"):
 *
 *  - The STATE is not queued: one slot holds the latest state; it replaces the previous one and is published
 *    first (retained) on reconnect. It is never dropped.
 *  - Everything else (measurements, events, command replies) is queued in order within `maxBytes` (topic +
 *    payload bytes + 16 per entry).
 *  - Over budget: the OLDEST MEASUREMENT is dropped first; only when no measurement is left is the oldest
 *    event/reply dropped. An entry larger than the whole budget is dropped at once. Drops are counted per kind;
 *    the telemetry reports them in a "dropped" event after the backlog on reconnect.
 */
export type EntryKind = "measurement" | "event";

export interface BufferedMessage {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
  kind: EntryKind;
}

export const ENTRY_OVERHEAD = 16;

export class OfflineQueue {
  private readonly q: BufferedMessage[] = [];
  private used = 0;
  state: BufferedMessage | null = null;
  droppedMeasurements = 0;
  droppedEvents = 0;

  constructor(readonly maxBytes: number) {}

  get length(): number {
    return this.q.length;
  }

  get bytes(): number {
    return this.used;
  }

  static size(m: BufferedMessage): number {
    return m.topic.length + m.payload.byteLength + ENTRY_OVERHEAD;
  }

  push(m: BufferedMessage): void {
    const size = OfflineQueue.size(m);
    if (size > this.maxBytes) {
      this.count(m.kind);
      return;
    }
    this.q.push(m);
    this.used += size;
    while (this.used > this.maxBytes) this.dropOne();
  }

  /** Takes the oldest entry, or undefined. */
  shift(): BufferedMessage | undefined {
    const m = this.q.shift();
    if (m) this.used -= OfflineQueue.size(m);
    return m;
  }

  /** Puts an entry back at the head (a write failed). */
  unshift(m: BufferedMessage): void {
    this.q.unshift(m);
    this.used += OfflineQueue.size(m);
    while (this.used > this.maxBytes) this.dropOne();
  }

  /** Kinds in queue order, for tests. */
  kinds(): EntryKind[] {
    return this.q.map((m) => m.kind);
  }

  private dropOne(): void {
    let i = this.q.findIndex((m) => m.kind === "measurement");
    if (i < 0) i = 0;
    const [m] = this.q.splice(i, 1);
    if (!m) return;
    this.used -= OfflineQueue.size(m);
    this.count(m.kind);
  }

  private count(kind: EntryKind): void {
    if (kind === "measurement") this.droppedMeasurements++;
    else this.droppedEvents++;
  }
}
