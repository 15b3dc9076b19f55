/**
 * OCPP 1.6J charge point: the connection's life cycle (BootNotification Accepted/Pending/Rejected, Heartbeat
 * with the clock taken from the CSMS, StatusNotification), strict validation of every frame, and the feature
 * profile modules of features/ installed on top (see context.ts).
 */
import type { Hal, KeyValue, MeterReading, TimerId } from "../../../hal/index.js";
import type { FirmwareConfig } from "../../config.js";
import type { LimitArbiter } from "../../control/arbiter.js";
import type { ConnectorLockControl } from "../../control/lock.js";
import type { Authorizer, ConnectorStatus, Session } from "../../session/session.js";
import { base64Encode } from "../../util/base64.js";
import type { Prng } from "../../util/prng.js";
import { isoTime, parseIsoTime } from "../../util/time.js";
import { utf8Encode } from "../../util/utf8.js";
import { OcppConnection, type CallResult } from "../rpc/connection.js";
import { RpcError } from "../rpc/errors.js";
import * as ocpp16 from "../schemas/ocpp16.gen.js";
import { MemoryTxStore, TxQueue, type TxStore } from "../transactions/queue.js";
import { validateWith, type OcppValidatorTable } from "../validate.js";
import type { CallHandler, DataTransferHandler, Ocpp16Context, Ocpp16Events, Ocpp16Feature, TriggerSender } from "./context.js";
import { FEATURES } from "./features/index.js";
import { ConfigurationKeys } from "./keys.js";

export const FIRMWARE_VERSION = "0.1.0";

const SCHEMAS = ocpp16 as unknown as OcppValidatorTable;

/**
 * CALLRESULTs of the 1.6 security extension that the generated 1.6 tables (the 28 actions of ocpp-messages) do
 * not know; ocpp-rpc's strict 1.6 schemas do. SecurityEventNotification.conf is an empty object.
 */
const EXTENSION_CONF: Record<string, (payload: Record<string, unknown>) => boolean> = {
  SecurityEventNotification: (p) => Object.keys(p).length === 0,
};

export type Registration = "none" | "pending" | "accepted" | "rejected";

export interface ChargePointDeps {
  hal: Hal;
  config: FirmwareConfig;
  session: Session;
  arbiter: LimitArbiter;
  meter: MeterReading;
  prng: Prng;
  /** Persistent store for OCPP state (configuration keys, availability, local list). */
  store?: KeyValue | null;
  txStore?: TxStore;
  /** The socket's cable lock (absent: fixed cable / none fitted). */
  lock?: ConnectorLockControl | null;
  /**
   * The network manager (firmware/network): the OCPP WebSocket is opened on its active uplink (Wi-Fi: the HAL's
   * client; LTE: the RFC 6455 client over the modem's sockets), reconnected when the uplink switches, and a dead
   * link found by the ping check is reported to it (failover). Absent: the HAL's WebSocketClient.
   */
  network?: OcppUplink | null;
  /** Feature profile modules to install (default: all of features/index.ts). */
  features?: readonly Ocpp16Feature[];
}

/** What the OCPP connection needs from the network manager (firmware/network/manager.ts). */
export interface OcppUplink {
  readonly WebSocketClient: Hal["network"]["WebSocketClient"];
  onSwitch(fn: (from: string | null, to: string | null, reason: string) => void): void;
  reportDead(reason: string): void;
}

export class ChargePoint16 implements Ocpp16Context {
  readonly rpc: OcppConnection;
  readonly tx: TxQueue;
  readonly keys: ConfigurationKeys;
  readonly hal: Hal;
  readonly config: FirmwareConfig;
  readonly session: Session;
  readonly arbiter: LimitArbiter;
  readonly meter: MeterReading;
  readonly store: KeyValue | null;
  readonly lock: ConnectorLockControl | null;
  readonly connectorId = 1;
  authorizer: Authorizer;
  private _registration: Registration = "none";
  private heartbeatTimer: TimerId | 0 = 0;
  private bootTimer: TimerId | 0 = 0;
  private lastStatus: { status: ConnectorStatus; errorCode: string } = { status: "Available", errorCode: "NoError" };
  private statusSent = "";
  private readonly handlers = new Map<string, CallHandler>();
  private readonly vendors = new Map<string, DataTransferHandler>();
  private readonly triggers = new Map<string, TriggerSender>();
  private statusTimer: TimerId | 0 = 0;
  private readonly listeners: Ocpp16Events[] = [];

