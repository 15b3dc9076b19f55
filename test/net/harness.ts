/**
 * Test harness: a virtual-time scheduler, the embedded CSMS on the virtual clock, the simulated network,
 * and a scripted charge point (a bare WebSocketClient whose events are logged with their virtual time).
 */
import { EmbeddedCsms, type EmbeddedCsmsOptions } from "../../simulator/csms/index.js";
import { createSimNetwork, ocppCallExpectsReply, type SimNetwork, type SimNetworkOptions } from "../../simulator/net/index.js";
import { Scheduler } from "../../simulator/scheduler.js";
import type { HalError, WebSocketClient, WebSocketClientOptions } from "../../hal/index.js";

export const EPOCH = Date.UTC(2025, 0, 1);

export interface Rig {
  scheduler: Scheduler;
  csms: EmbeddedCsms;
  net: SimNetwork;
  /** onFrame trace: [t, dir, text]. */
  frames: [number, "in" | "out", string][];
  teardown(): Promise<void>;
}

export async function rig(options: { csms?: Partial<EmbeddedCsmsOptions>; net?: Partial<SimNetworkOptions> } = {}): Promise<Rig> {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const csms = await EmbeddedCsms.start({
    clock: () => EPOCH + scheduler.now,
    hold: (label) => scheduler.hold(label),
    ...options.csms,
  });
  const frames: [number, "in" | "out", string][] = [];
  const net = createSimNetwork({
    scheduler,
    expectsReply: ocppCallExpectsReply,
    onFrame: (dir, text) => frames.push([scheduler.now, dir, text]),
    ...options.net,
  });
  return {
    scheduler,
    csms,
    net,
    frames,
    async teardown() {
      net.shutdown();
      await csms.close();
    },
  };
}

export type CpEvent =
  | { t: number; ev: "open"; protocol: string; bytes: number }
  | { t: number; ev: "message"; frame: unknown; binary: boolean }
  | { t: number; ev: "pong" }
  | { t: number; ev: "close"; code: number; reason: string }
  | { t: number; ev: "error"; code: string };

const enc = new TextEncoder();

/** A scripted charge point: logs every callback with its virtual time; `reply` answers CSMS CALLs. */
export class ScriptedCp {
  readonly events: CpEvent[] = [];
  readonly ws: WebSocketClient;
  /** Answers a CSMS CALL [2,id,action,payload]: return the CALLRESULT payload, or undefined for none. */
  reply: ((action: string, payload: unknown) => unknown) | undefined;
  onOpen: (() => void) | undefined;
  onMessage: ((frame: unknown) => void) | undefined;

  constructor(
    private readonly r: Rig,
    id: string,
    extra: Partial<WebSocketClientOptions> = {},
  ) {
    const sched = r.scheduler;
    const self = this;
    this.ws = new r.net.WebSocketClient({
      url: `${r.csms.url}/${id}`,
      protocols: ["ocpp1.6"],
      ...extra,
      onWritable(bytes) {
        if (this !== self.ws) throw new Error("this is not the instance");
        self.events.push({ t: sched.now, ev: "open", protocol: this.protocol, bytes });
        self.onOpen?.();
      },
      onReadable(_bytes, info) {
        const text = Buffer.from(this.read()).toString("utf8");
        let frame: unknown = text;
        try {
          frame = JSON.parse(text);
        } catch {
          // keep text
        }
        self.events.push({ t: sched.now, ev: "message", frame, binary: info.binary });
        if (Array.isArray(frame) && frame[0] === 2 && self.reply) {
          const answer = self.reply(frame[2] as string, frame[3]);
          if (answer !== undefined) self.send([3, frame[1], answer]);
        }
        self.onMessage?.(frame);
      },
      onPong() {
        self.events.push({ t: sched.now, ev: "pong" });
      },
      onClose(code, reason) {
        self.events.push({ t: sched.now, ev: "close", code, reason });
      },
      onError(e: HalError) {
        self.events.push({ t: sched.now, ev: "error", code: e.code });
      },
    });
  }

  send(frame: unknown): void {
    this.ws.write(enc.encode(typeof frame === "string" ? frame : JSON.stringify(frame)));
  }

  last(ev: CpEvent["ev"]): CpEvent | undefined {
    return [...this.events].reverse().find((e) => e.ev === ev);
  }

  messages(): unknown[] {
    return this.events.filter((e) => e.ev === "message").map((e) => (e as { frame: unknown }).frame);
  }
}

export const BOOT = { chargePointVendor: "Acme", chargePointModel: "Wallbox-1" };
