/**
 * A simulated SITE: N charge points (each a Simulation with its own World, DeviceHal, storage and firmware)
 * on ONE Scheduler and one MQTT broker, a site meter that publishes the site's total current per line, and a
 * monitor that measures how long the site limit is exceeded.
 *
 * Determinism across chargers: simulator/net holds virtual time for what a client's own sends cause, but a
 * message published by charger A and delivered to charger B is not held by B's client. The SiteBus below
 * closes that gap inside the site: it decorates every MQTT client of the site, remembers their subscriptions,
 * and when one publishes, holds virtual time until every OTHER connected site client whose subscription
 * matches has had the message delivered (or died). A charger that is power-cut takes a hold for its will
 * the same way. So a publish reaches every subscriber at the same virtual instant in every run.
 * Not covered (and not needed by the site scenarios): a broker that is killed (the test holds until every
 * client has noticed: holdUntilDisconnected()).
 */
import type { HalError, MQTTClient, MQTTClientOptions, MQTTReadableInfo, MQTTWriteOptions, MeterReading } from "../hal/index.js";
import { createSimNetwork, type SimNetwork } from "./net/index.js";
import type { Release, Scheduler } from "./scheduler.js";
import { Scheduler as SchedulerClass } from "./scheduler.js";
import { parseScenario } from "./scenario.js";
import { Simulation, type Boot, type SimulationResult } from "./simulation.js";

type Bytes = Uint8Array;

interface Tracked {
  net: SimNetwork;
  id: string;
  subs: string[];
  connected: boolean;
  will: { topic: string; message: Bytes } | null;
  /** The message read ahead by the bus for the firmware's read(). */
  pending: ArrayBuffer | undefined;
}

interface Delivery {
  topic: string;
  data: Bytes;
  waiting: Set<Tracked>;
  release: Release;
}

function toBytes(d: ArrayBuffer | Uint8Array | DataView): Bytes {
  if (d instanceof ArrayBuffer) return new Uint8Array(d.slice(0));
  if (d instanceof Uint8Array) return d.slice();
  return new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
}

