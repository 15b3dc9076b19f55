/**
 * The embedded demo CSMS: an OCPP-J central system on `ocpp-rpc` in strict mode (every frame validated
 * against the OCA JSON schemas, both ways), for `npm start` and the scenario tests. See README.md here.
 *
 * Determinism: the CSMS stamps everything with the injected virtual clock, numbers transactions from 1 and
 * numbers its own CALLs "csms-1", "csms-2", ... per charge point (ocpp-rpc's own call() uses random UUIDs,
 * so CSMS-initiated calls are framed here instead). Pass `hold` (scheduler.hold) so a CSMS-initiated CALL
 * or disconnect freezes virtual time until the charge point has reacted.
 */
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

const require = createRequire(import.meta.url);

// ---- the parts of ocpp-rpc used here (its bundled typings are partial) ----
interface RpcError extends Error {
  rpcErrorCode?: string;
  rpcErrorMessage?: string;
  details?: Record<string, unknown>;
}
interface Validator {
  validate(schemaId: string, params: unknown): boolean;
}
interface Handshake {
  identity: string;
  endpoint: string;
  protocols: Set<string>;
  password?: Buffer;
  remoteAddress: string;
}
interface HandlerArgs {
  method: string;
  params: unknown;
  messageId: string;
}
interface ServerClient {
  readonly identity: string;
  readonly protocol: string;
  readonly state: number;
  readonly handshake: Handshake;
  handle(method: string, handler: (args: HandlerArgs) => unknown): void;
  sendRaw(message: string): void;
  close(options?: { code?: number; reason?: string; force?: boolean; awaitPending?: boolean }): Promise<{ code: number; reason: string }>;
  on(event: "message", fn: (e: { message: string | Buffer; outbound: boolean }) => void): void;
  on(event: "response", fn: (e: { outbound: boolean; payload: unknown[] }) => void): void;
  on(
    event: "strictValidationFailure",
    fn: (e: { messageId: string; method: string; outbound: boolean; isCall: boolean; error: RpcError }) => void,
  ): void;
  on(event: "badMessage", fn: (e: { buffer: Buffer | string; error: RpcError; response: unknown[] | null }) => void): void;
  on(event: "close", fn: (e: { code: number; reason: string }) => void): void;
}
interface RpcServer {
  auth(cb: (accept: (session?: Record<string, unknown>, protocol?: string) => void, reject: (code: number, message: string) => void, hs: Handshake) => void): void;
  on(event: "client", fn: (client: ServerClient) => void): void;
  listen(port: number, host: string): Promise<{ address(): AddressInfo | string | null }>;
  close(options: { code?: number; reason?: string; force?: boolean; awaitPending?: boolean }): Promise<void>;
}
interface OcppRpc {
  RPCServer: new (options: Record<string, unknown>) => RpcServer;
  createRPCError(type: string, message?: string, details?: Record<string, unknown>): RpcError;
  createValidator(subprotocol: string, schema: unknown): Validator;
}
const rpc = require("ocpp-rpc") as OcppRpc;

const SCHEMAS: Record<string, string> = {
  "ocpp1.6": "ocpp-rpc/lib/schemas/ocpp1_6.json",
  "ocpp2.0.1": "ocpp-rpc/lib/schemas/ocpp2_0_1.json",
};

export type AuthorizationStatus = "Accepted" | "Blocked" | "Expired" | "Invalid" | "ConcurrentTx";
export type RegistrationStatus = "Accepted" | "Pending" | "Rejected";

export interface CsmsFrame {
  chargePointId: string;
  dir: "in" | "out";
  /** The parsed JSON frame (the raw text when it is not JSON). */
  frame: unknown;
  t: number;
}

export interface CsmsValidationFailure {
  chargePointId: string;
  t: number;
  /** "in": the charge point sent it; "out": the CSMS would have sent it. */
  dir: "in" | "out";
  /** strict: a CALL/CALLRESULT violating the schema; bad-message: not an OCPP-J frame at all. */
  kind: "strict" | "bad-message";
  messageId: string | undefined;
  action: string | undefined;
  errorCode: string;
  message: string;
}

export interface CsmsTransaction {
  transactionId: number;
  chargePointId: string;
  connectorId: number;
  idTag: string;
  meterStart: number;
  /** StartTransaction.req as received. */
  start: Record<string, unknown>;
  /** StopTransaction.req as received. */
  stop?: Record<string, unknown>;
  /** MeterValues.req payloads that named this transaction. */
  meterValues: Record<string, unknown>[];
  startedAt: number;
  stoppedAt?: number;
}

