/**
 * DIN SPEC 70121 response bodies (DC only), built from the session data and the charger snapshot. Every response
 * is complete for any ResponseCode (a FAILED_* response carries the same mandatory elements). Platform-neutral.
 */
import type { EvseSnapshot } from "../apphandshake/types.js";
import { pv } from "../apphandshake/types.js";
import type { V2gSessionMachine } from "../iso2/machine.js";
import { SA_SCHEDULE_TUPLE_ID, SCHEDULE_SECONDS } from "../iso2/machine.js";

/** DC_EVSEStatus (DIN and ISO-2 share the element names; the encoder writes schema order). */
export function dcEvseStatus(m: V2gSessionMachine, s: EvseSnapshot): Record<string, unknown> {
  const dc = s.dc;
  let code = "EVSE_Ready";
  if (s.emergency || dc === null || dc.fault) code = "EVSE_EmergencyShutdown";
  else if (s.stopRequested) code = "EVSE_Shutdown";
  else if (dc.isolationRunning) code = "EVSE_IsolationMonitoringActive";
  return {
    EVSEIsolationStatus: dc !== null ? (m.protocol === "din" && dc.isolation === "No_IMD" ? "Valid" : dc.isolation) : "Invalid",
    EVSEStatusCode: code,
    NotificationMaxDelay: 0,
    EVSENotification: m.notification(s),
  };
}

/**
 * The PMaxScheduleEntry list of the schedule the machine built (m.data.schedule; one entry at the present limit
 * when it has none yet): relative start times, the last entry with the duration up to 24 h. DIN's PMax is a bare
 * short (W, at most 32767); ISO-2's a PhysicalValue in W.
 */
export function pmaxEntries(m: V2gSessionMachine, s: EvseSnapshot, din: boolean): Record<string, unknown>[] {
  const sched = m.data.schedule.length > 0 ? m.data.schedule : [{ start: 0, pmax: m.pmax(s), amps: s.limitAmps }];
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < sched.length; i++) {
    const e = sched[i]!;
    const last = i === sched.length - 1;
    const interval: Record<string, unknown> = last ? { start: e.start, duration: SCHEDULE_SECONDS - e.start } : { start: e.start };
    out.push({ RelativeTimeInterval: interval, PMax: din ? Math.min(32767, Math.round(e.pmax)) : pv(e.pmax, "W") });
  }
  return out;
}

export function dcEvseChargeParameter(m: V2gSessionMachine, s: EvseSnapshot): Record<string, unknown> {
  const dc = s.dc;
  return {
    DC_EVSEStatus: dcEvseStatus(m, s),
    EVSEMaximumCurrentLimit: pv(m.dcCurrentLimit(s), "A"),
    EVSEMaximumPowerLimit: pv(m.pmax(s), "W"),
    EVSEMaximumVoltageLimit: pv(dc !== null ? dc.maxVoltage : 0, "V"),
    EVSEMinimumCurrentLimit: pv(dc !== null ? dc.minCurrent : 0, "A"),
    EVSEMinimumVoltageLimit: pv(dc !== null ? dc.minVoltage : 0, "V"),
    EVSEPeakCurrentRipple: pv(0, "A"),
  };
}

/** The CurrentDemandRes fields shared by DIN and ISO-2. */
export function currentDemandFields(m: V2gSessionMachine, s: EvseSnapshot, code: string): Record<string, unknown> {
  const dc = s.dc;
  const d = m.data;
  // the values #currentDemand computed for this step (not computed twice: ~150 units on XS)
  const limitI = m.stepCurrentLimit(s);
  const pmax = m.stepPmax(s);
  const maxV = dc !== null ? dc.maxVoltage : 0;
  const memo = m.limitPvs;
  return {
    ResponseCode: code,
    DC_EVSEStatus: dcEvseStatus(m, s),
    EVSEPresentVoltage: pv(dc !== null ? dc.presentVoltage : 0, "V"),
    EVSEPresentCurrent: pv(dc !== null ? dc.presentCurrent : 0, "A"),
    EVSECurrentLimitAchieved: d.evTargetCurrent > limitI ? 1 : 0,
    EVSEVoltageLimitAchieved: d.evTargetVoltage > maxV ? 1 : 0,
    EVSEPowerLimitAchieved: d.evTargetCurrent * d.evTargetVoltage > pmax ? 1 : 0,
    // the charger's limits: the same records while they stay put
    EVSEMaximumVoltageLimit: memo.maxV.get(maxV),
    EVSEMaximumCurrentLimit: memo.maxI.get(limitI),
    EVSEMaximumPowerLimit: memo.pmax.get(pmax),
  };
}

/** The body ({ XRes: {...} }) of a DIN response, or null when DIN has no such response. */
export function dinResponse(m: V2gSessionMachine, name: string, code: string, s: EvseSnapshot): Record<string, unknown> | null {
  const d = m.data;
  const dc = s.dc;
  let r: Record<string, unknown>;
  // The charge-loop response first (a string case costs a compare per case passed).
  switch (name) {
    case "CurrentDemandRes":
      r = currentDemandFields(m, s, code);
      break;
    case "SessionSetupRes":
      r = { ResponseCode: code, EVSEID: d.evseId };
      break;
    case "ServiceDiscoveryRes":
      r = {
        ResponseCode: code,
        PaymentOptions: { PaymentOption: ["ExternalPayment"] },
        ChargeService: { ServiceTag: { ServiceID: 1, ServiceCategory: "EVCharging" }, FreeService: 0, EnergyTransferType: "DC_extended" },
      };
      break;
    case "ServicePaymentSelectionRes":
    case "SessionStopRes":
      r = { ResponseCode: code };
      break;
    case "ContractAuthenticationRes":
      r = { ResponseCode: code, EVSEProcessing: code.startsWith("OK") ? d.processing : "Finished" };
      break;
    case "ChargeParameterDiscoveryRes": {
      r = {
        ResponseCode: code,
        EVSEProcessing: "Finished",
        SAScheduleList: {
          SAScheduleTuple: [
            { SAScheduleTupleID: SA_SCHEDULE_TUPLE_ID, PMaxSchedule: { PMaxScheduleID: 1, PMaxScheduleEntry: pmaxEntries(m, s, true) } },
          ],
        },
        DC_EVSEChargeParameter: dcEvseChargeParameter(m, s),
      };
      break;
    }
    case "CableCheckRes":
      r = { ResponseCode: code, DC_EVSEStatus: dcEvseStatus(m, s), EVSEProcessing: code.startsWith("OK") ? d.processing : "Finished" };
      break;
    case "PreChargeRes":
    case "WeldingDetectionRes":
      r = { ResponseCode: code, DC_EVSEStatus: dcEvseStatus(m, s), EVSEPresentVoltage: pv(dc !== null ? dc.presentVoltage : 0, "V") };
      break;
    case "PowerDeliveryRes":
      r = { ResponseCode: code, DC_EVSEStatus: dcEvseStatus(m, s) };
      break;
    default:
      return null;
  }
  return { [name]: r };
}
