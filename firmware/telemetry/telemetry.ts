/**
 * MQTT telemetry and control through the HAL's MQTTClient (the `mqtt` package on Node, Moddable's client on the
 * device). Topic layout, payloads, drop policy, commands and the mosquitto ACL: README.md in this folder.
 *
 * - One connection with a will (<base>/status "offline", retained, QoS 1); on connect: status "online", config and
 *   Home Assistant discovery (retained), SUBSCRIBE <base>/cmd/+ (QoS 1), then the latest state (retained, QoS 1),
 *   then the offline backlog in order, then a "dropped" event if the buffer had to drop anything.
 * - A dead link is the HAL's business (keep-alive PINGREQ without PINGRESP -> onError): the instance is closed
 *   and a new one is made after a back-off (1 s doubling to 60 s, ±20 % jitter from the firmware PRNG).
 * - Commands become the limit arbiter's "user" claim (shared with the local UI: the lower wins; pause = 0 A). Every claim made here has an
 *   expiry: the command's ttl, at most mqttCommandMaxHoldS; a timer at the expiry withdraws it, so the loop
 *   sees it within one control period.
 */
import type { Hal, MQTTClient, TimerId } from "../../hal/index.js";
import type { UserClaim } from "./user-claim.js";
import type { Session } from "../session/session.js";
import { encodeCbor } from "../util/cbor.js";
import type { Prng } from "../util/prng.js";
import { utf8Encode } from "../util/utf8.js";
import { OfflineQueue, type BufferedMessage, type EntryKind } from "./buffer.js";
import { CommandError, decodePayload, parseCommand, type Command } from "./commands.js";
import { discoveryMessages, haNodeId } from "./discovery.js";

export type PayloadFormat = "cbor" | "json";

export interface TelemetryConfig {
  host: string;
  port: number;
  tls: boolean;
  ca: string;
  clientId: string;
  user: string;
  password: string;
  /** Charger id (one topic level). */
  chargerId: string;
  prefix: string;
  format: PayloadFormat;
  keepAliveS: number;
  bufferBytes: number;
  measurementIntervalMs: number;
  maxHoldS: number;
  discovery: boolean;
  discoveryPrefix: string;
  /** For discovery: the number entity's range. */
  maxAmps: number;
}

export interface TelemetrySnapshot {
  pilot: string;
  connector: string;
  contactor: boolean;
  fault: string;
  signalledAmps: number;
  limit: { amps: number; source: string; reason: string };
  amps: number[];
  volts: number[];
  powerW: number;
  energyWh: number;
  session: { number: number; idTag: string; transactionId: number | null; wh: number } | null;
}

export interface TelemetryDeps {
  hal: Hal;
  /** The "user" claim, shared with the local UI. */
  claim: UserClaim;
  session: Session;
  prng: Prng;
  snapshot(): TelemetrySnapshot;
  /** Starts charging where OCPP allows it locally; returns an error text when it does not. */
  start(): string | null;
}

export interface TelemetryStats {
  connects: number;
  published: number;
  publishedBytes: number;
  commands: number;
  rejectedCommands: number;
  expired: number;
}

const STATE_POLL_MS = 500;
const STATE_REFRESH_MS = 60_000;

export class Telemetry {
  readonly base: string;
  readonly buffer: OfflineQueue;
  readonly stats: TelemetryStats = { connects: 0, published: 0, publishedBytes: 0, commands: 0, rejectedCommands: 0, expired: 0 };
  private client: MQTTClient | null = null;
  private online = false;
  private stopped = true;
  private reconnectTimer: TimerId = 0;
  private backoffMs = 1_000;
  private pollTimer: TimerId = 0;
  private measureTimer: TimerId = 0;
  private lastKey = "";
  private lastStateAt = -Infinity;
  private lastStateWh = -1;
  /** The command limit (A) and pause, with their expiry (monotonic ms). */
  private limit: number | null = null;
  private limitUntil = 0;
  private limitTimer: TimerId = 0;
  private paused = false;
  private pauseUntil = 0;
  private pauseTimer: TimerId = 0;
  private lastFault = "";

  constructor(
    private readonly cfg: TelemetryConfig,
    private readonly d: TelemetryDeps,
  ) {
    this.base = `${cfg.prefix}/${cfg.chargerId}`;
    this.buffer = new OfflineQueue(cfg.bufferBytes);
  }

  get connected(): boolean {
    return this.online;
  }