export interface CsmsConnectionEvent {
  chargePointId: string;
  t: number;
  event: "connect" | "disconnect";
  protocol?: string;
  code?: number;
  reason?: string;
}

export interface CsmsCallContext {
  chargePointId: string;
  protocol: string;
  action: string;
  payload: unknown;
  messageId: string;
}

/**
 * Hook for charge-point CALLs: return a payload to answer with it (validated like any other), throw
 * `csmsError(code, message)` to answer with a CALLERROR, return undefined for the default behaviour.
 */
export type CsmsCallHook = (call: CsmsCallContext) => unknown;

export interface EmbeddedCsmsOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: "127.0.0.1";
  /** Virtual wall clock (ms since the epoch) for currentTime and the records. */
  clock: () => number;
  /** Subprotocols served, in order of preference. Default ["ocpp1.6"]. */
  protocols?: string[];
  /** idTag → status. Default: "Accepted", except tags starting with "BLOCKED" ("Blocked"). */
  authorize?: (idTag: string, chargePointId: string) => AuthorizationStatus;
  /** BootNotification interval / heartbeat interval, s. Default 300. */
  heartbeatInterval?: number;
  /** Retry interval sent with a Pending or Rejected boot, s. Default 60. */
  bootRetryInterval?: number;
  /** chargePointId → password. When set, HTTP Basic auth is required (401 otherwise). */
  basicAuth?: Record<string, string>;
  bootStatus?: RegistrationStatus | ((chargePointId: string, request: Record<string, unknown>) => RegistrationStatus);
  /** Scheduler hold, taken for a CSMS-initiated CALL (until the answer) and disconnect (until closed). */
  hold?: (label: string) => () => void;
  /**
   * CALLERROR codes on 1.6: "spec" (default) sends the codes as the OCPP-J 1.6 table spells them
   * (OccurenceConstraintViolation, FormationViolation); "ocpp-rpc" leaves ocpp-rpc's own spelling
   * (OccurrenceConstraintViolation) to test a charge point against CSMSs built on it.
   */
  errorCodeSpelling?: "spec" | "ocpp-rpc";
  /** Real-time safety net for CSMS-initiated calls, ms. Default 30000. */
  callTimeoutMs?: number;
  onCall?: CsmsCallHook;
}

/** An error the onCall hook can throw to answer with a CALLERROR of this code. */
export function csmsError(code: string, message = "", details: Record<string, unknown> = {}): Error {
  return rpc.createRPCError(code, message, details);
}

/** The CALLERROR a CSMS-initiated call was answered with. */
export class CsmsCallError extends Error {
  readonly code: string;
  readonly details: unknown;
  constructor(code: string, message: string, details: unknown) {
    super(`${code}: ${message}`);
    this.name = "CsmsCallError";
    this.code = code;
    this.details = details;
  }
}

interface Pending {
  action: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  release: () => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Peer {
  client: ServerClient;
  protocol: string;
  pending: Map<string, Pending>;
  /** Ids of answers to our own CALLs, which ocpp-rpc then reports as "bad" (it did not send the CALL). */
  ours: Set<string>;
  /** CSMS-initiated CALLs not sent yet (one outstanding at a time). */
  waiting: { action: string; payload: unknown; resolve: (v: unknown) => void; reject: (e: Error) => void }[];
}

/** CP → CSMS actions that the CSMS answers with an empty object (1.6). */
const EMPTY_CONF_16 = new Set([
  "StatusNotification",
  "MeterValues",
  "FirmwareStatusNotification",
  "DiagnosticsStatusNotification",
  "SecurityEventNotification",
  "SignedFirmwareStatusNotification",
  "LogStatusNotification",
]);

export class EmbeddedCsms {
  readonly url: string;
  readonly port: number;
  readonly frames: CsmsFrame[] = [];
  readonly validationFailures: CsmsValidationFailure[] = [];
  readonly transactions = new Map<number, CsmsTransaction>();
  readonly connections: CsmsConnectionEvent[] = [];
  /** Last StatusNotification.req per "chargePointId/connectorId". */
  readonly statuses = new Map<string, Record<string, unknown>>();
  /** Hook for charge-point CALLs; may be set at any time. */
  onCall: CsmsCallHook | undefined;

  readonly #server: RpcServer;
  readonly #options: EmbeddedCsmsOptions;
  readonly #validators = new Map<string, Validator>();
  readonly #peers = new Map<string, Peer>();
  readonly #callSeq = new Map<string, number>();
  #nextTransactionId = 1;
  #closed = false;

