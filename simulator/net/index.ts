/**
 * The simulator's network services: hal/network.ts's `Network` on Node (node:net/tls/dgram, `ws`, `mqtt`),
 * run against virtual time. See README.md in this folder for the hold rules and the fault model.
 */
import type { Network } from "../../hal/network.js";
import type { Scheduler } from "../scheduler.js";
import type { NetContext, ReplyPredicate } from "./common.js";
import { httpClientClass } from "./http.js";
import { listenerClass } from "./listener.js";
import { mqttClientClass } from "./mqtt.js";
import { tcpClass } from "./tcp.js";
import { udpClass } from "./udp.js";
import { webSocketClientClass } from "./websocket.js";

export type { ReplyPredicate } from "./common.js";

export interface SimNetworkOptions {
  scheduler: Scheduler;
  /**
   * True when a sent message will be answered by the peer (the send then holds virtual time until the next
   * message arrives on that connection). Text WebSocket messages are passed as strings, everything else
   * as ArrayBuffer. Default: never.
   */
  expectsReply?: ReplyPredicate;
  /** Trace hook for text WebSocket messages: "out" when written, "in" when delivered to the firmware. */
  onFrame?: (dir: "in" | "out", text: string) => void;
  /** Private keys (PEM) by the names TlsOptions.key uses: the simulator's stand-in for a secure element. */
  keys?: Record<string, string>;
  /** The byte count reported by onWritable. Default 65536. */
  writeWindow?: number;
}

/** Network faults for scenarios. Each call takes effect at the current virtual time, deterministically. */
export interface NetFaults {
  /**
   * On: every packet is silently dropped, both ways (WebSocket messages/pings/pongs, MQTT packets, TCP
   * bytes, UDP datagrams); sockets stay open and nothing arrives. New connections do not complete until it
   * is switched off (then they proceed). A real connection that died meanwhile is reported (onError) when
   * it is switched off.
   */
  blackhole(on: boolean): void;
  /** Resets every live connection (TCP, TLS, WebSocket, MQTT; also pending connects): onError("ECONNRESET"). */
  dropAll(): void;
  /** On: new connections fail with onError("ECONNREFUSED") and no real I/O. */
  refuse(on: boolean): void;
  readonly blackholed: boolean;
  readonly refusing: boolean;
}

// Listener stays optional in the type (decorators may leave it out); createSimNetwork provides it (listener.ts).
export interface SimNetwork extends Required<Omit<Network, "Listener">>, Pick<Network, "Listener"> {
  readonly faults: NetFaults;
  /** Number of live connections (for tests and leak checks). */
  readonly liveConnections: number;
  /** Destroys every real socket without posting anything (test/simulation teardown). */
  shutdown(): void;
}

/** Text starting with "[2," after optional whitespace: an OCPP-J CALL, which the peer answers. */
export function ocppCallExpectsReply(data: ArrayBuffer | string): boolean {
  return typeof data === "string" && /^\s*\[\s*2\s*,/.test(data);
}

export function createSimNetwork(options: SimNetworkOptions): SimNetwork {
  if (!options || typeof options !== "object" || !options.scheduler) throw new TypeError("createSimNetwork: scheduler is required");
  const ctx: NetContext = {
    scheduler: options.scheduler,
    expectsReply: options.expectsReply ?? (() => false),
    onFrame: options.onFrame,
    keys: { ...(options.keys ?? {}) },
    blackholed: false,
    refusing: false,
    live: new Set(),
    writeWindow: options.writeWindow ?? 65536,
  };
  const faults: NetFaults = {
    blackhole(on: boolean): void {
      if (typeof on !== "boolean") throw new TypeError("blackhole(on: boolean)");
      if (ctx.blackholed === on) return;
      ctx.blackholed = on;
      for (const t of [...ctx.live]) t.blackholeChanged(on);
    },
    dropAll(): void {
      for (const t of [...ctx.live]) t.reset();
    },
    refuse(on: boolean): void {
      if (typeof on !== "boolean") throw new TypeError("refuse(on: boolean)");
      ctx.refusing = on;
    },
    get blackholed() {
      return ctx.blackholed;
    },
    get refusing() {
      return ctx.refusing;
    },
  };
  return {
    TCP: tcpClass(ctx),
    UDP: udpClass(ctx),
    WebSocketClient: webSocketClientClass(ctx),
    MQTTClient: mqttClientClass(ctx),
    HTTPClient: httpClientClass(ctx),
    Listener: listenerClass(ctx),
    faults,
    get liveConnections() {
      return ctx.live.size;
    },
    shutdown(): void {
      for (const t of [...ctx.live]) t.destroy();
      ctx.live.clear();
    },
  };
}