  /** The command claim now: {amps, paused} (for status and tests). */
  get commandClaim(): { amps: number | null; paused: boolean } {
    return { amps: this.limit, paused: this.paused };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const hal = this.d.hal;
    this.d.session.listen({
      started: (s) => this.event({ event: "session-started", session: s.number, idTag: s.idTag, meterStartWh: s.meterStartWh }),
      ended: (s) => this.event({ event: "session-ended", session: s.number, reason: s.stopReason ?? "Other", wh: s.meterStopWh - s.meterStartWh }),
      authorizationRejected: (idTag, detail) => this.event({ event: "authorization-rejected", idTag, detail }),
    });
    this.pollTimer = hal.timers.set(() => this.checkState(), STATE_POLL_MS, STATE_POLL_MS);
    this.measureTimer = hal.timers.set(() => this.measure(), this.cfg.measurementIntervalMs, this.cfg.measurementIntervalMs);
    this.checkState();
    this.connect();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const t = this.d.hal.timers;
    for (const id of [this.pollTimer, this.measureTimer, this.reconnectTimer, this.limitTimer, this.pauseTimer]) if (id) t.clear(id);
    this.pollTimer = this.measureTimer = this.reconnectTimer = this.limitTimer = this.pauseTimer = 0;
    this.drop();
  }

  /** Publishes an event (QoS 1, buffered while offline). */
  event(fields: Record<string, unknown>): void {
    this.publish(`${this.base}/events`, { ...this.stamp(), ...fields }, 1, false, "event");
  }

  // ------------------------------------------------------------------ connection

  private connect(): void {
    if (this.stopped || this.client) return;
    const self = this;
    const c = this.cfg;
    const hal = this.d.hal;
    try {
      this.client = new hal.network.MQTTClient({
        host: c.host,
        port: c.port,
        id: c.clientId,
        ...(c.user ? { user: c.user } : {}),
        ...(c.password ? { password: c.password } : {}),
        keepAlive: c.keepAliveS * 1000,
        clean: true,
        will: { topic: `${this.base}/status`, message: utf8Encode("offline"), QoS: 1, retain: true },
        ...(c.tls ? { secure: c.ca ? { ca: [c.ca] } : {} } : {}),
        onWritable() {
          if (self.client !== this || self.online) return;
          self.connected_();
        },
        onReadable(_n, info) {
          if (self.client !== this) return;
          let data: ArrayBuffer;
          try {
            data = this.read();
          } catch {
            return;
          }
          self.onMessage(info.topic, new Uint8Array(data));
        },
        onClose() {
          if (self.client === this) self.lost("closed by broker");
        },
        onError(e) {
          if (self.client === this) self.lost(e.code);
        },
      });
    } catch (e) {
      hal.log.event("telemetry", { event: "connect-error", error: (e as Error).message });
      this.client = null;
      this.retry();
    }
  }

  private connected_(): void {
    const client = this.client!;
    this.online = true;
    this.backoffMs = 1_000;
    this.stats.connects++;
    this.d.hal.log.event("telemetry", { event: "connected", connects: this.stats.connects });
    try {
      this.raw(`${this.base}/status`, utf8Encode("online"), 1, true);
      this.raw(`${this.base}/config`, this.encode(this.configPayload()), 1, true);
      if (this.cfg.discovery) {
        for (const m of discoveryMessages(this.cfg, this.base)) this.raw(m.topic, utf8Encode(m.payload), 1, true);
      }
      client.subscribe(`${this.base}/cmd/+`, 1);
      // The newest state first (retained), then the backlog in order.
      this.checkState(true);
      this.flush();
      const dm = this.buffer.droppedMeasurements;
      const de = this.buffer.droppedEvents;
      if (dm > 0 || de > 0) {
        this.buffer.droppedMeasurements = 0;
        this.buffer.droppedEvents = 0;
        this.event({ event: "dropped", measurements: dm, events: de });
      }
      this.measure();
    } catch (e) {
      this.lost((e as Error).message);
    }
  }

  private lost(why: string): void {
    if (!this.client) return;
    this.d.hal.log.event("telemetry", { event: "disconnected", why });
    this.drop();
    this.retry();
  }

  private drop(): void {
    const c = this.client;
    this.client = null;
    this.online = false;
    if (c) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
  }

  private retry(): void {
    if (this.stopped || this.reconnectTimer) return;
    const base = this.backoffMs;
    this.backoffMs = base * 2 > 60_000 ? 60_000 : base * 2;
    const wait = Math.round(base * (0.8 + 0.4 * this.d.prng.float()));
    this.reconnectTimer = this.d.hal.timers.set(() => {
      this.reconnectTimer = 0;
      this.connect();
    }, wait);
  }

  // ------------------------------------------------------------------ publishing

  private encode(value: unknown): Uint8Array {
    return this.cfg.format === "cbor" ? encodeCbor(value) : utf8Encode(JSON.stringify(value));
  }

  /** Wall time with its synchronisation status: never a time without saying whether it is trusted. */
  private stamp(): { t: number; synced: boolean } {
    const clock = this.d.hal.clock;
    return { t: clock.wall(), synced: clock.synchronized };
  }