  constructor(deps: ChargePointDeps) {
    this.hal = deps.hal;
    this.config = deps.config;
    this.session = deps.session;
    this.arbiter = deps.arbiter;
    this.meter = deps.meter;
    this.store = deps.store ?? null;
    this.lock = deps.lock ?? null;
    this.keys = new ConfigurationKeys(this.store);
    const cfg = deps.config;
    this.keys.define("HeartbeatInterval", {
      type: "integer",
      default: String(cfg.heartbeatIntervalS),
      min: 0,
      max: 86_400,
      onChange: () => this.startHeartbeat(),
    });
    this.keys.define("StopTransactionOnInvalidId", { type: "boolean", default: "true" });
    this.keys.define("WebSocketPingInterval", {
      type: "integer",
      default: String(cfg.webSocketPingIntervalS),
      min: 0,
      max: 3_600,
      onChange: (v) => this.rpc.setPingInterval(parseInt(v, 10) * 1000),
    });
    const headers: Record<string, string> = {};
    if (cfg.securityProfile === 1 || cfg.securityProfile === 2) {
      headers["Authorization"] = "Basic " + base64Encode(utf8Encode(`${cfg.chargePointId}:${cfg.basicAuthPassword}`));
    }
    const uplink = deps.network ?? null;
    // The connection's sockets come from the active uplink.
    const rpcHal: Hal = uplink ? { ...deps.hal, network: { ...deps.hal.network, WebSocketClient: uplink.WebSocketClient } } : deps.hal;
    this.rpc = new OcppConnection(rpcHal, {
      url: `${cfg.csmsUrl.replace(/\/+$/, "")}/${cfg.chargePointId}`,
      protocol: "ocpp1.6",
      headers,
      callTimeoutMs: cfg.callTimeoutMs,
      reconnectMinMs: cfg.reconnectMinMs,
      reconnectMaxMs: cfg.reconnectMaxMs,
      pingIntervalMs: this.keys.getInt("WebSocketPingInterval") * 1000,
      prng: deps.prng,
      handleCall: (action, payload) => this.dispatch(action, payload),
      checkResult: (action, payload) => {
        const ext = EXTENSION_CONF[action];
        if (ext) return ext(payload as Record<string, unknown>) ? null : new RpcError("FormationViolation", `bad ${action}.conf`);
        const invalid = validateWith(SCHEMAS, "1.6", action, "conf", payload);
        return invalid ? new RpcError(invalid.code, invalid.description, { path: invalid.path }) : null;
      },
      onOpen: () => this.opened(),
      onClose: (reason) => {
        // The ping check found the link open but silent: let the manager fail over to another uplink.
        if (uplink && reason.includes("link dead")) uplink.reportDead(reason);
        this.disconnected();
      },
      onConnectError: (e) => {
        for (const l of this.listeners) l.connectFailed?.(e);
      },
    });
    this.tx = new TxQueue(
      deps.txStore ?? new MemoryTxStore(),
      {
        send: (action, payload, done) => this.rpc.call(action, payload, done),
        ready: () => this.rpc.isOpen && this._registration === "accepted",
      },
      {
        maxAttempts: () => (this.keys.has("TransactionMessageAttempts") ? this.keys.getInt("TransactionMessageAttempts") : 3),
        retryIntervalMs: () => (this.keys.has("TransactionMessageRetryInterval") ? this.keys.getInt("TransactionMessageRetryInterval") * 1000 : 0),
        timers: deps.hal.timers,
        onStartConf: (session, result) => this.startConfirmed(session, result),
        onStopConf: (session, result, sent) => {
          const idTag = typeof sent["idTag"] === "string" ? (sent["idTag"] as string) : undefined;
          for (const l of this.listeners) l.stopConfirmed?.(session, idTag, result ?? {});
        },
        onGiveUp: (m, e) => this.log("ocpp-giveup", { action: m.action, session: m.session, code: e.code }),
      },
    );
    this.authorizer = (idTag, done) => this.authorizeOnline(idTag, done);
    deps.session.listen({
      status: (status, errorCode) => {
        this.lastStatus = { status, errorCode };
        this.reportStatus();
      },
    });
    for (const f of deps.features ?? FEATURES) f.install(this);
    uplink?.onSwitch((from, to, reason) => {
      this.log("ocpp-link", { event: "uplink", from: from ?? "none", to: to ?? "none", reason });
      if (to !== null) this.rpc.reconnect(`uplink ${from ?? "none"} -> ${to}`);
    });
  }

