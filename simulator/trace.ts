/**
 * The trace: one JSON object per event, with its virtual time `t` in ms and a `kind`. This is an interface
 * for engineers and CI scripts (documented in README.md); keep the kinds and fields stable.
 *
 * Kinds written by the simulator (what the hardware saw): pwm {duty}, contactor {index, closed}, meter
 * {amps[], volts[], Wh}, ocpp {dir, frame}, ev {...}, sim {...}. Kinds written by the firmware through
 * hal.log: pilot {state}, limit {amps, reason, source}, status, fault, boot, ...
 */
import { createWriteStream, type WriteStream } from "node:fs";

export interface TraceEvent {
  t: number;
  kind: string;
  [field: string]: unknown;
}

export type TraceListener = (event: TraceEvent) => void;

export class Trace {
  /** Every event, when `keep` was set. */
  readonly events: TraceEvent[] = [];
  private readonly keep: boolean;
  private stream: WriteStream | null = null;
  private readonly listeners: TraceListener[] = [];

  constructor(options: { keep?: boolean; file?: string } = {}) {
    this.keep = options.keep ?? true;
    if (options.file) this.stream = createWriteStream(options.file);
  }

  emit(t: number, kind: string, fields: Record<string, unknown>): void {
    const event: TraceEvent = { t, kind, ...fields };
    if (this.keep) this.events.push(event);
    if (this.stream) this.stream.write(JSON.stringify(event) + "\n");
    for (const l of this.listeners) l(event);
  }

  on(listener: TraceListener): void {
    this.listeners.push(listener);
  }

  ofKind(kind: string): TraceEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = null;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
  }
}
