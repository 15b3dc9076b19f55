/**
 * The network manager: Wi-Fi and LTE uplinks behind one interface, with priority and failover.
 *
 *  - Links in priority order (Wi-Fi first, LTE second). The active link is the best one that is up.
 *  - Failover at once when the active link goes down (its state, or `reportDead()` from a connection that
 *    found it dead: a link that says "up" but carries nothing is demoted for `deadHoldMs`).
 *  - Failback to a better link only once it has been up, without a drop, for `stableMs` (hysteresis), so a
 *    flapping Wi-Fi does not drag the OCPP connection back and forth.
 *  - `WebSocketClient` is a class in the HAL's shape that opens its connection on the active link: the HAL's
 *    own client for Wi-Fi, firmware/network/websocket.ts over the modem's sockets for LTE. Listeners hear of a
 *    switch (the OCPP connection reconnects on the new link); each switch and each link change is logged
 *    ("uplink" events) and `status()` has state and quality per link for the status and telemetry.
 */
import type { Hal, IoClass, Link, LinkInfo, TCP, TCPOptions, TimerId, WebSocketClient, WebSocketClientOptions } from "../../hal/index.js";
import { webSocketOverTcp } from "./websocket.js";

export type LinkName = "wifi" | "lte";

/** An uplink as the manager drives it. */
export interface Uplink {
  readonly name: LinkName;
  info(): LinkInfo;
  /** A WebSocket client class whose connections run over this link. */
  readonly WebSocketClient: IoClass<WebSocketClientOptions, WebSocketClient>;
  /** Raw TCP over this link (absent: none). */
  readonly TCP?: IoClass<TCPOptions, TCP>;
}

export interface NetworkManagerOptions {
  /** Failback hysteresis: a better link must be up this long before traffic moves to it, ms. */
  stableMs?: number;
  /** A link reported dead is not chosen again for this long (unless no other is up), ms. */
  deadHoldMs?: number;
  /** Period of the "uplink" quality log, ms (0: only on changes). */
  reportMs?: number;
}

export interface UplinkStatus {
  active: LinkName | null;
  links: Array<{ name: LinkName; state: string; rssi: number | null; quality: number | null; demoted: boolean }>;
  switches: number;
}

type SwitchListener = (from: LinkName | null, to: LinkName | null, reason: string) => void;

export class NetworkManager {
  private readonly links: Uplink[] = [];
  private _active: Uplink | null = null;
  private readonly upSince = new Map<LinkName, number>();
  private readonly demotedUntil = new Map<LinkName, number>();
  private readonly listeners: SwitchListener[] = [];
  private failbackTimer: TimerId | 0 = 0;
  private reportTimer: TimerId | 0 = 0;
  private readonly stableMs: number;
  private readonly deadHoldMs: number;
  readonly stats = { switches: 0, failovers: 0, failbacks: 0, deadReports: 0, lastSwitchAt: -1 };
  /** The HAL-shaped WebSocket client class bound to whichever link is active when it is constructed. */
  readonly WebSocketClient: IoClass<WebSocketClientOptions, WebSocketClient>;

  constructor(private readonly hal: Pick<Hal, "timers" | "clock" | "log">, options: NetworkManagerOptions = {}) {
    this.stableMs = options.stableMs ?? 30_000;
    this.deadHoldMs = options.deadHoldMs ?? 120_000;
    const self = this;
    this.WebSocketClient = function (this: unknown, o: WebSocketClientOptions): WebSocketClient {
      const link = self._active;
      if (!link) return new NoLinkClient(self.hal.timers, o);
      return new link.WebSocketClient(o);
    } as unknown as IoClass<WebSocketClientOptions, WebSocketClient>;
    const reportMs = options.reportMs ?? 60_000;
    if (reportMs > 0) this.reportTimer = hal.timers.set(() => this.report("periodic"), reportMs, reportMs);
  }

  /** Adds a link (call in priority order, best first) and evaluates. */
  add(link: Uplink): void {
    this.links.push(link);
    if (link.info().state === "up") this.upSince.set(link.name, this.hal.clock.now());
    this.evaluate("link added");
  }

  onSwitch(fn: SwitchListener): void {
    this.listeners.push(fn);
  }

  get active(): LinkName | null {
    return this._active ? this._active.name : null;
  }

  /** A link's state or quality changed (its driver says so). */
  changed(name: LinkName): void {
    const link = this.links.find((l) => l.name === name);
    if (!link) return;
    const up = link.info().state === "up";
    if (up && !this.upSince.has(name)) this.upSince.set(name, this.hal.clock.now());
    if (!up) this.upSince.delete(name);
    this.evaluate(`${name} ${link.info().state}`);
  }

  /** A connection found the active link dead (no answer to pings / calls): fail over if another is up. */
  reportDead(reason: string): void {
    const a = this._active;
    if (!a) return;
    const others = this.links.some((l) => l !== a && l.info().state === "up");
    if (!others) return;
    this.stats.deadReports++;
    this.demotedUntil.set(a.name, this.hal.clock.now() + this.deadHoldMs);
    this.upSince.delete(a.name);
    this.evaluate(`${a.name} dead: ${reason}`);
    // When the hold is over the link may be chosen again (after it has been stable for stableMs).
    this.hal.timers.set(() => this.evaluate(`${a.name} hold over`), this.deadHoldMs);
  }

