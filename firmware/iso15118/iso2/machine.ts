/**
 * The SECC's message session for DIN SPEC 70121 (DC) and ISO 15118-2 (AC and DC, external identification), as a
 * PURE state machine: handle(decoded request, charger snapshot) → response document + actions + end. No IO, no
 * timers (time is the snapshot's `now`), no HAL: the host (apphandshake/host.ts) decodes, applies the actions and
 * sends. The two protocols share the flow; the message shapes that differ are built in din70121/messages.ts and
 * iso2/messages.ts.
 *
 * Flow (expected requests per state):
 *   setup       SessionSetupReq (new session, or OK_OldSessionJoined with a paused session's ID)
 *   discovery   ServiceDiscoveryReq
 *   payment     ServicePaymentSelectionReq (DIN) / PaymentServiceSelectionReq (ISO-2; ServiceDetailReq allowed)
 *   auth        ContractAuthenticationReq / AuthorizationReq (EVSEProcessing Ongoing until identified)
 *   params      ChargeParameterDiscoveryReq (SAScheduleList from the limit arbiter)
 *   ready       AC: PowerDeliveryReq Start; DC: CableCheckReq (→ cablecheck), after a renegotiation PowerDeliveryReq
 *   cablecheck  CableCheckReq until the isolation test is Valid/Warning, then PreChargeReq
 *   precharge   PreChargeReq, then PowerDeliveryReq Start
 *   charging    ChargingStatusReq (AC) / CurrentDemandReq (DC); PowerDeliveryReq Stop / Renegotiate (ISO-2)
 *   stopped     WeldingDetectionReq (DC), SessionStopReq; PowerDeliveryReq Start again (ISO-2)
 * SessionStopReq is accepted in every state after setup except charging. Any request out of sequence gets its
 * response with FAILED_SequenceError, a wrong SessionID FAILED_UnknownSession; every FAILED ends the session with
 * a safe stop.
 */
import type { EvseSnapshot, SessionAction, SessionEnd, StepResult } from "../apphandshake/types.js";
import { PvMemo, pvValue } from "../apphandshake/types.js";
import { dinResponse } from "../din70121/messages.js";
import { iso2Response } from "./messages.js";

export type MachineState = "setup" | "discovery" | "payment" | "auth" | "params" | "ready" | "cablecheck" | "precharge" | "charging" | "stopped" | "ended";

export interface MachineConfig {
  protocol: "din" | "iso2";
  /** DIN: hexBinary (upper-case hex, ≤ 32 bytes); ISO-2: 7..37 characters (e.g. "DE*ABC*E1234"). */
  evseId: string;
  /** AC charger (ISO-2 AC modes) or DC charger. DIN is DC only. */
  kind: "ac" | "dc";
  /** Charger-side phase limits, ms: the isolation test (CableCheck) and the pre-charge phase. */
  cableCheckMs: number;
  preChargeMs: number;
  /** New 8-byte session IDs as 16 upper-case hex digits (from the HAL's random source). */
  newSessionId: () => string;
  /** A paused session (SessionStopReq Pause) that may be resumed with its SessionID. */
  pausedSessionId?: string | null;
  /** ISO-2: ask for a renegotiation when the charger's limit moved this far from the schedule, A. 0: never. */
  renegotiateDeltaA?: number;
  /** Pre-charge current cap, A (DIN: 2 A). */
  preChargeMaxA?: number;
}

/** Session data the message builders read. */
export interface SessionData {
  sessionId: string;
  evseId: string;
  kind: "ac" | "dc";
  /** The energy transfer mode the EV asked for (ISO-2 name or DIN type). */
  mode: string;
  processing: "Finished" | "Ongoing";
  /** The limit the current schedule was built from, A per phase. */
  scheduleAmps: number;
  renegotiate: boolean;
  /** The EV's limits from ChargeParameterDiscovery / CurrentDemand (NaN: unknown). */
  evMaxVoltage: number;
  evMaxCurrent: number;
  evTargetVoltage: number;
  evTargetCurrent: number;
  /**
   * The SAScheduleList's PMax entries sent in the last ChargeParameterDiscoveryRes: start (s, relative to
   * scheduleAt), PMax (W) and the A per phase it was built from.
   */
  schedule: { start: number; pmax: number; amps: number }[];
  /** Monotonic ms the schedule's relative times count from. */
  scheduleAt: number;
}

