/**
 * The simulated car's message behaviour (an EvccHook): supportedAppProtocol, then a DIN 70121 DC or ISO 15118-2
 * AC/DC session with external identification, driven by the SECC's responses: pre-charges to its battery voltage,
 * charges for `loops` ChargingStatus / CurrentDemand rounds (or until the vehicle's targetSoc), stops (or pauses),
 * and can resume a paused session with its SessionID. It obeys EVSENotification StopCharging (stops at once) and,
 * on ISO-2, ReNegotiation (PowerDelivery Renegotiate → ChargeParameterDiscovery → PowerDelivery Start). Any FAILED
 * response ends its session (recorded in `failures`). Simulator-only; deterministic (its delays go through `after`).
 *
 * With a `vehicle` (the EV model, simulator/models/ev.ts, or anything shaped like EvccVehicle) the messages are
 * linked to the car's physics: SoC and battery voltage come from the model, and the car's S2, negotiated AC limit and
 * DC contactors follow the session:
 *
 *  AC (ISO-2)
 *   - ChargeParameterDiscoveryRes → limit = min(EVMaxCurrent, PMax of the first PMaxScheduleEntry of the first
 *     SAScheduleTuple / (EVSENominalVoltage · the car's phases), EVSEMaxCurrent) → vehicle.setHlcLimit; every
 *     ChargingStatusRes's EVSEMaxCurrent updates it.
 *   - S2 closes (state C) when PowerDeliveryRes (Start) OK arrives, and at the latest 250 ms after the first
 *     PowerDeliveryReq Start was sent: ISO 15118-2:2014 [V2G2-847] "the EV shall signal CP State C or D no later
 *     than 250 ms after sending the first PowerDeliveryReq with ChargeProgress equals Start" (requirement text as
 *     quoted in public ISO 15118 stacks, e.g. the Josev SECC and EVerest's EvseV2G timeout table
 *     V2G_CP_STATE_B_TO_C_D_TIMEOUT = 250 ms). IEC 61851-1 allows energy only in C/D, and the SECC closes its
 *     contactor after it sees C/D ([V2G2-860], ≤ 3 s).
 *   - Stopping: the car first takes its own limit to 0 A and waits until it draws nothing (≤ 3 s), then sends
 *     PowerDeliveryReq Stop; S2 opens (state B) on the PowerDeliveryRes, at the latest 250 ms after the Req:
 *     [V2G2-848] (EVerest: V2G_CP_STATE_C_D_TO_B_TIMEOUT = 250 ms). A renegotiation keeps S2 closed (the NOTE beside
 *     [V2G2-847]..[V2G2-849]: the contactor stays closed during a renegotiation).
 *  DC (DIN 70121 and ISO-2)
 *   - S2 closes after ChargeParameterDiscoveryRes, before the first CableCheckReq: the insulation test runs in
 *     state C (IEC 61851-23 DC sequence; EVerest's EV side gates its first CableCheckReq on CP C/D, citing
 *     [V2G2-847]; DIN 70121 has the same order).
 *   - PreCharge until |EVSEPresentVoltage − battery OCV| < 20 V, then the car closes its DC contactors and sends
 *     PowerDeliveryReq Start.
 *   - CurrentDemandReq: EVTargetCurrent = min(the session's requested current, the BMS limit at this SoC);
 *     EVTargetVoltage = OCV + EVTargetCurrent·R + voltageMarginV (capped at EVMaximumVoltageLimit).
 *   - Stopping: CurrentDemandReq with EVTargetCurrent 0 until EVSEPresentCurrent < 2 A (≤ 20 rounds), then
 *     PowerDeliveryReq Stop; S2 opens as on AC ([V2G2-848]; DIN [V2G-DC-556]/[V2G-DC-988]: state B after
 *     PowerDelivery off); the DC contactors open on the PowerDeliveryRes; WeldingDetectionReq is repeated until
 *     EVSEPresentVoltage < 60 V (bounded: weldingRetries, 250 ms apart), then SessionStopReq.
 *  Whatever ends the session (SessionStopRes, FAILED, channel closed, unplug), the car ends in a safe state: limit
 *  0 A, DC contactors open, S2 open.
 */
