import { V2gtpFramer, v2gtpMessage } from "../../firmware/iso15118/v2gtp/header.js";
/** Test helpers for the DIN / ISO-2 session machines: a snapshot, a reference-vector reader, a request builder. */
import fs from "node:fs";
import type { DcSnapshot, EvseSnapshot } from "../../firmware/iso15118/apphandshake/types.js";

export const VECTORS = `${SHARED_DIR}/iso15118/exi-vectors.jsonl`;

export interface Vector {
  protocol: string;
  message: string;
  hex: string;
  decoded: Record<string, unknown>;
}

/** The reference vectors when /work/shared is present, else []. */
export function readVectors(): Vector[] {
  if (!fs.existsSync(VECTORS)) return [];
  return fs
    .readFileSync(VECTORS, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Vector);
}

export function dcSnapshot(over: Partial<DcSnapshot> = {}): DcSnapshot {
  return { presentVoltage: 0, presentCurrent: 0, maxVoltage: 500, minVoltage: 150, maxCurrent: 125, minCurrent: 0, maxPower: 50_000, isolation: "Invalid", isolationRunning: false, fault: false, ...over };
}

export function snapshot(over: Partial<EvseSnapshot> = {}): EvseSnapshot {
  return { now: 0, authorized: true, limitAmps: 32, phases: 3, nominalVoltage: 230, stopRequested: false, rcd: false, emergency: false, dc: null, ...over };
}

export const pvOf = (v: number, unit: string, m = 0) => ({ Multiplier: m, Unit: unit, Value: v });

/** { V2G_Message: { Header: { SessionID }, Body: { [name]: body } } } */
export function msg(sessionId: string, name: string, body: Record<string, unknown> = {}): Record<string, unknown> {
  return { V2G_Message: { Header: { SessionID: sessionId }, Body: { [name]: body } } };
}

export const evStatus = (soc: number) => ({ EVReady: 1, EVErrorCode: "NO_ERROR", EVRESSSOC: soc });

/** The response body's only element: [name, content]. */
export function resOf(doc: Record<string, unknown>): [string, Record<string, unknown>] {
  const body = (doc["V2G_Message"] as { Body: Record<string, Record<string, unknown>> }).Body;
  const k = Object.keys(body)[0]!;
  return [k, body[k]!];
}

import { V2gSessionMachine, type MachineConfig } from "../../firmware/iso15118/iso2/machine.js";
import { encodeExi, decodeExi, type ExiDocument } from "../../firmware/iso15118/exi/index.js";
import { SHARED_DIR } from "../../tools/shared-dir.js";

export const SID = "0102030405060708";

export function enc(grammar: "din" | "iso2", doc: Record<string, unknown>): Uint8Array {
  return encodeExi(grammar, doc as unknown as ExiDocument);
}

export function dec(grammar: "din" | "iso2", bytes: Uint8Array): Record<string, unknown> {
  return decodeExi(grammar, bytes) as unknown as Record<string, unknown>;
}

export function machineConfig(protocol: "din" | "iso2", kind: "ac" | "dc", over: Partial<MachineConfig> = {}): MachineConfig {
  return { protocol, kind, evseId: protocol === "din" ? "5A5A00001234" : "DE*ABC*E1234", cableCheckMs: 38_000, preChargeMs: 5_000, newSessionId: () => SID, ...over };
}

/** A canned, valid request sequence for one protocol and kind: [name, variant, body]. */
export function canned(protocol: "din" | "iso2", kind: "ac" | "dc"): [string, string, Record<string, unknown>][] {
  const din = protocol === "din";
  const dcStatus = evStatus(40);
  const seq: [string, string, Record<string, unknown>][] = [
    ["SessionSetupReq", "", { EVCCID: "00E04C68001D" }],
    ["ServiceDiscoveryReq", "", {}],
    [din ? "ServicePaymentSelectionReq" : "PaymentServiceSelectionReq", "", { SelectedPaymentOption: "ExternalPayment", SelectedServiceList: { SelectedService: [{ ServiceID: 1 }] } }],
    [din ? "ContractAuthenticationReq" : "AuthorizationReq", "", {}],
  ];
  if (kind === "ac") {
    seq.push(
      ["ChargeParameterDiscoveryReq", "", { RequestedEnergyTransferMode: "AC_three_phase_core", AC_EVChargeParameter: { EAmount: pvOf(20, "Wh", 3), EVMaxVoltage: pvOf(400, "V"), EVMaxCurrent: pvOf(16, "A"), EVMinCurrent: pvOf(6, "A") } }],
      ["PowerDeliveryReq", "Start", { ChargeProgress: "Start", SAScheduleTupleID: 1 }],
      ["ChargingStatusReq", "", {}],
      ["PowerDeliveryReq", "Stop", { ChargeProgress: "Stop", SAScheduleTupleID: 1 }],
      ["SessionStopReq", "", { ChargingSession: "Terminate" }],
    );
    return seq;
  }
  const pdp = (start: boolean) => (din ? { ReadyToChargeState: start ? 1 : 0 } : { ChargeProgress: start ? "Start" : "Stop", SAScheduleTupleID: 1 });
  seq.push(
    ["ChargeParameterDiscoveryReq", "", { [din ? "EVRequestedEnergyTransferType" : "RequestedEnergyTransferMode"]: "DC_extended", DC_EVChargeParameter: { DC_EVStatus: dcStatus, EVMaximumCurrentLimit: pvOf(100, "A"), EVMaximumVoltageLimit: pvOf(500, "V") } }],
    ["CableCheckReq", "start", { DC_EVStatus: dcStatus }],
    ["CableCheckReq", "", { DC_EVStatus: dcStatus }],
    ["PreChargeReq", "", { DC_EVStatus: dcStatus, EVTargetVoltage: pvOf(400, "V"), EVTargetCurrent: pvOf(1, "A") }],
    ["PowerDeliveryReq", "Start", { ...pdp(true), DC_EVPowerDeliveryParameter: { DC_EVStatus: dcStatus, BulkChargingComplete: 0, ChargingComplete: 0 } }],
    ["CurrentDemandReq", "", { DC_EVStatus: dcStatus, EVTargetCurrent: pvOf(50, "A"), EVMaximumVoltageLimit: pvOf(500, "V"), BulkChargingComplete: 0, ChargingComplete: 0, EVTargetVoltage: pvOf(400, "V") }],
    ["PowerDeliveryReq", "Stop", { ...pdp(false), DC_EVPowerDeliveryParameter: { DC_EVStatus: dcStatus, BulkChargingComplete: 0, ChargingComplete: 1 } }],
    ["WeldingDetectionReq", "", { DC_EVStatus: dcStatus }],
    ["SessionStopReq", "", din ? {} : { ChargingSession: "Terminate" }],
  );
  return seq;
}