function same(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** MQTT topic filter matching (+ and #). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Cross-client delivery holds for the MQTT clients of one site (see the file comment). */
export class SiteBus {
  private readonly clients = new Set<Tracked>();
  private readonly deliveries: Delivery[] = [];
  private disconnectWait: Release | null = null;
  /** Deliveries held and completed (for tests). */
  readonly stats = { held: 0, completed: 0, abandoned: 0 };

  constructor(private readonly scheduler: Scheduler) {}

  get connectedCount(): number {
    let n = 0;
    for (const c of this.clients) if (c.connected) n++;
    return n;
  }

  /** Holds virtual time until every site client has lost its connection (use when killing the broker). */
  holdUntilDisconnected(label = "site: every client notices the broker loss"): void {
    if (this.connectedCount === 0) return;
    this.disconnectWait = this.scheduler.hold(label);
  }

  decorate(net: SimNetwork): SimNetwork {
    const bus = this;
    const Base = net.MQTTClient;
    const BusMQTTClient = function (options: MQTTClientOptions): MQTTClient {
      const rec: Tracked = {
        net,
        id: options.id,
        subs: [],
        connected: false,
        will: options.will ? { topic: options.will.topic, message: toBytes(options.will.message) } : null,
        pending: undefined,
      };
      // eslint-disable-next-line prefer-const
      let w: MQTTClient;
      const inner = new Base({
        ...options,
        onWritable(n: number) {
          if (!rec.connected) {
            rec.connected = true;
            bus.clients.add(rec);
          }
          return options.onWritable?.call(w, n);
        },
        onReadable(n: number, info: MQTTReadableInfo) {
          const data = inner.read();
          rec.pending = data;
          bus.delivered(rec, info.topic, new Uint8Array(data));
          return options.onReadable?.call(w, n, info);
        },
        onClose() {
          bus.gone(rec);
          return options.onClose?.call(w);
        },
        onError(e: HalError) {
          bus.gone(rec);
          return options.onError?.call(w, e);
        },
      });
      w = {
        read(): ArrayBuffer {
          const d = rec.pending;
          if (d === undefined) return inner.read();
          rec.pending = undefined;
          return d;
        },
        write(data: ArrayBuffer | Uint8Array | DataView, o: MQTTWriteOptions): void {
          const release = bus.published(rec, o && typeof o.topic === "string" ? o.topic : "", data);
          try {
            inner.write(data, o);
          } catch (e) {
            release();
            throw e;
          }
        },
        subscribe(topic: string, QoS?: 0 | 1): void {
          inner.subscribe(topic, QoS);
          rec.subs.push(topic);
        },
        unsubscribe(topic: string): void {
          inner.unsubscribe(topic);
          const i = rec.subs.indexOf(topic);
          if (i >= 0) rec.subs.splice(i, 1);
        },
        close(): void {
          bus.gone(rec);
          inner.close();
        },
      };
      return w;
    } as unknown as SimNetwork["MQTTClient"];
    const faults = net.faults;
    const wrappedFaults: SimNetwork["faults"] = {
      blackhole(on: boolean): void {
        faults.blackhole(on);
        if (on) for (const c of [...bus.clients]) if (c.net === net) bus.unwait(c);
      },
      dropAll: () => faults.dropAll(),
      refuse: (on: boolean) => faults.refuse(on),
      get blackholed() {
        return faults.blackholed;
      },
      get refusing() {
        return faults.refusing;
      },
    };
    // Everything else (sockets, WebSocket, HTTP, whatever the network grows) is the network's own.
    const out = Object.create(net) as SimNetwork;
    Object.defineProperties(out, {
      MQTTClient: { value: BusMQTTClient },
      faults: { value: wrappedFaults },
      shutdown: {
        value(): void {
          // A power cut: the broker will publish the wills of this net's connected clients.
          for (const c of [...bus.clients]) {
            if (c.net !== net) continue;
            if (c.connected && c.will && !faults.blackholed) bus.published(c, c.will.topic, c.will.message);
            bus.gone(c);
          }
          net.shutdown();
        },
      },
    });
    return out;
  }

  /** A publish: hold until every other matching site subscriber has it. Returns a release for a failed write. */
  published(from: Tracked, topic: string, data: ArrayBuffer | Uint8Array | DataView): Release {
    if (from.net.faults.blackholed || topic === "") return () => {};
    const waiting = new Set<Tracked>();
    for (const c of this.clients) {
      if (c === from || !c.connected || c.net.faults.blackholed) continue;
      if (c.subs.some((f) => topicMatches(f, topic))) waiting.add(c);
    }
    if (waiting.size === 0) return () => {};
    const d: Delivery = { topic, data: toBytes(data), waiting, release: this.scheduler.hold(`site bus ${topic}`) };
    this.stats.held++;
    this.deliveries.push(d);
    return () => this.finish(d, true);
  }

  private delivered(rec: Tracked, topic: string, data: Bytes): void {
    for (const d of this.deliveries) {
      if (d.topic === topic && d.waiting.has(rec) && same(d.data, data)) {
        d.waiting.delete(rec);
        if (d.waiting.size === 0) this.finish(d, false);
        return;
      }
    }
  }

  private unwait(rec: Tracked): void {
    for (const d of [...this.deliveries]) {
      if (d.waiting.delete(rec) && d.waiting.size === 0) this.finish(d, true);
    }
  }

  private gone(rec: Tracked): void {
    rec.connected = false;
    this.clients.delete(rec);
    this.unwait(rec);
    if (this.disconnectWait && this.connectedCount === 0) {
      const r = this.disconnectWait;
      this.disconnectWait = null;
      r();
    }
  }

  private finish(d: Delivery, abandoned: boolean): void {
    const i = this.deliveries.indexOf(d);
    if (i < 0) return;
    this.deliveries.splice(i, 1);
    if (abandoned) this.stats.abandoned++;
    else this.stats.completed++;
    d.release();
  }
}

export interface SiteChargerSpec {
  /** Charge point id (also the leader-election order). Default CP-<n>, n from 1. */
  id?: string;
  /** EV plugged at this virtual time (ms); absent: no EV. */
  plugAt?: number;
  /** EV parameters (simulator/models/ev.ts), e.g. { phases: 1, maxCurrent: 32 }. */
  ev?: Record<string, unknown>;
  /** Power cut (the charger dies) at this virtual time, for offMs (default: for the rest of the run). */
  powerCutAt?: number;
  offMs?: number;
  /** Extra scenario events. */
  events?: Array<Record<string, unknown>>;
  /** Config overrides for this charger (e.g. siteOnePhaseLine). */
  config?: Record<string, unknown>;
}

export interface SiteOptions {
  chargers: SiteChargerSpec[];
  broker: { host: string; port: number };
  mode: "meter" | "leader";
  /** Site budget, A per line. */
  limit: number;
  durationMs: number;
  seed?: number;
  /** Config common to every charger (on top of the site keys). */
  config?: Record<string, unknown>;
  /** Site meter: publish period (ms) and a non-EV load (A per line). Published in meter mode only. */
  meter?: { periodMs?: number; baseLoad?: [number, number, number] };
  /** Monitor sampling period, ms (default 100). */
  sampleMs?: number;
  group?: string;
}

export interface SiteSample {
  t: number;
  lines: [number, number, number];
}

export interface SiteResult {
  ok: boolean;
  problems: string[];
  virtualMs: number;
  /** Longest continuous time the site limit was exceeded on any line, ms (sampled). */
  longestOverMs: number;
  /** Largest line current seen, A. */
  maxLineAmps: number;
  results: SimulationResult[];
  holdTimeouts: number;
}

export type SiteBoot = (index: number) => Boot;

export class Site {
  readonly scheduler: Scheduler;
  readonly bus: SiteBus;
  readonly sims: Simulation[] = [];
  readonly ids: string[] = [];
  /** What each charger's boot function returned last (firmware/main.ts FirmwareHandle on Node). */
  readonly handles: unknown[] = [];
  readonly samples: SiteSample[] = [];
  /** Called after every monitor sample. */
  onSample: ((s: SiteSample) => void) | null = null;
  private meterNet: SimNetwork | null = null;
  private meterClient: MQTTClient | null = null;
  private meterUp = false;
  private overSince = -1;
  private longestOver = 0;
  private maxLine = 0;
  private readonly reading: MeterReading = { voltage: [0, 0, 0], current: [0, 0, 0], power: [0, 0, 0], frequency: 0, energyImport: 0, energyExport: 0 };
  private readonly lineOf: number[] = [];

  private constructor(readonly options: SiteOptions) {
    this.scheduler = new SchedulerClass({ holdTimeoutMs: 5_000 });
    this.bus = new SiteBus(this.scheduler);
  }

  static async create(options: SiteOptions): Promise<Site> {
    const site = new Site(options);
    const group = options.group ?? "site";
    const seed = options.seed ?? 1;
    for (let i = 0; i < options.chargers.length; i++) {
      const c = options.chargers[i]!;
      const id = c.id ?? `CP-${i + 1}`;
      const events: Array<Record<string, unknown>> = [];
      if (c.plugAt !== undefined) events.push({ at: c.plugAt, do: "plug", ...(c.ev ? { ev: c.ev } : {}) });
      if (c.powerCutAt !== undefined) events.push({ at: c.powerCutAt, do: "powerCut", offMs: c.offMs ?? options.durationMs * 2 });
      for (const e of c.events ?? []) events.push(e);
      events.sort((a, b) => (a["at"] as number) - (b["at"] as number));
      const config = {
        chargePointId: id,
        freeCharging: true,
        loadBalancing: options.mode,
        siteGroup: group,
        siteBrokerHost: options.broker.host,
        siteBrokerPort: options.broker.port,
        siteCurrentLimit: options.limit,
        statusIntervalMs: 60_000,
        ...(options.config ?? {}),
        ...(c.config ?? {}),
      };
      site.lineOf.push(((config as Record<string, unknown>)["siteOnePhaseLine"] as number | undefined) ?? 1);
      const scenario = parseScenario(
        JSON.stringify({ name: `site ${id}`, seed: seed + i, duration: options.durationMs, board: { serialNumber: `SITE-${i + 1}` }, config, events }),
        `site ${id}`,
      );
      const sim = await Simulation.create({ scenario, scheduler: site.scheduler, keepTrace: false, decorateNetwork: (net) => site.bus.decorate(net) });
      site.sims.push(sim);
      site.ids.push(id);
      site.handles.push(null);
    }
    return site;
  }

  /** Site current per line now (A), from every charger's world. */
  lineCurrents(): [number, number, number] {
    const out: [number, number, number] = [0, 0, 0];
    const now = this.scheduler.now;
    for (let i = 0; i < this.sims.length; i++) {
      const w = this.sims[i]!.world;
      w.advance(now);
      const m = w.readMeter(this.reading);
      const rot = this.lineOf[i]! - 1;
      for (let k = 0; k < 3; k++) out[(k + rot) % 3]! += m.current[k]!;
    }
    const base = this.options.meter?.baseLoad;
    if (base) for (let k = 0; k < 3; k++) out[k]! += base[k]!;
    return out;
  }

  /** Starts every charger with `boot(i)`, the site meter and the monitor; runs until durationMs. */
  async run(boot: SiteBoot): Promise<SiteResult> {
    for (let i = 0; i < this.sims.length; i++) {
      const b = boot(i);
      await this.sims[i]!.start((hal, config) => {
        const h = b(hal, config);
        this.handles[i] = h;
        return h;
      });
    }
    if (this.options.mode === "meter") this.startMeter();
    const period = this.options.sampleMs ?? 100;
    const sample = (): void => {
      const lines = this.lineCurrents();
      const t = this.scheduler.now;
      const over = lines.some((a) => a > this.options.limit + 1e-6);
      for (const a of lines) this.maxLine = Math.max(this.maxLine, a);
      if (over && this.overSince < 0) this.overSince = t;
      if (this.overSince >= 0) this.longestOver = Math.max(this.longestOver, t - this.overSince);
      if (!over) this.overSince = -1;
      const s: SiteSample = { t, lines };
      this.samples.push(s);
      this.onSample?.(s);
      this.scheduler.after(period, sample);
    };
    this.scheduler.after(period, sample);
    await this.scheduler.run(this.options.durationMs);
    const results = this.sims.map((s) => s.result());
    const problems: string[] = [];
    results.forEach((r, i) => {
      for (const p of r.problems) problems.push(`${this.ids[i]}: ${p}`);
    });
    return {
      ok: problems.length === 0,
      problems,
      virtualMs: this.scheduler.now,
      longestOverMs: this.longestOver,
      maxLineAmps: Math.round(this.maxLine * 100) / 100,
      results,
      holdTimeouts: this.scheduler.stats.holdTimeouts,
    };
  }

  /** The site meter's network faults (blackhole = the feed goes silent while its connection stays up). */
  get meterFaults(): SimNetwork["faults"] | null {
    return this.meterNet ? this.meterNet.faults : null;
  }

  private startMeter(): void {
    const group = this.options.group ?? "site";
    const period = this.options.meter?.periodMs ?? 1_000;
    const net = this.bus.decorate(createSimNetwork({ scheduler: this.scheduler }));
    this.meterNet = net;
    const site = this;
    this.meterClient = new net.MQTTClient({
      host: this.options.broker.host,
      port: this.options.broker.port,
      id: "site-meter",
      keepAlive: 60_000,
      onWritable() {
        site.meterUp = true;
      },
      onClose() {
        site.meterUp = false;
      },
      onError() {
        site.meterUp = false;
      },
    });
    const enc = new TextEncoder();
    const publish = (): void => {
      if (this.meterUp && this.meterClient) {
        const lines = this.lineCurrents().map((a) => Math.round(a * 10) / 10);
        this.meterClient.write(enc.encode(JSON.stringify({ amps: lines })), { topic: `lb/${group}/meter`, QoS: 0 });
      }
      this.scheduler.after(period, publish);
    };
    this.scheduler.after(period, publish);
  }

  async close(): Promise<void> {
    try {
      this.meterClient?.close();
    } catch {
      // already closed
    }
    this.meterNet?.shutdown();
    for (const s of this.sims) await s.close();
  }
}