import { decodeExi, encodeExi, ExiError, type ExiDocument } from "../../../firmware/iso15118/exi/index.js";
import { DIN_NAMESPACE, ISO2_NAMESPACE } from "../../../firmware/iso15118/apphandshake/handshake.js";
import { PAYLOAD_EXI } from "../../../firmware/iso15118/v2gtp/header.js";
import type { EvccChannel, EvccHook } from "../evcc.js";

/** What the message layer needs of the car (EvModel implements it; the simulation wraps it to advance the world). */
export interface EvccVehicle {
  /** State of charge, %. */
  readonly soc: number;
  /** The car stops charging at this SoC, %. */
  readonly targetSoc: number;
  readonly config: {
    readonly phases: 1 | 3;
    readonly maxCurrent: number;
    readonly minCurrent: number;
    readonly batteryKWh: number;
    readonly dcMaxCurrent: number;
    readonly dcMaxVoltage: number;
  };
  /** Battery OCV at the present SoC, V, and internal resistance, ohms. */
  batteryVoltage(): number;
  readonly batteryOhms: number;
  /** BMS DC current limit now, A. */
  dcCurrentLimit(): number;
  /** Largest AC phase current drawn now, A. */
  acCurrent(): number;
  readonly dcContactorClosed: boolean;
  /** S2 is closed (state C/D). */
  readonly s2Closed: boolean;
  setS2(closed: boolean): void;
  setHlcLimit(amps: number): void;
  setDcContactor(closed: boolean): void;
}

export interface ScriptedEvccOptions {
  protocol: "din" | "iso2";
  kind: "ac" | "dc";
  after: (ms: number, fn: () => void) => void;
  /** The car whose physics the session drives (S2, AC limit, DC contactors) and reads (SoC, battery). */
  vehicle?: EvccVehicle | null;
  /** Battery: state of charge % (without a vehicle; required then), and its voltage (V) for a SoC. */
  soc?: number;
  batteryVoltage?: (soc: number) => number;
  /**
   * Requested current, A (AC: EVMaxCurrent per phase; DC: EVMaximumCurrentLimit and the cap of EVTargetCurrent).
   * Default with a vehicle: its maxCurrent (AC) / dcMaxCurrent (DC); required without one.
   */
  current?: number;
  /** EVMaximumVoltageLimit, V (default: the vehicle's dcMaxVoltage, else 450). */
  maxVoltage?: number;
  /** Charge-loop rounds before stopping (default: unlimited with a vehicle — it stops at targetSoc —, else 10). */
  loops?: number;
  /** SoC gained per charge-loop round without a vehicle, %. */
  socPerLoop?: number;
  /** End with SessionStop Pause (ISO-2) instead of Terminate. */
  pause?: boolean;
  /** Resume this paused session (its SessionID in SessionSetupReq). */
  resumeSessionId?: string;
  /** Delay between a response and the next request, ms. */
  delayMs?: number;
  /** DC: EVTargetVoltage = OCV + I·R + this, V. Default 5. */
  voltageMarginV?: number;
  /** WeldingDetectionReq rounds at most (250 ms apart) while EVSEPresentVoltage ≥ 60 V. Default 20. */
  weldingRetries?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** PreCharge is done when the inlet is this close to the battery, V. */
export const PRECHARGE_MATCH_V = 20;
/** WeldingDetection is done below this EVSEPresentVoltage, V (IEC 61851-23: ≤ 60 V DC is touch-safe). */
export const WELDING_SAFE_V = 60;
/** After the session's end the car waits this long for the SECC to close the TCP connection before closing it, ms. */
export const CLOSE_GRACE_MS = 50;
/** [V2G2-847] / [V2G2-848]: the CP state follows a PowerDeliveryReq within this time, ms. */
export const CP_STATE_DEADLINE_MS = 250;

/** A PhysicalValue with multiplier 0 while the value fits a short, else the smallest multiplier that fits. */
const pv = (v: number, unit: string) => {
  let m = 0;
  let x = Math.round(v);
  while (Math.abs(x) > 32767 && m < 3) {
    m++;
    x = Math.round(v / 10 ** m);
  }
  return { Multiplier: m, Unit: unit, Value: x };
};

/** The number a received PhysicalValue (or DIN's plain number) stands for; NaN when absent. */
function valueOf(x: unknown): number {
  if (typeof x === "number") return x;
  if (x === null || typeof x !== "object") return NaN;
  const o = x as { Multiplier?: unknown; Value?: unknown };
  if (typeof o.Value !== "number" || typeof o.Multiplier !== "number") return NaN;
  return o.Value * 10 ** o.Multiplier;
}

const first = (x: unknown): Record<string, unknown> | undefined => {
  const v = Array.isArray(x) ? x[0] : x;
  return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
};

type Progress = "Start" | "Stop" | "Renegotiate";

export class ScriptedEvcc implements EvccHook {
  /** Every response received: "Name:ResponseCode". */
  readonly responses: string[] = [];
  readonly failures: string[] = [];
  sessionId = "";
  soc: number;
  done = false;
  closedReason = "";
  /** Why the car ended its charge loop ("loops", "full", "evse-stop"), "" while charging. */
  stopReason = "";
  /** Renegotiations the car went through (ISO-2). */
  renegotiations = 0;
  /** WeldingDetectionReq sent in this session. */
  weldingRequests = 0;
  #o: ScriptedEvccOptions;
  #v: EvccVehicle | null;
  #handshake = true;
  #loops = 0;
  #stopping = false;
  #renegotiating = false;
  #rampRounds = 0;
  #pd: Progress | null = null;
  #pdStartSent = false;
  #gen = 0;
  #ch: EvccChannel | null = null;
  // AC limits, A per phase
  #scheduleA = Infinity;
  #evseMaxA = Infinity;