/** PMaxScheduleEntry periods sent at most (ISO-2 allows 1024; a day of quarter-hour steps fits in 96). */
export const MAX_SCHEDULE_PERIODS = 96;
/** The schedule covers a day, s. */
export const SCHEDULE_SECONDS = 86_400;

export const SA_SCHEDULE_TUPLE_ID = 1;

function isZeroId(id: string): boolean {
  for (let i = 0; i < id.length; i++) if (id.charCodeAt(i) !== 48) return false;
  return true;
}

/** "XReq" -> "XRes" ("" for anything else), remembered per name: the slice + concatenation cost ~40 units a message. */
const RES_NAMES: Record<string, string> = Object.create(null) as Record<string, string>;
function resNameOf(name: string): string {
  let r = RES_NAMES[name];
  if (r === undefined) {
    r = name.endsWith("Req") ? name.slice(0, -3) + "Res" : "";
    // only the names this machine answers (a peer's arbitrary names must not grow the table)
    if (KNOWN_REQUESTS.indexOf(name) >= 0) RES_NAMES[name] = r;
  }
  return r;
}
const KNOWN_REQUESTS = [
  "SessionSetupReq", "ServiceDiscoveryReq", "ServiceDetailReq", "ServicePaymentSelectionReq", "PaymentServiceSelectionReq",
  "ContractAuthenticationReq", "AuthorizationReq", "ChargeParameterDiscoveryReq", "CableCheckReq", "PreChargeReq",
  "PowerDeliveryReq", "ChargingStatusReq", "CurrentDemandReq", "WeldingDetectionReq", "SessionStopReq",
];

const AC_MODES = ["AC_single_phase_core", "AC_three_phase_core"];
const DC_MODES_ISO2 = ["DC_core", "DC_extended", "DC_combo_core", "DC_unique"];
const DC_MODES_DIN = ["DC_core", "DC_extended", "DC_combo_core", "DC_unique"];

export class V2gSessionMachine {
  state: MachineState = "setup";
  readonly data: SessionData;
  /** Set when the session ended with SessionStopReq Pause: resume with this SessionID. */
  pausedSessionId: string | null;
  readonly #c: MachineConfig;
  readonly #din: boolean;
  #phaseStart = -1;
  #lastRequest = "";
  #evseTargetV = 0;
  /** dcCurrentLimit / pmax of the snapshot of the step in progress (-1: not computed yet). */
  #stepSnap: EvseSnapshot | null = null;
  #stepLimit = -1;
  #stepPmax = -1;
  /** The charger's limits in CurrentDemandRes, remembered as records (PvMemo). */
  readonly limitPvs = { maxV: new PvMemo("V"), maxI: new PvMemo("A"), pmax: new PvMemo("W") };

  constructor(config: MachineConfig) {
    if (config.protocol === "din" && config.kind !== "dc") throw new RangeError("DIN SPEC 70121 is DC only");
    this.#c = config;
    this.#din = config.protocol === "din";
    this.pausedSessionId = config.pausedSessionId ?? null;
    this.data = {
      sessionId: "",
      evseId: config.evseId,
      kind: config.kind,
      mode: config.kind === "ac" ? "AC_three_phase_core" : "DC_extended",
      processing: "Finished",
      scheduleAmps: 0,
      renegotiate: false,
      evMaxVoltage: NaN,
      evMaxCurrent: NaN,
      evTargetVoltage: NaN,
      evTargetCurrent: NaN,
      schedule: [],
      scheduleAt: 0,
    };
  }

  get protocol(): "din" | "iso2" {
    return this.#c.protocol;
  }