/** The PowerDeliveryReq variant of a request body ("Start" / "Stop" / "Renegotiate"), "" for other messages. */
export function variantOf(name: string, body: Record<string, unknown>): string {
  if (name !== "PowerDeliveryReq") return "";
  if (body["ReadyToChargeState"] !== undefined) return body["ReadyToChargeState"] === 1 ? "Start" : "Stop";
  return body["ChargeProgress"] === "Renegotiate" ? "Stop" : String(body["ChargeProgress"]);
}

/**
 * A fresh machine brought (with the canned sequence) to the point where `name` (variant) is expected, or null when
 * the canned flow has no such point. The snapshot: DC output at 400 V, isolation Valid.
 */
export function machineAt(protocol: "din" | "iso2", kind: "ac" | "dc", name: string, variant: string, s: EvseSnapshot): V2gSessionMachine | null {
  const seq = canned(protocol, kind);
  const at = seq.findIndex(([n, v]) => n === name && (v === variant || (v === "" && variant === "") || (n !== "PowerDeliveryReq" && v === "")));
  if (at < 0) return null;
  const m = new V2gSessionMachine(machineConfig(protocol, kind));
  for (let i = 0; i < at; i++) {
    const [n, , body] = seq[i]!;
    const r = m.handle(msg(i === 0 ? "00" : SID, n, body), s);
    if (r.end === "failed") throw new Error(`canned ${n} failed: ${JSON.stringify(r.response)}`);
  }
  return m;
}

/** Virtual timers for session tests without the simulator: run(until) fires what is due, in time then id order. */
export class VTimers {
  now = 0;
  #q: { id: number; at: number; fn: () => void }[] = [];
  #id = 0;
  set = (fn: (id: number) => void, ms: number): number => {
    const id = ++this.#id;
    this.#q.push({ id, at: this.now + ms, fn: () => fn(id) });
    return id;
  };
  clear = (id: unknown): void => {
    this.#q = this.#q.filter((e) => e.id !== id);
  };
  run(until: number): void {
    for (;;) {
      this.#q.sort((a, b) => a.at - b.at || a.id - b.id);
      const e = this.#q[0];
      if (!e || e.at > until) break;
      this.#q.shift();
      this.now = e.at;
      e.fn();
    }
    this.now = until;
  }
}

/**
 * Pairs a SECC V2gChannel with a scripted car over in-memory V2GTP framing (no simulator): what the car sends arrives
 * at the channel, what the channel writes reaches `receive`. `onSend` sees the car's payloads first and may drop one
 * (return false). Returns the car-side channel to hand to the car (`connected(evCh)`) and `inject` for raw payloads
 * (bytes no real car would send).
 */
export function pairWithCar(
  ch: import("../../firmware/iso15118/secc/channel.js").V2gChannel,
  receive: (type: number, payload: Uint8Array, evCh: import("../../simulator/evcc/evcc.js").EvccChannel) => void,
  onSend: (type: number, payload: Uint8Array) => boolean = () => true,
): { evCh: import("../../simulator/evcc/evcc.js").EvccChannel; inject(type: number, payload: Uint8Array): void } {
  let inbox: Uint8Array[] = [];
  const evFramer = new V2gtpFramer(65536, (type, payload) => receive(type, payload, evCh));
  const evCh = {
    secure: false,
    send(type: number, payload: Uint8Array) {
      if (!onSend(type, payload)) return;
      inbox.push(v2gtpMessage(type, payload));
      ch.readable();
    },
    close() {
      ch.broken();
    },
  };
  ch.bind({
    read() {
      const b = inbox.shift()!;
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    },
    write(b: Uint8Array) {
      evFramer.push(new Uint8Array(b));
    },
    close() {
      inbox = [];
    },
  } as never);
  ch.writable(1 << 20);
  return {
    evCh,
    inject(type, payload) {
      inbox.push(v2gtpMessage(type, payload));
      ch.readable();
    },
  };
}