  constructor(o: ScriptedEvccOptions) {
    if (o.protocol === "din" && o.kind !== "dc") throw new RangeError("ScriptedEvcc: DIN 70121 is DC only");
    this.#v = o.vehicle ?? null;
    if (this.#v === null && (typeof o.soc !== "number" || typeof o.current !== "number")) throw new RangeError("ScriptedEvcc: soc and current are required without a vehicle");
    this.#o = o;
    this.soc = this.#v !== null ? this.#v.soc : o.soc!;
  }

  /** The AC limit negotiated last (min of EVMaxCurrent, the schedule's PMax/(V·phases), EVSEMaxCurrent), A. */
  get negotiatedLimit(): number {
    return Math.min(this.#evMaxA(), this.#scheduleA, this.#evseMaxA);
  }

  connected(ch: EvccChannel): void {
    this.#ch = ch;
    this.#gen++;
    this.#handshake = true;
    this.done = false;
    this.#loops = 0;
    this.#stopping = false;
    this.#renegotiating = false;
    this.#pd = null;
    this.#pdStartSent = false;
    this.stopReason = "";
    this.weldingRequests = 0;
    const din = { ProtocolNamespace: DIN_NAMESPACE, VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: 1, Priority: this.#o.protocol === "din" ? 1 : 2 };
    const iso = { ProtocolNamespace: ISO2_NAMESPACE, VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: 2, Priority: this.#o.protocol === "iso2" ? 1 : 2 };
    const list = this.#o.protocol === "din" ? [din, iso] : [iso];
    ch.send(PAYLOAD_EXI, encodeExi("app", { supportedAppProtocolReq: { AppProtocol: list } } as unknown as ExiDocument));
  }

  closed(reason: string): void {
    this.closedReason = reason;
    this.#ch = null;
    this.#gen++;
    this.#safe();
  }

  message(_type: number, payload: Uint8Array, ch: EvccChannel): void {
    if (this.#handshake) {
      this.#handshake = false;
      const r = decodeExi("app", payload) as unknown as { supportedAppProtocolRes: { ResponseCode: string } };
      this.responses.push("supportedAppProtocolRes:" + r.supportedAppProtocolRes.ResponseCode);
      if (!r.supportedAppProtocolRes.ResponseCode.startsWith("OK")) return this.#end("no protocol");
      const zero = this.#o.protocol === "din" ? "00" : "0000000000000000";
      return this.#send("SessionSetupReq", { EVCCID: "020000EE0001" }, this.#o.resumeSessionId ?? zero);
    }
    let doc: Record<string, unknown>;
    try {
      doc = decodeExi(this.#o.protocol, payload) as unknown as Record<string, unknown>;
    } catch (e) {
      if (!(e instanceof ExiError)) throw e;
      this.failures.push("undecodable response");
      return this.#end("undecodable");
    }
    const m = doc["V2G_Message"] as { Header: { SessionID: string }; Body: Record<string, Record<string, unknown>> };
    const name = Object.keys(m.Body)[0]!;
    const res = m.Body[name]!;
    const code = String(res["ResponseCode"]);
    this.responses.push(`${name}:${code}`);
    if (!code.startsWith("OK")) {
      this.failures.push(`${name}:${code}`);
      return this.#end("FAILED");
    }
    void ch;
    this.#next(name, res, m.Header.SessionID);
  }

  // ---- the car ---------------------------------------------------------------------------------------------------

  #log(event: string, fields: Record<string, unknown> = {}): void {
    this.#o.log?.(event, fields);
  }

  #readSoc(): number {
    if (this.#v !== null) this.soc = this.#v.soc;
    return this.soc;
  }

  #evMaxA(): number {
    return this.#o.current ?? (this.#v !== null ? this.#v.config.maxCurrent : 16);
  }

  #dcRequestedA(): number {
    return this.#o.current ?? (this.#v !== null ? this.#v.config.dcMaxCurrent : 100);
  }

  #maxV(): number {
    return this.#o.maxVoltage ?? (this.#v !== null ? this.#v.config.dcMaxVoltage : 450);
  }

  #s2(closed: boolean, rule: string): void {
    const v = this.#v;
    if (v === null) return;
    this.#log("s2", { closed, rule });
    v.setS2(closed);
  }