  /** The request the machine expects next (for the answer to an undecodable message). */
  expected(): string {
    switch (this.state) {
      case "setup": return "SessionSetupReq";
      case "discovery": return "ServiceDiscoveryReq";
      case "payment": return this.#din ? "ServicePaymentSelectionReq" : "PaymentServiceSelectionReq";
      case "auth": return this.#din ? "ContractAuthenticationReq" : "AuthorizationReq";
      case "params": return "ChargeParameterDiscoveryReq";
      case "ready": return this.data.kind === "ac" ? "PowerDeliveryReq" : "CableCheckReq";
      case "cablecheck": return "CableCheckReq";
      case "precharge": return "PreChargeReq";
      case "charging": return this.data.kind === "ac" ? "ChargingStatusReq" : "CurrentDemandReq";
      case "stopped": return this.data.kind === "dc" ? "WeldingDetectionReq" : "SessionStopReq";
      default: return "SessionStopReq";
    }
  }

  /** A message that could not be decoded (ExiError): FAILED in the response the machine expected, safe stop. */
  malformed(s: EvseSnapshot, why: string): StepResult {
    this.#stepSnap = null;
    return this.#fail(this.expected(), "FAILED", s, "malformed EXI: " + why);
  }

  /** The session timed out (sequence or phase timer of the host): safe stop, no response. */
  timeout(what: string): SessionAction[] {
    this.state = "ended";
    return [{ type: "safe-stop", reason: what }];
  }