  /** StartTransaction.conf: an idTag the CSMS does not accept ends the session (StopTransactionOnInvalidId). */
  private startConfirmed(session: number, result: Record<string, unknown>): void {
    const info = result["idTagInfo"] as { status?: unknown } | undefined;
    this.log("transaction", { session, transactionId: Number(result["transactionId"]), status: String(info?.status) });
    const cur = this.session.current;
    if (info?.status !== "Accepted" && cur && cur.number === session && this.keys.getBool("StopTransactionOnInvalidId")) this.session.deauthorize();
    for (const l of this.listeners) l.startConfirmed?.(session, result);
  }

  get registration(): Registration {
    return this._registration;
  }

  get registered(): boolean {
    return this._registration === "accepted";
  }

  get online(): boolean {
    return this.rpc.isOpen;
  }

  get link(): OcppConnection {
    return this.rpc;
  }

  start(): void {
    this.rpc.connect();
  }

  stop(): void {
    for (const t of [this.heartbeatTimer, this.bootTimer, this.statusTimer]) if (t) this.hal.timers.clear(t);
    this.heartbeatTimer = this.bootTimer = this.statusTimer = 0;
    this.tx.stop();
    this.rpc.close();
  }

  handle(action: string, handler: CallHandler): void {
    if (this.handlers.has(action)) throw new Error(`OCPP action ${action} handled twice`);
    this.handlers.set(action, handler);
  }

  handles(action: string): boolean {
    return this.handlers.has(action);
  }

  registerVendor(vendorId: string, handler: DataTransferHandler): void {
    if (this.vendors.has(vendorId)) throw new Error(`DataTransfer vendor ${vendorId} registered twice`);
    this.vendors.set(vendorId, handler);
  }

  vendorHandler(vendorId: string): DataTransferHandler | undefined {
    return this.vendors.get(vendorId);
  }

  registerTrigger(message: string, send: TriggerSender): void {
    if (this.triggers.has(message)) throw new Error(`TriggerMessage ${message} registered twice`);
    this.triggers.set(message, send);
  }

  triggerSender(message: string): TriggerSender | undefined {
    return this.triggers.get(message);
  }

  call(action: string, payload: Record<string, unknown>, done?: CallResult): void {
    this.rpc.call(action, payload, done ?? (() => {}));
  }

  listen(events: Ocpp16Events): void {
    this.listeners.push(events);
  }

  now(): string {
    return isoTime(this.hal.clock.wall());
  }

  log(kind: string, fields: Record<string, number | string | boolean | number[] | null>): void {
    this.hal.log.event(kind, fields);
  }

  /** Strict validation of every CALL from the CSMS, then the feature's handler. */
  private dispatch(action: string, payload: unknown): Record<string, unknown> {
    const invalid = validateWith(SCHEMAS, "1.6", action, "req", payload);
    if (invalid) throw new RpcError(invalid.code, invalid.description, { path: invalid.path });
    const handler = this.handlers.get(action);
    // The schema table knows every 1.6 action (an unknown one was answered NotImplemented above): a known
    // action without a handler is one this charge point does not support (or one it only sends).
    if (!handler) throw new RpcError("NotSupported", `${action} is not supported by this charge point`);
    return handler(payload as Record<string, unknown>);
  }

  /** Authorize.req while online; offline, no (the local authorization module changes that). */
  private authorizeOnline(idTag: string, done: (accepted: boolean, detail: string) => void): void {
    if (!this.rpc.isOpen || this._registration !== "accepted") {
      done(false, "offline");
      return;
    }
    this.rpc.call("Authorize", { idTag }, (error, result) => {
      if (error || !result) {
        done(false, error ? error.code : "no answer");
        return;
      }
      const info = result["idTagInfo"] as { status?: unknown } | undefined;
      done(info?.status === "Accepted", String(info?.status ?? "missing idTagInfo"));
    });
  }

  private opened(): void {
    for (const l of this.listeners) l.connection?.(true);
    if (this._registration === "accepted") {
      // Registration holds across reconnects within a boot: resume at once.
      this.startHeartbeat();
      this.statusSent = "";
      this.sendStatus(this.connectorId);
      this.tx.pump();
    } else {
      this.boot();
    }
  }