  #dcContactor(closed: boolean): void {
    const v = this.#v;
    if (v === null || v.dcContactorClosed === closed) return;
    this.#log("dc-contactor", { closed });
    v.setDcContactor(closed);
  }

  #applyAcLimit(): void {
    const v = this.#v;
    if (v === null || this.#o.kind !== "ac" || this.#stopping) return;
    const a = Math.max(0, this.negotiatedLimit);
    this.#log("hlc-limit", { amps: Math.round(a * 100) / 100 });
    v.setHlcLimit(a);
  }

  /** The end of the session, however it came: limit 0, DC contactors open, S2 open. */
  #safe(): void {
    const v = this.#v;
    if (v === null) return;
    v.setHlcLimit(0);
    this.#dcContactor(false);
    v.setS2(false);
  }

  #full(): boolean {
    return this.#v !== null && this.#readSoc() >= this.#v.targetSoc;
  }

  #end(reason: string): void {
    this.done = true;
    this.#gen++;
    this.#log("evcc-end", { reason });
    this.#safe();
    // The SECC closes the connection after SessionStopRes or a FAILED response; the car closes it itself only if
    // it is still open a moment later (closing at the same instant as the SECC races its close in the simulated
    // network: see the report).
    const ch = this.#ch;
    if (ch !== null) {
      this.#o.after(CLOSE_GRACE_MS, () => {
        if (this.#ch === ch) ch.close();
      });
    }
  }

  #status() {
    return { EVReady: 1, EVErrorCode: "NO_ERROR", EVRESSSOC: Math.round(this.#readSoc()) };
  }

  #batteryV(): number {
    if (this.#v !== null) return this.#v.batteryVoltage();
    return this.#o.batteryVoltage ? this.#o.batteryVoltage(this.soc) : 350 + this.soc;
  }

  /** Calls fn once the car draws no AC current (polls every 50 ms, at most 3 s), at once without a vehicle. */
  #whenIdle(fn: () => void, polls = 0): void {
    const v = this.#v;
    if (v === null || v.acCurrent() < 0.5 || polls >= 60) return fn();
    const gen = this.#gen;
    this.#o.after(50, () => {
      if (gen === this.#gen) this.#whenIdle(fn, polls + 1);
    });
  }

  // ---- the message sequence ----------------------------------------------------------------------------------------

  #next(name: string, res: Record<string, unknown>, sid: string): void {
    const din = this.#o.protocol === "din";
    const dc = this.#o.kind === "dc";
    switch (name) {
      case "SessionSetupRes":
        this.sessionId = sid;
        return this.#send("ServiceDiscoveryReq", {});
      case "ServiceDiscoveryRes":
        return this.#send(din ? "ServicePaymentSelectionReq" : "PaymentServiceSelectionReq", { SelectedPaymentOption: "ExternalPayment", SelectedServiceList: { SelectedService: [{ ServiceID: 1 }] } });
      case "ServicePaymentSelectionRes":
      case "PaymentServiceSelectionRes":
        return this.#send(din ? "ContractAuthenticationReq" : "AuthorizationReq", {});
      case "ContractAuthenticationRes":
      case "AuthorizationRes":
        if (res["EVSEProcessing"] !== "Finished") return this.#send(name.replace("Res", "Req"), {}, undefined, 500);
        return this.#chargeParameters();
      case "ChargeParameterDiscoveryRes":
        if (res["EVSEProcessing"] === "Ongoing") return this.#chargeParameters(500);
        if (!dc) {
          this.#readSchedule(res);
          this.#applyAcLimit();
        }
        if (this.#renegotiating) {
          this.#renegotiating = false;
          return this.#powerDelivery("Start");
        }
        if (!dc) return this.#powerDelivery("Start");
        // DC: state C before the cable check (the insulation test runs in C).
        this.#s2(true, "C before CableCheckReq (IEC 61851-23)");
        return this.#send("CableCheckReq", { DC_EVStatus: this.#status() });
      case "CableCheckRes":
        if (res["EVSEProcessing"] !== "Finished") return this.#send("CableCheckReq", { DC_EVStatus: this.#status() }, undefined, 250);
        return this.#preCharge();
      case "PreChargeRes": {
        const v = valueOf(res["EVSEPresentVoltage"]);
        if (!(Math.abs(v - this.#batteryV()) < PRECHARGE_MATCH_V)) return this.#preCharge(100);
        this.#dcContactor(true);
        return this.#powerDelivery("Start");
      }
      case "PowerDeliveryRes":
        return this.#powerDeliveryDone();
      case "ChargingStatusRes":
      case "CurrentDemandRes":
        return this.#chargeLoop(name, res);
      case "WeldingDetectionRes": {
        const v = valueOf(res["EVSEPresentVoltage"]);
        if (v >= WELDING_SAFE_V && this.weldingRequests < (this.#o.weldingRetries ?? 20)) return this.#weldingDetection(250);
        if (v >= WELDING_SAFE_V) this.failures.push(`WeldingDetection: ${Math.round(v)} V after ${this.weldingRequests} requests`);
        return this.#sessionStop();
      }
      case "SessionStopRes":
        return this.#end("stopped");
      default:
        return this.#end("unexpected " + name);
    }
  }

  #chargeParameters(delay?: number): void {
    const din = this.#o.protocol === "din";
    if (this.#o.kind === "ac") {
      const v = this.#v;
      const phases = v !== null ? v.config.phases : 3;
      const eAmount = v !== null ? Math.max(0, ((v.targetSoc - this.#readSoc()) / 100) * v.config.batteryKWh * 1000) : 20_000;
      return this.#send(
        "ChargeParameterDiscoveryReq",
        {
          RequestedEnergyTransferMode: phases === 1 ? "AC_single_phase_core" : "AC_three_phase_core",
          AC_EVChargeParameter: { EAmount: pv(eAmount, "Wh"), EVMaxVoltage: pv(400, "V"), EVMaxCurrent: pv(this.#evMaxA(), "A"), EVMinCurrent: pv(v !== null ? v.config.minCurrent : 6, "A") },
        },
        undefined,
        delay,
      );
    }
    this.#send(
      "ChargeParameterDiscoveryReq",
      {
        [din ? "EVRequestedEnergyTransferType" : "RequestedEnergyTransferMode"]: "DC_extended",
        DC_EVChargeParameter: { DC_EVStatus: this.#status(), EVMaximumCurrentLimit: pv(this.#dcRequestedA(), "A"), EVMaximumVoltageLimit: pv(this.#maxV(), "V") },
      },
      undefined,
      delay,
    );
  }

  /** AC: the schedule's PMax (first tuple, first entry) / (EVSENominalVoltage · phases), and EVSEMaxCurrent. */
  #readSchedule(res: Record<string, unknown>): void {
    const list = res["SAScheduleList"] as Record<string, unknown> | undefined;
    const tuple = first(list?.["SAScheduleTuple"]);
    const sched = tuple?.["PMaxSchedule"] as Record<string, unknown> | undefined;
    const entry = first(sched?.["PMaxScheduleEntry"]);
    const pmax = valueOf(entry?.["PMax"]);
    const p = res["AC_EVSEChargeParameter"] as Record<string, unknown> | undefined;
    const vnom = valueOf(p?.["EVSENominalVoltage"]);
    const phases = this.#v !== null ? this.#v.config.phases : 3;
    const u = vnom > 0 ? vnom : 230;
    this.#scheduleA = pmax >= 0 ? pmax / (u * phases) : Infinity;
    const evseMax = valueOf(p?.["EVSEMaxCurrent"]);
    this.#evseMaxA = evseMax >= 0 ? evseMax : Infinity;
  }

  #powerDeliveryDone(): void {
    const pd = this.#pd;
    this.#pd = null;
    if (pd === "Renegotiate") return this.#chargeParameters();
    if (pd === "Stop") {
      this.#s2(false, "[V2G2-848] B after PowerDeliveryReq Stop");
      if (this.#o.kind === "dc") {
        this.#dcContactor(false);
        return this.#weldingDetection();
      }
      return this.#sessionStop();
    }
    // Start confirmed: state C now (unless the 250 ms deadline already closed S2).
    if (this.#o.kind === "ac" && this.#v !== null && !this.#vehicleS2()) this.#s2(true, "[V2G2-847] C after PowerDeliveryRes Start");
    return this.#loop();
  }

  #vehicleS2(): boolean {
    return this.#v !== null && this.#v.s2Closed;
  }

  #chargeLoop(name: string, res: Record<string, unknown>): void {
    const dc = this.#o.kind === "dc";
    if (this.#stopping) {
      // DC ramp-down: CurrentDemandReq with 0 A until the charger's current is down.
      const i = valueOf(res["EVSEPresentCurrent"]);
      if (!(i >= 2) || ++this.#rampRounds >= 20) return this.#powerDelivery("Stop");
      return this.#loop();
    }
    this.#loops++;
    if (this.#v === null) this.soc = Math.min(100, this.soc + (this.#o.socPerLoop ?? 0.1));
    const status = (res["AC_EVSEStatus"] ?? res["DC_EVSEStatus"]) as Record<string, unknown> | undefined;
    const note = status?.["EVSENotification"];
    const code = status?.["EVSEStatusCode"];
    if (!dc && name === "ChargingStatusRes") {
      const m = valueOf(res["EVSEMaxCurrent"]);
      if (m >= 0 && m !== this.#evseMaxA) {
        this.#evseMaxA = m;
        this.#applyAcLimit();
      }
    }
    if (note === "StopCharging" || code === "EVSE_Shutdown" || code === "EVSE_EmergencyShutdown") return this.#stop("evse-stop");
    if (note === "ReNegotiation" && this.#o.protocol === "iso2") {
      this.renegotiations++;
      this.#renegotiating = true;
      this.#log("renegotiate", {});
      return this.#powerDelivery("Renegotiate");
    }
    const loops = this.#o.loops ?? (this.#v !== null ? Infinity : 10);
    if (this.#loops >= loops) return this.#stop("loops");
    if (this.#full()) return this.#stop("full");
    return this.#loop();
  }

  /** The car ends its charge loop: AC stops drawing then PowerDelivery Stop; DC ramps down first (with a vehicle). */
  #stop(reason: string): void {
    this.#stopping = true;
    this.stopReason = reason;
    this.#log("evcc-stop", { reason });
    const v = this.#v;
    if (v === null) return this.#powerDelivery("Stop");
    if (this.#o.kind === "ac") {
      v.setHlcLimit(0);
      return this.#whenIdle(() => this.#powerDelivery("Stop"));
    }
    this.#rampRounds = 0;
    return this.#loop();
  }

  #loop(): void {
    if (this.#o.kind === "ac") return this.#send("ChargingStatusReq", {}, undefined, 250);
    const v = this.#v;
    const req = this.#dcRequestedA();
    let i = req;
    let u = this.#batteryV() + 5;
    if (v !== null) {
      i = this.#stopping ? 0 : Math.max(0, Math.min(req, v.dcCurrentLimit()));
      u = Math.min(this.#maxV(), v.batteryVoltage() + i * v.batteryOhms + (this.#o.voltageMarginV ?? 5));
    }
    this.#send(
      "CurrentDemandReq",
      {
        DC_EVStatus: this.#status(),
        EVTargetCurrent: pv(i, "A"),
        EVMaximumVoltageLimit: pv(this.#maxV(), "V"),
        EVMaximumCurrentLimit: pv(req, "A"),
        BulkChargingComplete: 0,
        ChargingComplete: this.#stopping && this.stopReason === "full" ? 1 : 0,
        EVTargetVoltage: pv(u, "V"),
      },
      undefined,
      100,
    );
  }

  #preCharge(delay?: number): void {
    this.#send("PreChargeReq", { DC_EVStatus: this.#status(), EVTargetVoltage: pv(this.#batteryV(), "V"), EVTargetCurrent: pv(1, "A") }, undefined, delay);
  }

  #powerDelivery(progress: Progress): void {
    const din = this.#o.protocol === "din";
    const start = progress === "Start";
    const body: Record<string, unknown> = din ? { ReadyToChargeState: start ? 1 : 0 } : { ChargeProgress: progress, SAScheduleTupleID: 1 };
    if (this.#o.kind === "dc") body["DC_EVPowerDeliveryParameter"] = { DC_EVStatus: this.#status(), BulkChargingComplete: 0, ChargingComplete: progress === "Stop" ? 1 : 0 };
    this.#pd = progress;
    let onSent: (() => void) | undefined;
    if (this.#v !== null && progress !== "Renegotiate") {
      // [V2G2-847] (Start, the first of the session, AC) / [V2G2-848] (Stop): the CP state follows within 250 ms.
      const firstStart = start && !this.#pdStartSent && this.#o.kind === "ac";
      if (start) this.#pdStartSent = true;
      if (firstStart || !start) {
        onSent = () => {
          const gen = this.#gen;
          this.#o.after(CP_STATE_DEADLINE_MS, () => {
            if (gen !== this.#gen || this.#pd !== progress) return; // answered (or ended) in time
            if (start && !this.#vehicleS2()) this.#s2(true, "[V2G2-847] 250 ms after PowerDeliveryReq Start");
            if (!start && this.#vehicleS2()) this.#s2(false, "[V2G2-848] 250 ms after PowerDeliveryReq Stop");
          });
        };
      }
    }
    this.#send("PowerDeliveryReq", body, undefined, undefined, onSent);
  }

  #weldingDetection(delay?: number): void {
    this.weldingRequests++;
    this.#send("WeldingDetectionReq", { DC_EVStatus: this.#status() }, undefined, delay);
  }

  #sessionStop(): void {
    this.#send("SessionStopReq", this.#o.protocol === "din" ? {} : { ChargingSession: this.#o.pause ? "Pause" : "Terminate" });
  }

  #send(name: string, body: Record<string, unknown>, sid?: string, delay?: number, onSent?: () => void): void {
    const doc = { V2G_Message: { Header: { SessionID: sid ?? this.sessionId }, Body: { [name]: body } } };
    const bytes = encodeExi(this.#o.protocol, doc as unknown as ExiDocument);
    const gen = this.#gen;
    this.#o.after(delay ?? this.#o.delayMs ?? 20, () => {
      if (this.#ch !== null && gen === this.#gen) {
        this.#ch.send(PAYLOAD_EXI, bytes);
        onSent?.();
      }
    });
  }
}