  private constructor(server: RpcServer, options: EmbeddedCsmsOptions, port: number, protocols: string[]) {
    this.#server = server;
    this.#options = options;
    this.port = port;
    this.url = `ws://127.0.0.1:${port}/ocpp`;
    this.onCall = options.onCall;
    for (const p of protocols) this.#validators.set(p, rpc.createValidator(p, require(SCHEMAS[p]!)));
  }

  static async start(options: EmbeddedCsmsOptions): Promise<EmbeddedCsms> {
    if (!options || typeof options.clock !== "function") throw new TypeError("EmbeddedCsms: clock is required");
    const host = options.host ?? "127.0.0.1";
    if (host !== "127.0.0.1") throw new RangeError("EmbeddedCsms listens on 127.0.0.1 only");
    const protocols = options.protocols ?? ["ocpp1.6"];
    for (const p of protocols) if (!SCHEMAS[p]) throw new RangeError(`unsupported subprotocol ${p}`);
    const server = new rpc.RPCServer({
      protocols,
      strictMode: true,
      // No keep-alive pings from the server: they would run on the wall clock.
      pingIntervalMs: 0,
      callTimeoutMs: options.callTimeoutMs ?? 30_000,
      respondWithDetailedErrors: false,
      wssOptions: { perMessageDeflate: false },
    });
    const http = await server.listen(options.port ?? 0, host);
    const addr = http.address();
    const port = typeof addr === "object" && addr ? addr.port : (options.port ?? 0);
    const csms = new EmbeddedCsms(server, options, port, protocols);
    csms.#attach();
    return csms;
  }

  /** True while the charge point has an open connection. */
  isConnected(chargePointId: string): boolean {
    return this.#peers.has(chargePointId);
  }

  /** The subprotocol of the charge point's connection, or undefined. */
  protocolOf(chargePointId: string): string | undefined {
    return this.#peers.get(chargePointId)?.protocol;
  }

  /**
   * A CSMS-initiated CALL (RemoteStartTransaction, ChangeConfiguration, ...). Resolves with the CALLRESULT
   * payload, rejects with CsmsCallError for a CALLERROR, or an Error when the request or the answer fails
   * validation, the connection drops or callTimeoutMs (real time) passes. Calls to one charge point go out
   * one at a time. Do not await it inside a scheduler event: the answer needs the scheduler to keep running.
   */
  call(chargePointId: string, action: string, payload: unknown): Promise<unknown> {
    const peer = this.#peers.get(chargePointId);
    if (!peer) return Promise.reject(new Error(`${chargePointId} is not connected`));
    const validator = this.#validators.get(peer.protocol);
    try {
      validator?.validate(`urn:${action}.req`, payload);
    } catch (err) {
      this.#failure(chargePointId, "out", "strict", undefined, action, err);
      return Promise.reject(err as Error);
    }
    return new Promise((resolve, reject) => {
      peer.waiting.push({ action, payload, resolve, reject });
      this.#pump(peer, chargePointId);
    });
  }

