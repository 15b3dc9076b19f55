/**
 * OCPP 1.6J charge point, core profile: registration (BootNotification Accepted/Pending/Rejected),
 * Heartbeat with the clock taken from the CSMS, StatusNotification, Authorize, Start/StopTransaction and
 * sampled MeterValues through the transaction queue, RemoteStart/RemoteStopTransaction.
 *
 * One connector (id 1). The remaining 1.6 profiles slot in as handlers in `handleCall` and listeners of
 * the session.
 */
import type { Hal, MeterReading, TimerId } from "../../../hal/index.js";
import type { FirmwareConfig } from "../../config.js";
import type { ConnectorStatus, Session, SessionInfo } from "../../session/session.js";
import { base64Encode } from "../../util/base64.js";
import type { Prng } from "../../util/prng.js";
import { isoTime, parseIsoTime } from "../../util/time.js";
import { utf8Encode } from "../../util/utf8.js";
import { OcppConnection } from "../rpc/connection.js";
import { RpcError } from "../rpc/errors.js";
import { MemoryTxStore, TxQueue, type TxStore } from "../transactions/queue.js";
import * as ocpp16 from "../schemas/ocpp16.gen.js";
import { validateWith, type OcppValidatorTable } from "../validate.js";

const SCHEMAS = ocpp16 as unknown as OcppValidatorTable;

export const FIRMWARE_VERSION = "0.1.0";

export type Registration = "none" | "pending" | "accepted" | "rejected";

export interface ChargePointDeps {
  hal: Hal;
  config: FirmwareConfig;
  session: Session;
  meter: MeterReading;
  prng: Prng;
  txStore?: TxStore;
}

const CONNECTOR = 1;

export class ChargePoint16 {
  readonly rpc: OcppConnection;
  readonly tx: TxQueue;
  private _registration: Registration = "none";
  private heartbeatMs: number;
  private heartbeatTimer: TimerId | 0 = 0;
  private bootTimer: TimerId | 0 = 0;
  private sampleTimer: TimerId | 0 = 0;
  private lastStatus: { status: ConnectorStatus; errorCode: string } = { status: "Available", errorCode: "NoError" };
  private statusSent: string = "";
  private readonly hal: Hal;
  private readonly config: FirmwareConfig;
  private readonly session: Session;
  private readonly meter: MeterReading;

  constructor(deps: ChargePointDeps) {
    this.hal = deps.hal;
    this.config = deps.config;
    this.session = deps.session;
    this.meter = deps.meter;
    this.heartbeatMs = deps.config.heartbeatIntervalS * 1000;
    const cfg = deps.config;
    const headers: Record<string, string> = {};
    if (cfg.securityProfile === 1 || cfg.securityProfile === 2) {
      headers["Authorization"] = "Basic " + base64Encode(utf8Encode(`${cfg.chargePointId}:${cfg.basicAuthPassword}`));
    }
    this.rpc = new OcppConnection(deps.hal, {
      url: `${cfg.csmsUrl.replace(/\/+$/, "")}/${cfg.chargePointId}`,
      protocol: "ocpp1.6",
      headers,
      callTimeoutMs: cfg.callTimeoutMs,
      reconnectMinMs: cfg.reconnectMinMs,
      reconnectMaxMs: cfg.reconnectMaxMs,
      pingIntervalMs: 0,
      prng: deps.prng,
      handleCall: (action, payload) => {
        // Strict validation of every CALL from the CSMS: a bad one gets the spec's CALLERROR and changes nothing.
        const invalid = validateWith(SCHEMAS, "1.6", action, "req", payload);
        if (invalid) throw new RpcError(invalid.code, invalid.description, { path: invalid.path });
        return this.handleCall(action, payload);
      },
      checkResult: (action, payload) => {
        const invalid = validateWith(SCHEMAS, "1.6", action, "conf", payload);
        return invalid ? new RpcError(invalid.code, invalid.description, { path: invalid.path }) : null;
      },
      onOpen: () => this.boot(),
      onClose: () => this.disconnected(),
    });
    this.tx = new TxQueue(deps.txStore ?? new MemoryTxStore(), {
      send: (action, payload, done) => this.rpc.call(action, payload, done),
      ready: () => this.rpc.isOpen && this._registration === "accepted",
    }, {
      maxAttempts: 3,
      onStartConf: (session, result) => this.onStartConf(session, result),
      onGiveUp: (m, e) => this.hal.log.event("ocpp-giveup", { action: m.action, session: m.session, code: e.code }),
    });
    deps.session.listen({
      started: (s) => this.started(s),
      ended: (s) => this.ended(s),
      status: (status, errorCode) => {
        this.lastStatus = { status, errorCode };
        this.sendStatus();
      },
    });
  }