  boot(): void {
    this.statusSent = "";
    const board = this.hal.board;
    this.rpc.call(
      "BootNotification",
      {
        chargePointVendor: board.vendor.slice(0, 20),
        chargePointModel: board.model.slice(0, 20),
        chargePointSerialNumber: board.serialNumber.slice(0, 25),
        firmwareVersion: FIRMWARE_VERSION,
      },
      (error, result) => {
        if (error || !result) {
          if (!error?.details["transport"]) this.retryBoot(this.config.heartbeatIntervalS * 1000);
          return;
        }
        const status = result["status"];
        const interval = typeof result["interval"] === "number" ? (result["interval"] as number) : 0;
        this.syncClock(result["currentTime"]);
        if (status === "Accepted") {
          const first = this._registration !== "accepted";
          this._registration = "accepted";
          if (interval > 0) this.keys.setInternal("HeartbeatInterval", String(interval));
          this.log("registration", { status: "Accepted", interval });
          this.startHeartbeat();
          this.sendStatus(0);
          this.sendStatus(this.connectorId);
          if (first) for (const l of this.listeners) l.registered?.();
          this.tx.pump();
        } else {
          this._registration = status === "Pending" ? "pending" : "rejected";
          this.log("registration", { status: String(status), interval });
          this.retryBoot(interval > 0 ? interval * 1000 : this.config.heartbeatIntervalS * 1000);
        }
      },
    );
  }

  private retryBoot(ms: number): void {
    if (this.bootTimer) this.hal.timers.clear(this.bootTimer);
    this.bootTimer = this.hal.timers.set(() => {
      this.bootTimer = 0;
      if (this.rpc.isOpen && this._registration !== "accepted") this.boot();
    }, ms);
  }

  private disconnected(): void {
    if (this.heartbeatTimer) this.hal.timers.clear(this.heartbeatTimer);
    this.heartbeatTimer = 0;
    // A pending or rejected charge point must boot again on the next connection.
    if (this._registration !== "accepted") this._registration = "none";
    for (const l of this.listeners) l.connection?.(false);
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer) this.hal.timers.clear(this.heartbeatTimer);
    this.heartbeatTimer = 0;
    const ms = this.keys.getInt("HeartbeatInterval") * 1000;
    if (ms <= 0 || !this.registered) return;
    this.heartbeatTimer = this.hal.timers.set(() => this.heartbeat(), ms, ms);
  }

  heartbeat(): void {
    if (!this.rpc.isOpen) return;
    this.rpc.call("Heartbeat", {}, (error, result) => {
      if (!error && result) this.syncClock(result["currentTime"]);
    });
  }

  private syncClock(value: unknown): void {
    if (typeof value !== "string") return;
    const ms = parseIsoTime(value);
    if (!Number.isFinite(ms) || ms <= 0) return;
    this.hal.clock.setWall(ms);
    for (const l of this.listeners) l.clockSet?.();
  }

  /**
   * A connector status change from the session: sent once it has lasted MinimumStatusDuration (when a module
   * defines that key), and only when it differs from what was sent last.
   */
  private reportStatus(): void {
    if (this.statusTimer) this.hal.timers.clear(this.statusTimer);
    this.statusTimer = 0;
    const min = this.keys.has("MinimumStatusDuration") ? this.keys.getInt("MinimumStatusDuration") : 0;
    if (min > 0) {
      this.statusTimer = this.hal.timers.set(() => {
        this.statusTimer = 0;
        this.sendChangedStatus();
      }, min * 1000);
      return;
    }
    this.sendChangedStatus();
  }

  private sendChangedStatus(): void {
    const { status, errorCode } = this.lastStatus;
    if (`${this.connectorId}:${status}:${errorCode}` !== this.statusSent) this.sendStatus(this.connectorId);
  }

  sendStatus(connectorId: number): void {
    if (!this.rpc.isOpen || this._registration !== "accepted") return;
    const { status, errorCode } =
      connectorId === 0 ? { status: this.session.available ? "Available" : "Unavailable", errorCode: "NoError" } : this.lastStatus;
    if (connectorId !== 0) this.statusSent = `${connectorId}:${status}:${errorCode}`;
    this.rpc.call("StatusNotification", { connectorId, errorCode, status, timestamp: this.now() }, () => {});
  }
}
