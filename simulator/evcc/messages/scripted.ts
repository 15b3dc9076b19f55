/**
 * The simulated car's message behaviour (an EvccHook): supportedAppProtocol, then a DIN 70121 DC or ISO 15118-2
 * AC/DC session with external identification, driven by the SECC's responses: pre-charges to its battery voltage,
 * charges for `loops` ChargingStatus / CurrentDemand rounds (or until `targetSoc`), stops (or pauses), and can
 * resume a paused session with its SessionID. Any FAILED response ends its session (recorded in `failures`).
 * Simulator-only; deterministic (its delays go through the given `after`).
 */
import { decodeExi, encodeExi, ExiError, type ExiDocument } from "../../../firmware/iso15118/exi/index.js";
import { DIN_NAMESPACE, ISO2_NAMESPACE } from "../../../firmware/iso15118/apphandshake/handshake.js";
import { PAYLOAD_EXI } from "../../../firmware/iso15118/v2gtp/header.js";
import type { EvccChannel, EvccHook } from "../evcc.js";

export interface ScriptedEvccOptions {
  protocol: "din" | "iso2";
  kind: "ac" | "dc";
  after: (ms: number, fn: () => void) => void;
  /** Battery: state of charge %, and its voltage (V) for a SoC. */
  soc: number;
  batteryVoltage?: (soc: number) => number;
  /** Requested current, A (AC: EVMaxCurrent per phase; DC: EVTargetCurrent). */
  current: number;
  maxVoltage?: number;
  /** Charge-loop rounds before stopping. */
  loops: number;
  /** SoC gained per charge-loop round, %. */
  socPerLoop?: number;
  /** End with SessionStop Pause (ISO-2) instead of Terminate. */
  pause?: boolean;
  /** Resume this paused session (its SessionID in SessionSetupReq). */
  resumeSessionId?: string;
  /** Delay between a response and the next request, ms. */
  delayMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

const pv = (v: number, unit: string) => ({ Multiplier: 0, Unit: unit, Value: Math.round(v) });

export class ScriptedEvcc implements EvccHook {
  /** Every response received: "Name:ResponseCode". */
  readonly responses: string[] = [];
  readonly failures: string[] = [];
  sessionId = "";
  soc: number;
  done = false;
  closedReason = "";
  #o: ScriptedEvccOptions;
  #handshake = true;
  #loops = 0;
  #stopping = false;
  #ch: EvccChannel | null = null;

  constructor(o: ScriptedEvccOptions) {
    this.#o = o;
    this.soc = o.soc;
  }

  connected(ch: EvccChannel): void {
    this.#ch = ch;
    this.#handshake = true;
    const din = { ProtocolNamespace: DIN_NAMESPACE, VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: 1, Priority: this.#o.protocol === "din" ? 1 : 2 };
    const iso = { ProtocolNamespace: ISO2_NAMESPACE, VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: 2, Priority: this.#o.protocol === "iso2" ? 1 : 2 };
    const list = this.#o.protocol === "din" ? [din, iso] : [iso];
    ch.send(PAYLOAD_EXI, encodeExi("app", { supportedAppProtocolReq: { AppProtocol: list } } as unknown as ExiDocument));
  }

  closed(reason: string): void {
    this.closedReason = reason;
    this.#ch = null;
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

  #end(reason: string): void {
    this.done = true;
    this.#o.log?.("evcc-end", { reason });
    this.#ch?.close();
  }

  #status() {
    return { EVReady: 1, EVErrorCode: "NO_ERROR", EVRESSSOC: Math.round(this.soc) };
  }

  #batteryV(): number {
    return this.#o.batteryVoltage ? this.#o.batteryVoltage(this.soc) : 350 + this.soc;
  }