  handle(doc: unknown, s: EvseSnapshot): StepResult {
    this.#stepSnap = null;
    const msg = doc !== null && typeof doc === "object" ? (doc as Record<string, unknown>)["V2G_Message"] : undefined;
    if (msg === null || typeof msg !== "object") return this.#fail(this.expected(), "FAILED", s, "no V2G_Message");
    const header = (msg as Record<string, unknown>)["Header"] as Record<string, unknown> | undefined;
    const body = (msg as Record<string, unknown>)["Body"] as Record<string, unknown> | undefined;
    let name = "";
    let req: Record<string, unknown> = {};
    if (body !== null && typeof body === "object") {
      // the first key (Object.keys: ~75 units less than a for-in loop on XS)
      const keys = Object.keys(body);
      if (keys.length > 0) {
        name = keys[0]!;
        const v = body[name];
        req = v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
      }
    }
    if (!name.endsWith("Req")) return this.#fail(this.expected(), "FAILED", s, "no request in the body");
    const sid = header !== undefined && typeof header["SessionID"] === "string" ? (header["SessionID"] as string) : "";
    this.#lastRequest = name;
    if (this.state === "ended") return this.#fail(name, "FAILED_SequenceError", s, "session ended");
    if (name === "SessionSetupReq") return this.#sessionSetup(req, sid, s);
    if (this.state === "setup") return this.#fail(name, "FAILED_SequenceError", s, "no session yet");
    if (sid !== this.data.sessionId) return this.#fail(name, "FAILED_UnknownSession", s, "wrong SessionID");
    // The charge-loop requests first: a string case costs a compare per case passed (~70 units for the last ones).
    switch (name) {
      case "CurrentDemandReq":
        if (this.data.kind !== "dc" || this.state !== "charging") break;
        return this.#currentDemand(name, req, s);
      case "ChargingStatusReq":
        if (this.data.kind !== "ac" || this.#din || this.state !== "charging") break;
        return this.#ok(name, s);
      case "ServiceDiscoveryReq":
        if (this.state !== "discovery") break;
        this.state = "payment";
        return this.#ok(name, s);
      case "ServiceDetailReq":
        if (this.#din || this.state !== "payment") break;
        return this.#fail(name, "FAILED_ServiceIDInvalid", s, "no value-added services");
      case "ServicePaymentSelectionReq":
      case "PaymentServiceSelectionReq":
        if (this.state !== "payment" || name !== (this.#din ? "ServicePaymentSelectionReq" : "PaymentServiceSelectionReq")) break;
        return this.#payment(name, req, s);
      case "ContractAuthenticationReq":
      case "AuthorizationReq":
        if (this.state !== "auth" || name !== (this.#din ? "ContractAuthenticationReq" : "AuthorizationReq")) break;
        this.data.processing = s.authorized ? "Finished" : "Ongoing";
        if (s.authorized) this.state = "params";
        return this.#ok(name, s);
      case "ChargeParameterDiscoveryReq":
        if (this.state !== "params" && this.state !== "ready") break;
        return this.#chargeParameters(name, req, s);
      case "CableCheckReq":
        if (this.data.kind !== "dc" || (this.state !== "ready" && this.state !== "cablecheck")) break;
        return this.#cableCheck(name, req, s);
      case "PreChargeReq":
        if (this.data.kind !== "dc" || (this.state !== "cablecheck" && this.state !== "precharge")) break;
        if (this.state === "cablecheck" && this.data.processing !== "Finished") break;
        return this.#preCharge(name, req, s);
      case "PowerDeliveryReq":
        return this.#powerDelivery(name, req, s);
      case "WeldingDetectionReq":
        if (this.data.kind !== "dc" || this.state !== "stopped") break;
        return this.#ok(name, s, [{ type: "dc-output", enable: false, voltage: 0, current: 0 }]);
      case "SessionStopReq":
        if (this.state === "charging") break;
        return this.#sessionStop(name, req, s);
      default:
        return this.#fail(name, "FAILED_SequenceError", s, "not supported");
    }
    return this.#fail(name, "FAILED_SequenceError", s, `${name} in state ${this.state}`);
  }

  // ---- handlers ------------------------------------------------------------------------------------------------

  #sessionSetup(req: Record<string, unknown>, sid: string, s: EvseSnapshot): StepResult {
    if (this.state !== "setup") return this.#fail("SessionSetupReq", "FAILED_SequenceError", s, "second SessionSetupReq");
    if (typeof req["EVCCID"] !== "string") return this.#fail("SessionSetupReq", "FAILED", s, "no EVCCID");
    let code = "OK_NewSessionEstablished";
    if (!isZeroId(sid) && this.pausedSessionId !== null && sid === this.pausedSessionId) {
      this.data.sessionId = sid;
      code = "OK_OldSessionJoined";
    } else {
      this.data.sessionId = this.#c.newSessionId();
    }
    this.pausedSessionId = null;
    this.state = "discovery";
    return this.#result("SessionSetupReq", code, s, [], null);
  }

  #payment(name: string, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
    if (req["SelectedPaymentOption"] !== "ExternalPayment") return this.#fail(name, "FAILED_PaymentSelectionInvalid", s, "only ExternalPayment (EIM)");
    const list = req["SelectedServiceList"] as Record<string, unknown> | undefined;
    const services = list !== undefined && Array.isArray(list["SelectedService"]) ? (list["SelectedService"] as Record<string, unknown>[]) : [];
    let charge = false;
    for (let i = 0; i < services.length; i++) {
      const id = services[i]!["ServiceID"];
      if (id === 1) charge = true;
      else return this.#fail(name, "FAILED_ServiceSelectionInvalid", s, "unknown ServiceID");
    }
    if (!charge) return this.#fail(name, this.#din ? "FAILED_ServiceSelectionInvalid" : "FAILED_NoChargeServiceSelected", s, "no charge service");
    this.state = "auth";
    return this.#ok(name, s);
  }

  #chargeParameters(name: string, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
    const d = this.data;
    const mode = req[this.#din ? "EVRequestedEnergyTransferType" : "RequestedEnergyTransferMode"];
    const modes = d.kind === "ac" ? AC_MODES : this.#din ? DC_MODES_DIN : DC_MODES_ISO2;
    if (typeof mode !== "string" || modes.indexOf(mode) < 0) {
      return this.#fail(name, this.#din ? "FAILED_WrongEnergyTransferType" : "FAILED_WrongEnergyTransferMode", s, "energy transfer mode");
    }
    if (this.state === "ready" && d.mode !== mode && !d.renegotiate) return this.#fail(name, "FAILED_WrongEnergyTransferMode", s, "mode changed");
    const actions: SessionAction[] = [];
    if (d.kind === "ac") {
      const p = req["AC_EVChargeParameter"] as Record<string, unknown> | undefined;
      if (p === undefined) return this.#fail(name, "FAILED_WrongChargeParameter", s, "no AC_EVChargeParameter");
      const maxI = pvValue(p["EVMaxCurrent"], "A");
      const maxV = pvValue(p["EVMaxVoltage"], "V");
      if (!(maxI >= 0) || !(maxV > 0)) return this.#fail(name, "FAILED_WrongChargeParameter", s, "EVMaxCurrent/EVMaxVoltage");
      d.evMaxCurrent = maxI;
      d.evMaxVoltage = maxV;
      actions.push({ type: "ev-limit", amps: maxI, reason: "EVMaxCurrent" });
    } else {
      const p = req["DC_EVChargeParameter"] as Record<string, unknown> | undefined;
      if (p === undefined) return this.#fail(name, "FAILED_WrongChargeParameter", s, "no DC_EVChargeParameter");
      const maxI = pvValue(p["EVMaximumCurrentLimit"], "A");
      const maxV = pvValue(p["EVMaximumVoltageLimit"], "V");
      if (!(maxI >= 0) || !(maxV > 0)) return this.#fail(name, "FAILED_WrongChargeParameter", s, "EVMaximumCurrentLimit/VoltageLimit");
      d.evMaxCurrent = maxI;
      d.evMaxVoltage = maxV;
      this.#soc(p["DC_EVStatus"], actions);
    }
    d.mode = mode;
    d.processing = "Finished";
    this.#buildSchedule(s);
    d.renegotiate = false;
    if (this.state === "params") this.state = "ready";
    return this.#result(name, "OK", s, actions, null);
  }

  #cableCheck(name: string, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
    const d = this.data;
    const dc = s.dc;
    if (dc === null || dc.fault || s.emergency) return this.#fail(name, "FAILED", s, "power module fault");
    const actions: SessionAction[] = [];
    this.#soc(req["DC_EVStatus"], actions);
    if (this.state === "ready") {
      this.state = "cablecheck";
      this.#phaseStart = s.now;
      const v = Math.min(dc.maxVoltage, d.evMaxVoltage >= 0 ? d.evMaxVoltage : dc.maxVoltage);
      actions.push({ type: "isolation-start", voltage: v });
      d.processing = "Ongoing";
      return this.#result(name, "OK", s, actions, null);
    }
    if (dc.isolation === "Fault") return this.#fail(name, "FAILED", s, "isolation fault");
    if (!dc.isolationRunning && (dc.isolation === "Valid" || dc.isolation === "Warning" || dc.isolation === "No_IMD")) {
      d.processing = "Finished";
      return this.#result(name, "OK", s, actions, null);
    }
    if (s.now - this.#phaseStart > this.#c.cableCheckMs) return this.#fail(name, "FAILED", s, "cable check timeout");
    d.processing = "Ongoing";
    return this.#result(name, "OK", s, actions, null);
  }

  #preCharge(name: string, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
    const dc = s.dc!;
    if (dc.fault || s.emergency) return this.#fail(name, "FAILED", s, "power module fault");
    if (this.state === "cablecheck") {
      this.state = "precharge";
      this.#phaseStart = s.now;
    } else if (s.now - this.#phaseStart > this.#c.preChargeMs) {
      return this.#fail(name, "FAILED", s, "pre-charge timeout");
    }
    const v = pvValue(req["EVTargetVoltage"], "V");
    const i = pvValue(req["EVTargetCurrent"], "A");
    if (!(v >= 0) || !(i >= 0)) return this.#fail(name, "FAILED_WrongChargeParameter", s, "EVTargetVoltage/Current");
    if (v > dc.maxVoltage || (this.data.evMaxVoltage >= 0 && v > this.data.evMaxVoltage)) return this.#fail(name, "FAILED_WrongChargeParameter", s, "target voltage over the limit");
    const actions: SessionAction[] = [];
    this.#soc(req["DC_EVStatus"], actions);
    this.#evseTargetV = v;
    this.data.evTargetVoltage = v;
    actions.push({ type: "dc-output", enable: true, voltage: v, current: Math.min(i, this.#c.preChargeMaxA ?? 2, dc.maxCurrent) });
    return this.#result(name, "OK", s, actions, null);
  }

  #powerDelivery(name: string, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
    const d = this.data;
    let progress: string;
    if (this.#din) {
      const r = req["ReadyToChargeState"];
      if (r !== 0 && r !== 1) return this.#fail(name, "FAILED", s, "ReadyToChargeState");
      progress = r === 1 ? "Start" : "Stop";
    } else {
      const p = req["ChargeProgress"];
      if (p !== "Start" && p !== "Stop" && p !== "Renegotiate") return this.#fail(name, "FAILED", s, "ChargeProgress");
      progress = p;
      if (req["SAScheduleTupleID"] !== SA_SCHEDULE_TUPLE_ID) return this.#fail(name, "FAILED_TariffSelectionInvalid", s, "SAScheduleTupleID");
    }
    const actions: SessionAction[] = [];
    const dcp = req["DC_EVPowerDeliveryParameter"] as Record<string, unknown> | undefined;
    if (dcp !== undefined) this.#soc(dcp["DC_EVStatus"], actions);
    if (progress === "Start") {
      const ok =
        this.state === "stopped" && !this.#din && d.kind === "ac"
          ? true
          : d.kind === "ac"
            ? this.state === "ready"
            : this.state === "precharge" || (this.state === "ready" && d.renegotiate === false && this.#phaseStart >= 0);
      if (!ok) return this.#fail(name, "FAILED_SequenceError", s, `PowerDelivery Start in ${this.state}`);
      if (!s.authorized || s.stopRequested || s.emergency) return this.#fail(name, "FAILED_PowerDeliveryNotApplied", s, "charger not ready");
      if (d.kind === "ac" && this.#scheduleTooHigh(req, s)) return this.#fail(name, "FAILED_ChargingProfileInvalid", s, "profile over PMax");
      this.state = "charging";
      actions.push({ type: "energy", on: true });
      return this.#result(name, "OK", s, actions, null);
    }
    if (this.state !== "charging") {
      // ISO-2 and DIN EVs send PowerDeliveryReq Stop also before SessionStop without charging first.
      if (progress === "Stop" && (this.state === "ready" || this.state === "precharge" || this.state === "stopped")) {
        this.state = "stopped";
        actions.push({ type: "dc-output", enable: false, voltage: 0, current: 0 }, { type: "energy", on: false });
        return this.#result(name, "OK", s, actions, null);
      }
      return this.#fail(name, "FAILED_SequenceError", s, `PowerDelivery ${progress} in ${this.state}`);
    }
    if (progress === "Renegotiate") {
      d.renegotiate = true;
      this.state = "params";
      return this.#result(name, "OK", s, actions, null);
    }
    this.state = "stopped";
    if (d.kind === "dc") actions.push({ type: "dc-output", enable: false, voltage: 0, current: 0 });
    actions.push({ type: "energy", on: false });
    return this.#result(name, "OK", s, actions, null);
  }

  /**
   * The EV's ChargingProfile must stay within the schedule we sent: each ProfileEntry (from its
   * ChargingProfileEntryStart, s since the schedule's start) up to the PMax in force at that time.
   */
  #scheduleTooHigh(req: Record<string, unknown>, s: EvseSnapshot): boolean {
    const prof = req["ChargingProfile"] as Record<string, unknown> | undefined;
    if (prof === undefined) return false;
    const entries = prof["ProfileEntry"];
    if (!Array.isArray(entries)) return false;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Record<string, unknown>;
      const p = pvValue(e["ChargingProfileEntryMaxPower"], "W");
      const at = typeof e["ChargingProfileEntryStart"] === "number" ? (e["ChargingProfileEntryStart"] as number) : 0;
      const sched = this.data.schedule;
      let pmax = sched.length > 0 ? sched[0]!.pmax : this.pmax(s);
      for (let k = 1; k < sched.length && sched[k]!.start <= at; k++) pmax = sched[k]!.pmax;
      if (p > pmax * 1.001) return true;
    }
    return false;
  }

  /** The SAScheduleList of this ChargeParameterDiscoveryRes: the charger's limit ahead, in PMax entries. */
  #buildSchedule(s: EvseSnapshot): void {
    const d = this.data;
    const periods = s.schedule ? s.schedule.periods(MAX_SCHEDULE_PERIODS) : null;
    const out: { start: number; pmax: number; amps: number }[] = [];
    const cap = s.dc !== null ? s.dc.maxPower : Infinity;
    if (periods === null || periods.length === 0 || periods[0]!.start !== 0) {
      out.push({ start: 0, pmax: this.pmax(s), amps: s.limitAmps });
    } else {
      for (let i = 0; i < periods.length && out.length < MAX_SCHEDULE_PERIODS; i++) {
        const p = periods[i]!;
        if (!(p.start >= 0 && p.start < SCHEDULE_SECONDS) || (out.length > 0 && p.start <= out[out.length - 1]!.start)) continue;
        const amps = p.amps > 0 ? p.amps : 0;
        let pmax = amps * s.nominalVoltage * p.phases;
        if (pmax > cap) pmax = cap;
        if (out.length > 0 && out[out.length - 1]!.pmax === pmax) continue; // merge equal neighbours
        out.push({ start: p.start, pmax, amps });
      }
    }
    d.schedule = out;
    d.scheduleAt = s.now;
    d.scheduleAmps = out[0]!.amps;
  }

  /** The amps per phase of the schedule we sent, at monotonic time `now`. */
  scheduleAmpsAt(now: number): number {
    const sched = this.data.schedule;
    if (sched.length === 0) return this.data.scheduleAmps;
    const rel = (now - this.data.scheduleAt) / 1000;
    let a = sched[0]!.amps;
    for (let k = 1; k < sched.length && sched[k]!.start <= rel; k++) a = sched[k]!.amps;
    return a;
  }

  #currentDemand(name: string, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
    const dc = s.dc!;
    const d = this.data;
    if (dc.fault || s.emergency) return this.#fail(name, "FAILED", s, "power module fault");
    const v = pvValue(req["EVTargetVoltage"], "V");
    const i = pvValue(req["EVTargetCurrent"], "A");
    if (!(v >= 0) || !(i >= 0)) return this.#fail(name, "FAILED_WrongChargeParameter", s, "EVTargetVoltage/Current");
    const evMaxV = pvValue(req["EVMaximumVoltageLimit"], "V");
    const evMaxI = pvValue(req["EVMaximumCurrentLimit"], "A");
    if (evMaxV >= 0) d.evMaxVoltage = evMaxV;
    if (evMaxI >= 0) d.evMaxCurrent = evMaxI;
    d.evTargetVoltage = v;
    d.evTargetCurrent = i;
    const actions: SessionAction[] = [];
    const status = req["DC_EVStatus"] as Record<string, unknown> | undefined;
    this.#soc(status, actions);
    const evError = status !== undefined && (status["EVReady"] === 0 || (status["EVErrorCode"] !== undefined && status["EVErrorCode"] !== "NO_ERROR"));
    const limitI = this.stepCurrentLimit(s);
    let setV = Math.min(v, dc.maxVoltage);
    if (d.evMaxVoltage >= 0) setV = Math.min(setV, d.evMaxVoltage);
    let setI = Math.min(i, limitI);
    if (d.evMaxCurrent >= 0) setI = Math.min(setI, d.evMaxCurrent);
    if (evError || s.stopRequested) setI = 0;
    this.#evseTargetV = setV;
    actions.push({ type: "dc-output", enable: true, voltage: setV, current: setI });
    // The EV's claim: its MAXIMUM (not its momentary target, which may be 0 A for a moment without any wish to
    // stop) as AC-equivalent amps per phase at the present voltage.
    const vnom = s.nominalVoltage * s.phases;
    const u = v > dc.presentVoltage ? v : dc.presentVoltage;
    const evMax = d.evMaxCurrent >= 0 ? d.evMaxCurrent : i;
    actions.push({ type: "ev-limit", amps: vnom > 0 ? Math.round((evMax * u * 10) / vnom) / 10 : 0, reason: "EVMaximumCurrentLimit" });
    return this.#result(name, "OK", s, actions, null);
  }

  #sessionStop(name: string, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
    const pause = !this.#din && req["ChargingSession"] === "Pause";
    const actions: SessionAction[] = [];
    if (this.data.kind === "dc") actions.push({ type: "dc-output", enable: false, voltage: 0, current: 0 });
    actions.push({ type: "energy", on: false });
    const end: SessionEnd = pause ? "pause" : "terminate";
    this.pausedSessionId = pause ? this.data.sessionId : null;
    const r = this.#result(name, "OK", s, actions, end);
    this.state = "ended";
    return r;
  }

  // ---- helpers -------------------------------------------------------------------------------------------------

  #soc(status: unknown, actions: SessionAction[]): void {
    if (status === null || typeof status !== "object") return;
    const soc = (status as Record<string, unknown>)["EVRESSSOC"];
    if (typeof soc === "number" && soc >= 0 && soc <= 100) actions.push({ type: "ev-soc", soc });
  }

  /** PMax of the schedule, W: the arbiter's limit (without the EV's claim) at the nominal voltage, capped by the DC module. */
  pmax(s: EvseSnapshot): number {
    let p = s.limitAmps * s.nominalVoltage * s.phases;
    const dc = s.dc;
    if (dc !== null && dc.maxPower < p) p = dc.maxPower;
    return p > 0 ? p : 0;
  }

  /** The DC current the charger can give now, A: module rating and the power limit at the present (or target) voltage. */
  dcCurrentLimit(s: EvseSnapshot): number {
    const dc = s.dc;
    if (dc === null) return 0;
    const u = Math.max(dc.presentVoltage, this.data.evTargetVoltage >= 0 ? this.data.evTargetVoltage : 0, 1);
    return Math.min(dc.maxCurrent, this.pmax(s) / u);
  }

  /**
   * dcCurrentLimit / pmax once per step: CurrentDemand needs them for the setpoints and again for the response
   * (the snapshot does not change within a step; EVTargetVoltage is set before the first call).
   */
  stepCurrentLimit(s: EvseSnapshot): number {
    this.#step(s);
    return this.#stepLimit >= 0 ? this.#stepLimit : (this.#stepLimit = this.dcCurrentLimit(s));
  }

  stepPmax(s: EvseSnapshot): number {
    this.#step(s);
    return this.#stepPmax >= 0 ? this.#stepPmax : (this.#stepPmax = this.pmax(s));
  }

  #step(s: EvseSnapshot): void {
    if (this.#stepSnap !== s) {
      this.#stepSnap = s;
      this.#stepLimit = -1;
      this.#stepPmax = -1;
    }
  }