  status(): UplinkStatus {
    const now = this.hal.clock.now();
    return {
      active: this.active,
      links: this.links.map((l) => {
        const i = l.info();
        return { name: l.name, state: i.state, rssi: i.rssi, quality: i.quality, demoted: (this.demotedUntil.get(l.name) ?? 0) > now };
      }),
      switches: this.stats.switches,
    };
  }

  stop(): void {
    if (this.failbackTimer) this.hal.timers.clear(this.failbackTimer);
    if (this.reportTimer) this.hal.timers.clear(this.reportTimer);
    this.failbackTimer = this.reportTimer = 0;
  }

  private usable(l: Uplink, now: number): boolean {
    return l.info().state === "up" && (this.demotedUntil.get(l.name) ?? 0) <= now;
  }

  private evaluate(reason: string): void {
    const now = this.hal.clock.now();
    const cur = this._active;
    const curOk = cur !== null && cur.info().state === "up" && (this.usable(cur, now) || !this.links.some((l) => l !== cur && this.usable(l, now)));
    let next: Uplink | null = curOk ? cur : null;
    if (!curOk) {
      next = this.links.find((l) => this.usable(l, now)) ?? this.links.find((l) => l.info().state === "up") ?? null;
    } else {
      // Failback: a better link, up and stable for stableMs.
      const idx = this.links.indexOf(cur!);
      let waitMs = -1;
      for (let i = 0; i < idx; i++) {
        const l = this.links[i]!;
        if (!this.usable(l, now)) continue;
        let since = this.upSince.get(l.name);
        if (since === undefined) {
          since = now;
          this.upSince.set(l.name, now);
        }
        if (now - since >= this.stableMs) {
          next = l;
          break;
        }
        const left = this.stableMs - (now - since);
        if (waitMs < 0 || left < waitMs) waitMs = left;
      }
      if (next === cur && waitMs >= 0) this.armFailback(waitMs);
    }
    if (next !== cur) this.switchTo(next, reason, curOk);
  }

  private armFailback(ms: number): void {
    if (this.failbackTimer) this.hal.timers.clear(this.failbackTimer);
    this.failbackTimer = this.hal.timers.set(() => {
      this.failbackTimer = 0;
      this.evaluate("stable");
    }, ms);
  }

  private switchTo(next: Uplink | null, reason: string, failback: boolean): void {
    const from = this._active ? this._active.name : null;
    this._active = next;
    const to = next ? next.name : null;
    this.stats.switches++;
    if (failback) this.stats.failbacks++;
    else if (from !== null) this.stats.failovers++;
    this.stats.lastSwitchAt = this.hal.clock.now();
    this.hal.log.event("uplink", { event: "switch", from: from ?? "none", to: to ?? "none", reason });
    this.report("switch");
    for (const l of this.listeners) l(from, to, reason);
  }

  private report(why: string): void {
    const s = this.status();
    const fields: Record<string, string | number | boolean | null> = { event: "links", why, active: s.active ?? "none" };
    for (const l of s.links) {
      fields[`${l.name}State`] = l.state;
      fields[`${l.name}Rssi`] = l.rssi;
      fields[`${l.name}Quality`] = l.quality;
    }
    this.hal.log.event("uplink", fields);
  }
}

/** What a connection attempt gets while no link is up: onError("ENETDOWN") on the next turn. */
class NoLinkClient implements WebSocketClient {
  readonly protocol = "";
  private closed = false;
  constructor(timers: Hal["timers"], o: WebSocketClientOptions) {
    const self = this;
    timers.set(() => {
      if (!self.closed) o.onError?.call(self, { code: "ENETDOWN", message: "no uplink is up" });
    }, 0);
  }
  read(): ArrayBuffer {
    throw new Error("WebSocketClient: not open");
  }
  write(): void {
    throw new Error("WebSocketClient: not open");
  }
  ping(): void {
    throw new Error("WebSocketClient: not open");
  }
  close(): void {
    this.closed = true;
  }
}

/** The Wi-Fi uplink: the HAL's own sockets and WebSocket client, its state from hal.network.WiFi (or always up). */
export function wifiUplink(hal: Hal, onChange: () => void): Uplink & { close(): void } {
  let link: Link | null = null;
  const W = hal.network.WiFi;
  if (W) {
    link = new W({
      onReadable() {
        onChange();
      },
    });
  }
  return {
    name: "wifi",
    info: () => (link ? link.read() : { state: "up", rssi: null, quality: null }),
    WebSocketClient: hal.network.WebSocketClient,
    TCP: hal.network.TCP,
    close: () => link?.close(),
  };
}

/** The LTE uplink over a modem driver's sockets (hal/drivers/lte). */
export function lteUplink(
  hal: Pick<Hal, "timers" | "crypto">,
  modem: { info: LinkInfo; TCP: IoClass<TCPOptions, TCP> },
): Uplink {
  return {
    name: "lte",
    info: () => modem.info,
    TCP: modem.TCP,
    WebSocketClient: webSocketOverTcp({ TCP: modem.TCP, timers: hal.timers, randomBytes: (n) => hal.crypto.randomBytes(n) }),
  };
}