  #next(name: string, res: Record<string, unknown>, sid: string): void {
    const din = this.#o.protocol === "din";
    const dc = this.#o.kind === "dc";
    const maxV = this.#o.maxVoltage ?? 450;
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
        if (!dc) {
          return this.#send("ChargeParameterDiscoveryReq", { RequestedEnergyTransferMode: "AC_three_phase_core", AC_EVChargeParameter: { EAmount: pv(20_000, "Wh"), EVMaxVoltage: pv(400, "V"), EVMaxCurrent: pv(this.#o.current, "A"), EVMinCurrent: pv(6, "A") } });
        }
        return this.#send("ChargeParameterDiscoveryReq", {
          [din ? "EVRequestedEnergyTransferType" : "RequestedEnergyTransferMode"]: "DC_extended",
          DC_EVChargeParameter: { DC_EVStatus: this.#status(), EVMaximumCurrentLimit: pv(this.#o.current, "A"), EVMaximumVoltageLimit: pv(maxV, "V") },
        });
      case "ChargeParameterDiscoveryRes":
        if (!dc) return this.#powerDelivery(true);
        return this.#send("CableCheckReq", { DC_EVStatus: this.#status() });
      case "CableCheckRes":
        if (res["EVSEProcessing"] !== "Finished") return this.#send("CableCheckReq", { DC_EVStatus: this.#status() }, undefined, 250);
        return this.#preCharge();
      case "PreChargeRes": {
        const p = res["EVSEPresentVoltage"] as { Multiplier: number; Value: number };
        const v = p.Value * 10 ** p.Multiplier;
        if (Math.abs(v - this.#batteryV()) > 10) return this.#preCharge(100);
        return this.#powerDelivery(true);
      }
      case "PowerDeliveryRes":
        if (this.#stopping) {
          if (dc) return this.#send("WeldingDetectionReq", { DC_EVStatus: this.#status() });
          return this.#sessionStop();
        }
        return this.#loop();
      case "ChargingStatusRes":
      case "CurrentDemandRes":
        this.#loops++;
        this.soc = Math.min(100, this.soc + (this.#o.socPerLoop ?? 0.1));
        if (this.#loops >= this.#o.loops) {
          this.#stopping = true;
          return this.#powerDelivery(false);
        }
        return this.#loop();
      case "WeldingDetectionRes":
        return this.#sessionStop();
      case "SessionStopRes":
        return this.#end("stopped");
      default:
        return this.#end("unexpected " + name);
    }
  }

  #loop(): void {
    if (this.#o.kind === "ac") return this.#send("ChargingStatusReq", {}, undefined, 250);
    this.#send(
      "CurrentDemandReq",
      {
        DC_EVStatus: this.#status(),
        EVTargetCurrent: pv(this.#o.current, "A"),
        EVMaximumVoltageLimit: pv(this.#o.maxVoltage ?? 450, "V"),
        EVMaximumCurrentLimit: pv(this.#o.current, "A"),
        BulkChargingComplete: 0,
        ChargingComplete: 0,
        EVTargetVoltage: pv(this.#batteryV() + 5, "V"),
      },
      undefined,
      100,
    );
  }

  #preCharge(delay?: number): void {
    this.#send("PreChargeReq", { DC_EVStatus: this.#status(), EVTargetVoltage: pv(this.#batteryV(), "V"), EVTargetCurrent: pv(1, "A") }, undefined, delay);
  }

  #powerDelivery(start: boolean): void {
    const body: Record<string, unknown> = this.#o.protocol === "din" ? { ReadyToChargeState: start ? 1 : 0 } : { ChargeProgress: start ? "Start" : "Stop", SAScheduleTupleID: 1 };
    if (this.#o.kind === "dc") body["DC_EVPowerDeliveryParameter"] = { DC_EVStatus: this.#status(), BulkChargingComplete: 0, ChargingComplete: start ? 0 : 1 };
    this.#send("PowerDeliveryReq", body);
  }

  #sessionStop(): void {
    this.#send("SessionStopReq", this.#o.protocol === "din" ? {} : { ChargingSession: this.#o.pause ? "Pause" : "Terminate" });
  }

  #send(name: string, body: Record<string, unknown>, sid?: string, delay?: number): void {
    const doc = { V2G_Message: { Header: { SessionID: sid ?? this.sessionId }, Body: { [name]: body } } };
    const bytes = encodeExi(this.#o.protocol, doc as unknown as ExiDocument);
    this.#o.after(delay ?? this.#o.delayMs ?? 20, () => {
      if (this.#ch !== null) this.#ch.send(PAYLOAD_EXI, bytes);
    });
  }
}