  get registration(): Registration {
    return this._registration;
  }

  start(): void {
    this.rpc.connect();
  }

  stop(): void {
    for (const t of [this.heartbeatTimer, this.bootTimer, this.sampleTimer]) if (t) this.hal.timers.clear(t);
    this.heartbeatTimer = this.bootTimer = this.sampleTimer = 0;
    this.rpc.close();
  }

  /** The session's authorizer: Authorize.req while online; offline, no (local lists come with the auth profile). */
  authorize(idTag: string, done: (accepted: boolean, detail: string) => void): void {
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

  private boot(): void {
    this.statusSent = "";
    const board = this.hal.board;
    this.rpc.call("BootNotification", {
      chargePointVendor: board.vendor.slice(0, 20),
      chargePointModel: board.model.slice(0, 20),
      chargePointSerialNumber: board.serialNumber.slice(0, 25),
      firmwareVersion: FIRMWARE_VERSION,
    }, (error, result) => {
      if (error || !result) {
        if (!error?.details.transport) this.retryBoot(this.config.heartbeatIntervalS * 1000);
        return;
      }
      const status = result["status"];
      const interval = typeof result["interval"] === "number" ? (result["interval"] as number) : 0;
      this.syncClock(result["currentTime"]);
      if (status === "Accepted") {
        this._registration = "accepted";
        if (interval > 0) this.heartbeatMs = interval * 1000;
        this.hal.log.event("registration", { status: "Accepted", interval });
        this.startHeartbeat();
        this.sendStatus(0);
        this.sendStatus();
        this.tx.pump();
      } else {
        this._registration = status === "Pending" ? "pending" : "rejected";
        this.hal.log.event("registration", { status: String(status), interval });
        this.retryBoot(interval > 0 ? interval * 1000 : this.config.heartbeatIntervalS * 1000);
      }
    });
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
    // Registration holds across reconnects (OCPP 1.6 4.2: boot once per boot), but a rejected or pending
    // charge point must boot again.
    if (this._registration !== "accepted") this._registration = "none";
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer) this.hal.timers.clear(this.heartbeatTimer);
    this.heartbeatTimer = this.hal.timers.set(() => {
      if (!this.rpc.isOpen) return;
      this.rpc.call("Heartbeat", {}, (error, result) => {
        if (!error && result) this.syncClock(result["currentTime"]);
      });
    }, this.heartbeatMs, this.heartbeatMs);
  }

  private syncClock(value: unknown): void {
    if (typeof value !== "string") return;
    const ms = parseIsoTime(value);
    if (!Number.isFinite(ms) || ms <= 0) return;
    this.hal.clock.setWall(ms);
  }

  private sendStatus(connectorId = CONNECTOR): void {
    if (!this.rpc.isOpen || this._registration !== "accepted") return;
    const { status, errorCode } = connectorId === 0 ? { status: this.session.available ? "Available" : "Unavailable", errorCode: "NoError" } : this.lastStatus;
    const key = `${connectorId}:${status}:${errorCode}`;
    if (connectorId !== 0 && key === this.statusSent) return;
    if (connectorId !== 0) this.statusSent = key;
    this.rpc.call("StatusNotification", { connectorId, errorCode, status, timestamp: this.now() }, () => {});
  }

  private now(): string {
    return isoTime(this.hal.clock.wall());
  }

