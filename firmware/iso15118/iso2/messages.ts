/**
 * ISO 15118-2 response bodies (AC and DC, EIM), built from the session data and the charger snapshot. Every
 * response is complete for any ResponseCode. Platform-neutral.
 */
import type { EvseSnapshot } from "../apphandshake/types.js";
import { pv } from "../apphandshake/types.js";
import { currentDemandFields, dcEvseChargeParameter, dcEvseStatus, pmaxEntries } from "../din70121/messages.js";
import type { V2gSessionMachine } from "./machine.js";
import { SA_SCHEDULE_TUPLE_ID } from "./machine.js";

export function acEvseStatus(m: V2gSessionMachine, s: EvseSnapshot): Record<string, unknown> {
  return { NotificationMaxDelay: 0, EVSENotification: m.notification(s), RCD: s.rcd ? 1 : 0 };
}

function status(m: V2gSessionMachine, s: EvseSnapshot): Record<string, unknown> {
  return m.data.kind === "ac" ? { AC_EVSEStatus: acEvseStatus(m, s) } : { DC_EVSEStatus: dcEvseStatus(m, s) };
}

/** The body ({ XRes: {...} }) of an ISO 15118-2 response, or null when there is no such response here. */
export function iso2Response(m: V2gSessionMachine, name: string, code: string, s: EvseSnapshot): Record<string, unknown> | null {
  const d = m.data;
  const dc = s.dc;
  const ok = code.startsWith("OK");
  let r: Record<string, unknown>;
  // The charge-loop responses first (a string case costs a compare per case passed).
  switch (name) {
    case "CurrentDemandRes":
      // the shared fields, then ISO-2's own (as a spread would, without copying the record: ~100 units)
      r = currentDemandFields(m, s, code);
      r["EVSEID"] = d.evseId;
      r["SAScheduleTupleID"] = SA_SCHEDULE_TUPLE_ID;
      break;
    case "ChargingStatusRes":
      r = {
        ResponseCode: code,
        EVSEID: d.evseId,
        SAScheduleTupleID: SA_SCHEDULE_TUPLE_ID,
        EVSEMaxCurrent: pv(s.limitAmps > 0 ? s.limitAmps : 0, "A"),
        AC_EVSEStatus: acEvseStatus(m, s),
      };
      break;
    case "SessionSetupRes":
      r = { ResponseCode: code, EVSEID: d.evseId };
      break;
    case "ServiceDiscoveryRes":
      r = {
        ResponseCode: code,
        PaymentOptionList: { PaymentOption: ["ExternalPayment"] },
        ChargeService: {
          ServiceID: 1,
          ServiceCategory: "EVCharging",
          FreeService: 0,
          SupportedEnergyTransferMode: { EnergyTransferMode: d.kind === "ac" ? (s.phases === 3 ? ["AC_three_phase_core", "AC_single_phase_core"] : ["AC_single_phase_core"]) : ["DC_core", "DC_extended"] },
        },
      };
      break;
    case "ServiceDetailRes":
      r = { ResponseCode: code, ServiceID: 1 };
      break;
    case "PaymentServiceSelectionRes":
    case "SessionStopRes":
      r = { ResponseCode: code };
      break;
    case "AuthorizationRes":
      r = { ResponseCode: code, EVSEProcessing: ok && d.processing === "Ongoing" ? "Ongoing" : "Finished" };
      break;
    case "ChargeParameterDiscoveryRes":
      r = {
        ResponseCode: code,
        EVSEProcessing: "Finished",
        SAScheduleList: {
          SAScheduleTuple: [
            { SAScheduleTupleID: SA_SCHEDULE_TUPLE_ID, PMaxSchedule: { PMaxScheduleEntry: pmaxEntries(m, s, false) } },
          ],
        },
        ...(d.kind === "ac"
          ? { AC_EVSEChargeParameter: { AC_EVSEStatus: acEvseStatus(m, s), EVSENominalVoltage: pv(s.nominalVoltage, "V"), EVSEMaxCurrent: pv(Math.max(0, s.limitAmps), "A") } }
          : { DC_EVSEChargeParameter: dcEvseChargeParameter(m, s) }),
      };
      break;
    case "PowerDeliveryRes":
      r = { ResponseCode: code, ...status(m, s) };
      break;
    case "CableCheckRes":
      r = { ResponseCode: code, DC_EVSEStatus: dcEvseStatus(m, s), EVSEProcessing: ok && d.processing === "Ongoing" ? "Ongoing" : "Finished" };
      break;
    case "PreChargeRes":
    case "WeldingDetectionRes":
      r = { ResponseCode: code, DC_EVSEStatus: dcEvseStatus(m, s), EVSEPresentVoltage: pv(dc !== null ? dc.presentVoltage : 0, "V") };
      break;
    default:
      return null;
  }
  return { [name]: r };
}
