/**
 * What an OCPP 1.6 feature profile module sees of the charge point. Each module in features/ exports an
 * `install(ctx)` that registers the CALLs it answers, defines the configuration keys it owns and listens to
 * the events it needs; nothing else in the stack has to change when a profile is added.
 */
import type { Hal, KeyValue, MeterReading } from "../../../hal/index.js";
import type { FirmwareConfig } from "../../config.js";
import type { LimitArbiter } from "../../control/arbiter.js";
import type { ConnectorLockControl } from "../../control/lock.js";
import type { Authorizer, Session } from "../../session/session.js";
import type { CallResult, RpcEndpoint } from "../rpc/connection.js";
import type { HalError } from "../../../hal/index.js";
import type { TxQueue } from "../transactions/queue.js";
import type { ConfigurationKeys } from "./keys.js";

/** Answers a CALL from the CSMS (payload already validated against the 1.6 schema). Throw RpcError to refuse. */
export type CallHandler = (payload: Record<string, unknown>) => Record<string, unknown>;

/**
 * Answers a DataTransfer.req from the CSMS for one vendorId (already schema-validated): return the
 * DataTransfer.conf payload ({status: "Accepted" | "Rejected" | "UnknownMessageId", data?}).
 */
export type DataTransferHandler = (messageId: string | undefined, data: string | undefined) => { status: string; data?: string };

/** Sends the message a TriggerMessage.req asked for (connectorId as requested, or undefined); runs after the .conf. */
export type TriggerSender = (connectorId: number | undefined) => void;

export interface Ocpp16Events {
  /** BootNotification was accepted (also after a reconnect that needed a new boot). */
  registered?(): void;
  /** The WebSocket opened (true) or was lost (false). */
  connection?(open: boolean): void;
  /** StartTransaction.conf of a local session arrived (its idTagInfo feeds the authorization cache). */
  startConfirmed?(session: number, result: Record<string, unknown>): void;
  /** StopTransaction.conf arrived; `idTag` is the StopTransaction.req's (undefined: stopped without one). */
  stopConfirmed?(session: number, idTag: string | undefined, result: Record<string, unknown>): void;
  /** A connection attempt failed before it opened (code ETLS: certificate refused; EHTTP401: credentials). */
  connectFailed?(error: HalError): void;
  /** The wall clock was set from the CSMS (BootNotification / Heartbeat currentTime). */
  clockSet?(): void;
}

/** The WebSocket link to the CSMS, for the modules that change how it connects (security profiles, ping). */
export interface Ocpp16Link {
  /** The endpoint the next connection uses. */
  readonly target: RpcEndpoint;
  /** Changes URL, headers or TLS parameters from the next connection on. */
  configure(endpoint: Partial<RpcEndpoint>): void;
  /** Drops the connection and connects again now (new credentials, new security profile). */
  reconnect(reason: string): void;
  /** WebSocket ping and dead-link check period, ms (0 = off). */
  setPingInterval(ms: number): void;
}

export interface Ocpp16Context {
  readonly hal: Hal;
  readonly config: FirmwareConfig;
  readonly session: Session;
  readonly arbiter: LimitArbiter;
  /** The latest meter reading (refreshed by the control loop). */
  readonly meter: MeterReading;
  /** OCPP configuration keys (GetConfiguration / ChangeConfiguration), persisted. */
  readonly keys: ConfigurationKeys;
  /** The charge point's persistent key-value store (path "ocpp"), for feature state (availability, lists). */
  readonly store: KeyValue | null;
  /** Transaction-related messages: stored before sending, replayed in order. */
  readonly tx: TxQueue;
  /** The socket's cable lock (null: a fixed cable or no lock fitted). */
  readonly lock: ConnectorLockControl | null;
  /** The connector id this charge point exposes (one connector for now). */
  readonly connectorId: number;
  /** True once BootNotification was accepted. */
  readonly registered: boolean;
  /** True while the WebSocket is open. */
  readonly online: boolean;
  /** The WebSocket link (endpoint, reconnect, ping). */
  readonly link: Ocpp16Link;
  /** Registers the handler of a CALL from the CSMS. Registering an action twice throws. */
  handle(action: string, handler: CallHandler): void;
  /** True when some module handles this CSMS-initiated action (e.g. for SupportedFeatureProfiles). */
  handles(action: string): boolean;
  /** Vendor extensions: answers DataTransfer.req for `vendorId` (without one: UnknownVendorId). Twice throws. */
  registerVendor(vendorId: string, handler: DataTransferHandler): void;
  vendorHandler(vendorId: string): DataTransferHandler | undefined;
  /**
   * The module that owns a triggerable message (e.g. FirmwareStatusNotification) registers how to send it for
   * TriggerMessage; without one the RemoteTrigger module sends a default. Twice throws.
   */
  registerTrigger(message: string, send: TriggerSender): void;
  triggerSender(message: string): TriggerSender | undefined;
  /** Sends a CALL that is not transaction-related (lost if the connection drops). */
  call(action: string, payload: Record<string, unknown>, done?: CallResult): void;
  /** Subscribes to connection / registration events. */
  listen(events: Ocpp16Events): void;
  /**
   * The authorization chain used for identifications: the default asks the CSMS (Authorize.req) when online;
   * the local authorization module wraps it (local list, cache, offline rules).
   */
  authorizer: Authorizer;
  /** Sends a StatusNotification for a connector now, even if unchanged (e.g. TriggerMessage). */
  sendStatus(connectorId: number): void;
  /** Sends a Heartbeat now. */
  heartbeat(): void;
  /** Sends the BootNotification now (TriggerMessage). */
  boot(): void;
  /** The wall clock as an OCPP timestamp. */
  now(): string;
  log(kind: string, fields: Record<string, number | string | boolean | number[] | null>): void;
}

export interface Ocpp16Feature {
  readonly name: string;
  install(ctx: Ocpp16Context): void;
}