  private started(s: SessionInfo): void {
    this.tx.enqueue("StartTransaction", s.number, {
      connectorId: CONNECTOR,
      idTag: s.idTag,
      meterStart: Math.floor(s.meterStartWh),
      timestamp: isoTime(s.startWall),
    });
    const interval = this.config.meterValueSampleIntervalS * 1000;
    if (interval > 0) {
      this.sampleTimer = this.hal.timers.set(() => this.sample(s), interval, interval);
    }
  }

  private sample(s: SessionInfo): void {
    if (this.session.current !== s) return;
    const m = this.meter;
    const sampled: Array<Record<string, unknown>> = [
      { value: m.energyImport.toFixed(0), context: "Sample.Periodic", measurand: "Energy.Active.Import.Register", unit: "Wh" },
      { value: (m.power[0]! + m.power[1]! + m.power[2]!).toFixed(0), context: "Sample.Periodic", measurand: "Power.Active.Import", unit: "W" },
    ];
    const phases = this.hal.board.phases;
    for (let i = 0; i < phases; i++) {
      sampled.push({ value: m.current[i]!.toFixed(1), context: "Sample.Periodic", measurand: "Current.Import", phase: `L${i + 1}`, unit: "A" });
    }
    for (let i = 0; i < phases; i++) {
      sampled.push({ value: m.voltage[i]!.toFixed(1), context: "Sample.Periodic", measurand: "Voltage", phase: `L${i + 1}-N`, unit: "V" });
    }
    this.tx.enqueue("MeterValues", s.number, { connectorId: CONNECTOR, meterValue: [{ timestamp: this.now(), sampledValue: sampled }] }, true);
  }

  private ended(s: SessionInfo): void {
    if (this.sampleTimer) this.hal.timers.clear(this.sampleTimer);
    this.sampleTimer = 0;
    const payload: Record<string, unknown> = {
      meterStop: Math.floor(s.meterStopWh),
      timestamp: this.now(),
      reason: s.stopReason ?? "Other",
    };
    if (s.stopIdTag) payload["idTag"] = s.stopIdTag;
    // transactionId is filled in by the queue once StartTransaction.conf has assigned it.
    this.tx.enqueue("StopTransaction", s.number, payload);
  }

  private onStartConf(session: number, result: Record<string, unknown>): void {
    const info = result["idTagInfo"] as { status?: unknown } | undefined;
    this.hal.log.event("transaction", { session, transactionId: Number(result["transactionId"]), status: String(info?.status) });
    const cur = this.session.current;
    if (info?.status !== "Accepted" && cur && cur.number === session) this.session.deauthorize();
  }

  private handleCall(action: string, payload: unknown): Record<string, unknown> {
    const p = payload as Record<string, unknown>;
    switch (action) {
      case "RemoteStartTransaction": {
        const idTag = p["idTag"];
        if (typeof idTag !== "string" || idTag.length === 0) throw new RpcError("OccurenceConstraintViolation", "idTag is required");
        if (idTag.length > 20) throw new RpcError("PropertyConstraintViolation", "idTag is longer than 20 characters");
        if (p["connectorId"] !== undefined && p["connectorId"] !== CONNECTOR) return { status: "Rejected" };
        if (this.session.current || !this.session.available) return { status: "Rejected" };
        this.session.present(idTag, "remote");
        return { status: "Accepted" };
      }
      case "RemoteStopTransaction": {
        const id = p["transactionId"];
        if (typeof id !== "number" || !Number.isInteger(id)) throw new RpcError("TypeConstraintViolation", "transactionId must be an integer");
        const cur = this.session.current;
        if (!cur || this.tx.transactionId(cur.number) !== id) return { status: "Rejected" };
        this.session.requestStop("Remote");
        return { status: "Accepted" };
      }
      case "BootNotification":
      case "Heartbeat":
      case "StatusNotification":
      case "Authorize":
      case "StartTransaction":
      case "StopTransaction":
      case "MeterValues":
        throw new RpcError("NotSupported", `${action} is sent by the charge point, not received`);
      default:
        throw new RpcError("NotImplemented", `${action} is not implemented`);
    }
  }
}