  /** The voltage the module was last told to reach, V. */
  get targetVoltage(): number {
    return this.#evseTargetV;
  }

  /** EVSENotification for the status records. */
  notification(s: EvseSnapshot): "None" | "StopCharging" | "ReNegotiation" {
    if (s.stopRequested || s.emergency) return "StopCharging";
    const delta = this.#c.renegotiateDeltaA ?? 0;
    if (!this.#din && this.state === "charging" && delta > 0 && Math.abs(s.limitAmps - this.scheduleAmpsAt(s.now)) >= delta) return "ReNegotiation";
    return "None";
  }

  #ok(name: string, s: EvseSnapshot, actions: SessionAction[] = []): StepResult {
    return this.#result(name, "OK", s, actions, null);
  }

  #fail(name: string, code: string, s: EvseSnapshot, reason: string): StepResult {
    const r = this.#result(name, code, s, [{ type: "safe-stop", reason: `${name}: ${reason}` }], "failed");
    this.state = "ended";
    return r;
  }

  #result(name: string, code: string, s: EvseSnapshot, actions: SessionAction[], end: SessionEnd | null): StepResult {
    const resName = resNameOf(name);
    const builder = this.#din ? dinResponse : iso2Response;
    let body = builder(this, resName, code, s);
    if (body === null) {
      // A request we cannot answer in kind (unknown / other protocol): the response the machine expected, FAILED.
      const fallback = this.expected().slice(0, -3) + "Res";
      body = builder(this, fallback, code.startsWith("OK") ? "FAILED" : code, s)!;
    }
    const sid = this.data.sessionId !== "" ? this.data.sessionId : "00";
    return { response: { V2G_Message: { Header: { SessionID: sid }, Body: body } }, actions, end, request: this.#lastRequest || name };
  }
}