  /** Closes the charge point's connection from the CSMS side (holds until the close handshake is done). */
  async disconnect(chargePointId: string, code = 1000, reason = ""): Promise<void> {
    const peer = this.#peers.get(chargePointId);
    if (!peer) return;
    const release = this.#options.hold?.(`csms disconnect ${chargePointId}`);
    try {
      await peer.client.close({ code, reason });
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      release?.();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of this.#peers.values()) this.#rejectAll(peer, "CSMS closed");
    await this.#server.close({ force: true });
  }

  /** Sends the next queued CALL when none is outstanding (synchronously: in the caller's virtual instant). */
  #pump(peer: Peer, chargePointId: string): void {
    while (peer.pending.size === 0 && peer.waiting.length > 0) {
      const next = peer.waiting.shift()!;
      if (this.#peers.get(chargePointId) !== peer) {
        next.reject(new Error(`${chargePointId} is not connected`));
        continue;
      }
      const n = (this.#callSeq.get(chargePointId) ?? 0) + 1;
      this.#callSeq.set(chargePointId, n);
      const id = `csms-${n}`;
      const release = this.#options.hold?.(`csms ${next.action} ${chargePointId}`) ?? (() => undefined);
      const timer = setTimeout(() => {
        const p = peer.pending.get(id);
        if (!p) return;
        peer.pending.delete(id);
        p.release();
        p.reject(new Error(`${next.action} to ${chargePointId}: no answer`));
        this.#pump(peer, chargePointId);
      }, this.#options.callTimeoutMs ?? 30_000);
      peer.pending.set(id, { action: next.action, resolve: next.resolve, reject: next.reject, release, timer });
      try {
        peer.client.sendRaw(JSON.stringify([2, id, next.action, next.payload]));
      } catch (err) {
        peer.pending.delete(id);
        clearTimeout(timer);
        release();
        next.reject(err as Error);
      }
    }
  }

  #attach(): void {
    const server = this.#server;
    server.auth((accept, reject, hs) => {
      if (hs.endpoint !== "/ocpp") {
        reject(404, "Not found");
        return;
      }
      const users = this.#options.basicAuth;
      if (users) {
        const expected = users[hs.identity];
        if (expected === undefined || !hs.password || !hs.password.equals(Buffer.from(expected, "utf8"))) {
          reject(401, "Unauthorized");
          return;
        }
      }
      accept({});
    });
    server.on("client", (client) => this.#onClient(client));
  }

  #onClient(client: ServerClient): void {
    const id = client.identity;
    const protocol = client.protocol;
    const peer: Peer = { client, protocol, pending: new Map(), ours: new Set(), waiting: [] };
    const previous = this.#peers.get(id);
    if (previous) this.#rejectAll(previous, "replaced by a new connection");
    this.#peers.set(id, peer);
    this.connections.push({ chargePointId: id, t: this.#now(), event: "connect", protocol });

    if (protocol === "ocpp1.6" && (this.#options.errorCodeSpelling ?? "spec") === "spec") {
      const sendRaw = client.sendRaw.bind(client);
      client.sendRaw = (message: string) => sendRaw(respell16(message));
    }

    client.on("message", ({ message, outbound }) => {
      const text = typeof message === "string" ? message : message.toString("utf8");
      let frame: unknown = text;
      try {
        frame = JSON.parse(text);
      } catch {
        // recorded as text
      }
      this.frames.push({ chargePointId: id, dir: outbound ? "out" : "in", frame, t: this.#now() });
    });
    client.on("response", ({ outbound, payload }) => {
      if (outbound || !Array.isArray(payload)) return;
      const msgId = payload[1];
      if (typeof msgId !== "string") return;
      const p = peer.pending.get(msgId);
      if (!p) return;
      peer.pending.delete(msgId);
      peer.ours.add(msgId);
      clearTimeout(p.timer);
      if (payload[0] === 3) {
        try {
          this.#validators.get(protocol)?.validate(`urn:${p.action}.conf`, payload[2]);
          p.resolve(payload[2]);
        } catch (err) {
          this.#failure(id, "in", "strict", msgId, p.action, err);
          p.reject(err as Error);
        }
      } else {
        p.reject(new CsmsCallError(String(payload[2]), String(payload[3] ?? ""), payload[4]));
      }
      // The next queued CALL goes out at this same instant; the hold is released only after the promise
      // reactions of the caller have run, so they too see this virtual time.
      this.#pump(peer, id);
      setImmediate(p.release);
    });
    client.on("strictValidationFailure", (e) => {
      this.#failure(id, e.outbound ? "out" : "in", "strict", e.messageId, e.method, e.error);
    });
    client.on("badMessage", ({ error }) => {
      const msgId = error.details?.msgId;
      if (typeof msgId === "string" && peer.ours.delete(msgId)) return;
      this.#failure(id, "in", "bad-message", typeof msgId === "string" ? msgId : undefined, undefined, error);
    });
    client.on("close", ({ code, reason }) => {
      this.#rejectAll(peer, `connection closed (${code})`);
      if (this.#peers.get(id) === peer) this.#peers.delete(id);
      this.connections.push({ chargePointId: id, t: this.#now(), event: "disconnect", code, reason: String(reason ?? "") });
    });

    for (const action of actionsOf(protocol)) {
      client.handle(action, (args) => this.#dispatch(id, protocol, args));
    }
  }

  async #dispatch(chargePointId: string, protocol: string, { method, params, messageId }: HandlerArgs): Promise<unknown> {
    const hook = this.onCall;
    if (hook) {
      const answer = await hook({ chargePointId, protocol, action: method, payload: params, messageId });
      if (answer !== undefined) return answer;
    }
    if (protocol === "ocpp1.6") return this.#handle16(chargePointId, method, params as Record<string, unknown>);
    throw rpc.createRPCError("NotSupported", `${method} is not handled by the demo CSMS on ${protocol}`);
  }

  #handle16(cp: string, action: string, req: Record<string, unknown>): unknown {
    const now = this.#now();
    const currentTime = new Date(now).toISOString();
    switch (action) {
      case "BootNotification": {
        const s = this.#options.bootStatus;
        const status = typeof s === "function" ? s(cp, req) : (s ?? "Accepted");
        const interval = status === "Accepted" ? (this.#options.heartbeatInterval ?? 300) : (this.#options.bootRetryInterval ?? 60);
        return { status, currentTime, interval };
      }
      case "Heartbeat":
        return { currentTime };
      case "Authorize":
        return { idTagInfo: { status: this.#authorize(req.idTag as string, cp) } };
      case "StartTransaction": {
        const transactionId = this.#nextTransactionId++;
        this.transactions.set(transactionId, {
          transactionId,
          chargePointId: cp,
          connectorId: req.connectorId as number,
          idTag: req.idTag as string,
          meterStart: req.meterStart as number,
          start: req,
          meterValues: [],
          startedAt: now,
        });
        return { transactionId, idTagInfo: { status: this.#authorize(req.idTag as string, cp) } };
      }
      case "StopTransaction": {
        const tx = this.transactions.get(req.transactionId as number);
        if (tx && tx.chargePointId === cp && !tx.stop) {
          tx.stop = req;
          tx.stoppedAt = now;
        }
        return typeof req.idTag === "string" ? { idTagInfo: { status: this.#authorize(req.idTag, cp) } } : {};
      }
      case "MeterValues": {
        const tx = typeof req.transactionId === "number" ? this.transactions.get(req.transactionId) : undefined;
        if (tx && tx.chargePointId === cp) tx.meterValues.push(req);
        return {};
      }
      case "StatusNotification":
        this.statuses.set(`${cp}/${req.connectorId as number}`, req);
        return {};
      case "DataTransfer":
        return { status: "UnknownVendorId" };
      default:
        if (EMPTY_CONF_16.has(action)) return {};
        throw rpc.createRPCError("NotSupported", `${action} is a Central System to Charge Point message`);
    }
  }

  #authorize(idTag: string, cp: string): AuthorizationStatus {
    const f = this.#options.authorize;
    if (f) return f(idTag, cp);
    return idTag.startsWith("BLOCKED") ? "Blocked" : "Accepted";
  }

  #rejectAll(peer: Peer, why: string): void {
    for (const w of peer.waiting.splice(0)) w.reject(new Error(why));
    for (const [id, p] of peer.pending) {
      peer.pending.delete(id);
      clearTimeout(p.timer);
      p.release();
      p.reject(new Error(why));
    }
  }

  #failure(cp: string, dir: "in" | "out", kind: "strict" | "bad-message", messageId: string | undefined, action: string | undefined, err: unknown): void {
    const e = err as RpcError;
    this.validationFailures.push({
      chargePointId: cp,
      t: this.#now(),
      dir,
      kind,
      messageId,
      action,
      errorCode: e?.rpcErrorCode ?? "GenericError",
      message: e?.message ?? String(err),
    });
  }

  #now(): number {
    return this.#options.clock();
  }
}

/** Every action with a request schema for the subprotocol. */
function actionsOf(protocol: string): string[] {
  const schema = require(SCHEMAS[protocol]!) as { $id?: string }[];
  const out: string[] = [];
  for (const s of schema) {
    const m = /^urn:(.+)\.req$/.exec(s.$id ?? "");
    if (m) out.push(m[1]!);
  }
  return out;
}

/**
 * OCPP-J 1.6 spells two CALLERROR codes with the typos kept by errata 5.1/5.2 ("will not be fixed"):
 * OccurenceConstraintViolation and FormationViolation. ocpp-rpc sends "OccurrenceConstraintViolation" on
 * 1.6, and the 2.0.1 framework codes RpcFrameworkError / MessageTypeNotSupported, which 1.6 does not have.
 */
function respell16(message: string): string {
  if (!/^\s*\[\s*4\s*,/.test(message)) return message;
  let frame: unknown;
  try {
    frame = JSON.parse(message);
  } catch {
    return message;
  }
  if (!Array.isArray(frame) || typeof frame[2] !== "string") return message;
  const map: Record<string, string> = {
    OccurrenceConstraintViolation: "OccurenceConstraintViolation",
    FormatViolation: "FormationViolation",
    RpcFrameworkError: "FormationViolation",
    MessageTypeNotSupported: "NotSupported",
  };
  const code = map[frame[2]];
  if (!code) return message;
  frame[2] = code;
  return JSON.stringify(frame);
}