  private publish(topic: string, value: unknown, qos: 0 | 1, retain: boolean, kind: EntryKind | "state"): void {
    const m: BufferedMessage = { topic, payload: this.encode(value), qos, retain, kind: kind === "state" ? "event" : kind };
    if (kind === "state") this.buffer.state = m;
    if (this.online && this.client) {
      // the backlog first, so the order holds
      if (kind !== "state" && this.buffer.length > 0) this.flush();
      if (this.online && this.write(m)) {
        if (kind === "state") this.buffer.state = null;
        return;
      }
    }
    if (kind !== "state") this.buffer.push(m);
  }

  private flush(): void {
    const st = this.buffer.state;
    if (st && this.write(st)) this.buffer.state = null;
    for (let m = this.buffer.shift(); m; m = this.buffer.shift()) {
      if (!this.write(m)) {
        this.buffer.unshift(m);
        return;
      }
    }
  }

  private write(m: BufferedMessage): boolean {
    if (!this.online || !this.client) return false;
    try {
      this.client.write(m.payload, { topic: m.topic, QoS: m.qos, retain: m.retain });
    } catch (e) {
      this.lost((e as Error).message);
      return false;
    }
    this.stats.published++;
    this.stats.publishedBytes += m.payload.byteLength;
    return true;
  }

  /** Unbuffered publish of a retained announcement (status, config, discovery). */
  private raw(topic: string, payload: Uint8Array, qos: 0 | 1, retain: boolean): void {
    this.client!.write(payload, { topic, QoS: qos, retain });
    this.stats.published++;
    this.stats.publishedBytes += payload.byteLength;
  }

  private configPayload(): Record<string, unknown> {
    return {
      chargerId: this.cfg.chargerId,
      format: this.cfg.format,
      measurementIntervalS: this.cfg.measurementIntervalMs / 1000,
      maxHoldS: this.cfg.maxHoldS,
      limitSource: "user",
      maxAmps: this.cfg.maxAmps,
      commands: ["limit", "pause", "resume", "start", "stop"],
    };
  }

  /** The EV's state of charge, % (ISO 15118 / DIN 70121, Session.evSoc), or null while none is known. */
  private soc(): number | null {
    const soc = this.d.session.evSoc;
    return typeof soc === "number" && soc >= 0 && soc <= 100 ? round1(soc) : null;
  }

  /** The state payload (retained); `soc` only while the EV's state of charge is known. */
  stateValue(s: TelemetrySnapshot): Record<string, unknown> {
    const soc = this.soc();
    return {
      ...this.stamp(),
      pilot: s.pilot,
      connector: s.connector,
      contactor: s.contactor,
      fault: s.fault,
      pwmAmps: s.signalledAmps,
      limit: { amps: s.limit.amps, source: s.limit.source, reason: s.limit.reason },
      paused: this.paused,
      session: s.session ? { number: s.session.number, idTag: s.session.idTag, transactionId: s.session.transactionId, wh: round1(s.session.wh) } : null,
      energyWh: round1(s.energyWh),
      ...(soc !== null ? { soc } : {}),
    };
  }

  /** The measurement payload; `soc` only while the EV's state of charge is known. */
  measurementValue(s: TelemetrySnapshot): Record<string, unknown> {
    const soc = this.soc();
    const v: Record<string, unknown> = { ...this.stamp(), amps: s.amps.map(round2), volts: s.volts.map(round1), powerW: Math.round(s.powerW), energyWh: round1(s.energyWh) };
    if (soc !== null) v["soc"] = soc;
    return v;
  }

  private checkState(force = false): void {
    const s = this.d.snapshot();
    if (s.fault !== this.lastFault) {
      if (s.fault || this.lastFault) this.event({ event: s.fault ? "fault" : "fault-cleared", fault: s.fault || this.lastFault });
      this.lastFault = s.fault;
    }
    const se = s.session;
    const key = `${s.pilot}|${s.connector}|${s.contactor}|${s.fault}|${s.signalledAmps}|${s.limit.amps}|${s.limit.source}|${s.limit.reason}|${this.paused}|${se ? `${se.number}/${se.transactionId}` : "-"}|${this.soc()}`;
    const now = this.d.hal.clock.now();
    const refresh = now - this.lastStateAt >= STATE_REFRESH_MS && Math.abs(s.energyWh - this.lastStateWh) >= 1;
    if (!force && key === this.lastKey && !refresh) return;
    this.lastKey = key;
    this.lastStateAt = now;
    this.lastStateWh = s.energyWh;
    this.publish(`${this.base}/state`, this.stateValue(s), 1, true, "state");
    this.publishHa(s);
  }

  private measure(): void {
    const s = this.d.snapshot();
    this.publish(`${this.base}/measurements`, this.measurementValue(s), 0, false, "measurement");
    this.publishHa(s);
  }

  /** Home Assistant's JSON view (retained, latest only, not buffered). */
  private publishHa(s: TelemetrySnapshot): void {
    if (!this.cfg.discovery || !this.online || !this.client) return;
    let amps = 0;
    for (const a of s.amps) if (a > amps) amps = a;
    const v = {
      state: s.connector,
      current: round2(amps),
      power: Math.round(s.powerW),
      energy: Math.round(s.energyWh) / 1000,
      limit: s.limit.amps,
      limit_reason: `${s.limit.source}: ${s.limit.reason}`,
      paused: this.paused ? "ON" : "OFF",
    };
    this.write({ topic: `${this.base}/ha`, payload: utf8Encode(JSON.stringify(v)), qos: 0, retain: true, kind: "measurement" });
  }

  // ------------------------------------------------------------------ commands

  private onMessage(topic: string, data: Uint8Array): void {
    const prefix = `${this.base}/cmd/`;
    if (!topic.startsWith(prefix)) return;
    const name = topic.slice(prefix.length);
    this.stats.commands++;
    let cmd: Command;
    try {
      cmd = parseCommand(name, decodePayload(data), this.cfg.maxHoldS);
    } catch (e) {
      this.stats.rejectedCommands++;
      const ce = e instanceof CommandError ? e : new CommandError("BadPayload", String(e));
      const known = ce.code !== "UnknownCommand";
      const body = { ok: false, error: ce.code, message: ce.message, cmd: name.slice(0, 32) };
      this.publish(known ? `${this.base}/reply/${name}` : `${this.base}/error`, { ...this.stamp(), ...body }, 1, false, "event");
      this.d.hal.log.event("telemetry", { event: "command-rejected", cmd: name.slice(0, 32), error: ce.code });
      return;
    }
    const error = this.apply(cmd);
    const id = cmd.id !== undefined ? { id: cmd.id } : {};
    if (error) {
      this.stats.rejectedCommands++;
      this.publish(`${this.base}/reply/${name}`, { ...this.stamp(), ok: false, error: "NotAllowed", message: error, cmd: name, ...id }, 1, false, "event");
      return;
    }
    const reply: Record<string, unknown> = { ...this.stamp(), ok: true, cmd: name, ...id };
    if (cmd.name === "limit" || cmd.name === "pause") {
      const until = cmd.name === "limit" ? this.limitUntil : this.pauseUntil;
      if ((cmd.name === "limit" && this.limit !== null) || cmd.name === "pause") reply["holdS"] = Math.round((until - this.d.hal.clock.now()) / 1000);
    }
    this.publish(`${this.base}/reply/${name}`, reply, 1, false, "event");
    this.d.hal.log.event("telemetry", { event: "command", cmd: name });
    this.checkState();
  }

  /** Applies a validated command; returns an error text when it is not allowed now. */
  private apply(cmd: Command): string | null {
    const hal = this.d.hal;
    const holdMs = (ttl: number | undefined) => Math.round((ttl ?? this.cfg.maxHoldS) * 1000);
    switch (cmd.name) {
      case "limit": {
        if (this.limitTimer) hal.timers.clear(this.limitTimer);
        this.limitTimer = 0;
        if (cmd.amps === null) {
          this.limit = null;
        } else {
          const ms = holdMs(cmd.ttl);
          this.limit = cmd.amps;
          this.limitUntil = hal.clock.now() + ms;
          this.limitTimer = hal.timers.set(() => {
            this.limitTimer = 0;
            this.limit = null;
            this.expired("limit");
          }, ms);
        }
        this.claim();
        return null;
      }
      case "pause": {
        if (this.pauseTimer) hal.timers.clear(this.pauseTimer);
        const ms = holdMs(cmd.ttl);
        this.paused = true;
        this.pauseUntil = hal.clock.now() + ms;
        this.pauseTimer = hal.timers.set(() => {
          this.pauseTimer = 0;
          this.paused = false;
          this.expired("pause");
        }, ms);
        this.claim();
        return null;
      }
      case "resume":
        if (this.pauseTimer) hal.timers.clear(this.pauseTimer);
        this.pauseTimer = 0;
        this.paused = false;
        this.claim();
        return null;
      case "start":
        return this.d.start();
      case "stop":
        if (!this.d.session.current) return "no session to stop";
        this.d.session.requestStop("Local");
        return null;
    }
  }

  private expired(what: "limit" | "pause"): void {
    this.stats.expired++;
    this.claim();
    this.event({ event: "command-expired", cmd: what });
    this.checkState();
  }

  /** The commands' part of the "user" claim: 0 A while paused, else the limit, else none. */
  private claim(): void {
    const c = this.d.claim;
    if (this.paused) c.setMqtt(0, "mqtt pause");
    else if (this.limit !== null) c.setMqtt(this.limit, "mqtt limit");
    else c.setMqtt(null, "");
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export { haNodeId };
