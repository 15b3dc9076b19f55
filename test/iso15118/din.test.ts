import test from "ava";
import { V2gSessionMachine, type MachineConfig } from "../../firmware/iso15118/iso2/machine.js";
import type { EvseSnapshot, StepResult } from "../../firmware/iso15118/apphandshake/types.js";
import { dcSnapshot, dec, enc, evStatus, machineAt, msg, pvOf, readVectors, resOf, snapshot, variantOf } from "./v2g-helpers.js";

const SID = "0102030405060708";
const cfg = (over: Partial<MachineConfig> = {}): MachineConfig => ({ protocol: "din", kind: "dc", evseId: "5A5A00001234", cableCheckMs: 38_000, preChargeMs: 5_000, newSessionId: () => SID, ...over });

/** Steps the machine and checks the response encodes with the DIN grammar and decodes to the same response. */
function step(t: import("ava").ExecutionContext, m: V2gSessionMachine, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
  const r = m.handle(req, s);
  t.deepEqual(dec("din", enc("din", r.response)), r.response);
  return r;
}

const cpd = () => ({
  EVRequestedEnergyTransferType: "DC_extended",
  DC_EVChargeParameter: { DC_EVStatus: evStatus(20), EVMaximumCurrentLimit: pvOf(100, "A"), EVMaximumVoltageLimit: pvOf(450, "V") },
});
const cdr = (a: number, v: number, soc = 50) => ({
  DC_EVStatus: evStatus(soc),
  EVTargetCurrent: pvOf(a, "A"),
  EVMaximumVoltageLimit: pvOf(450, "V"),
  EVMaximumCurrentLimit: pvOf(100, "A"),
  BulkChargingComplete: 0,
  ChargingComplete: 0,
  EVTargetVoltage: pvOf(v, "V"),
});

test("DIN 70121 DC: the whole session, message by message", (t) => {
  const m = new V2gSessionMachine(cfg());
  const s = snapshot({ dc: dcSnapshot() });
  let r = step(t, m, msg("00", "SessionSetupReq", { EVCCID: "00E04C68001D" }), s);
  t.deepEqual(resOf(r.response), ["SessionSetupRes", { ResponseCode: "OK_NewSessionEstablished", EVSEID: "5A5A00001234" }]);
  t.is((r.response["V2G_Message"] as { Header: { SessionID: string } }).Header.SessionID, SID);
  r = step(t, m, msg(SID, "ServiceDiscoveryReq"), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "OK");
  t.deepEqual(resOf(r.response)[1]["PaymentOptions"], { PaymentOption: ["ExternalPayment"] });
  r = step(t, m, msg(SID, "ServicePaymentSelectionReq", { SelectedPaymentOption: "ExternalPayment", SelectedServiceList: { SelectedService: [{ ServiceID: 1 }] } }), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "OK");
  // Not identified yet: Ongoing, then Finished.
  r = step(t, m, msg(SID, "ContractAuthenticationReq"), { ...s, authorized: false });
  t.deepEqual(resOf(r.response), ["ContractAuthenticationRes", { ResponseCode: "OK", EVSEProcessing: "Ongoing" }]);
  r = step(t, m, msg(SID, "ContractAuthenticationReq"), s);
  t.deepEqual(resOf(r.response), ["ContractAuthenticationRes", { ResponseCode: "OK", EVSEProcessing: "Finished" }]);
  r = step(t, m, msg(SID, "ChargeParameterDiscoveryReq", cpd()), s);
  const [name, cp] = resOf(r.response);
  t.is(name, "ChargeParameterDiscoveryRes");
  // 32 A × 230 V × 3 = 22,080 W from the arbiter's limit.
  const pmax = (cp["SAScheduleList"] as { SAScheduleTuple: { PMaxSchedule: { PMaxScheduleEntry: { PMax: number }[] } }[] }).SAScheduleTuple[0]!.PMaxSchedule.PMaxScheduleEntry[0]!.PMax;
  t.is(pmax, 22_080);
  t.deepEqual(r.actions, [{ type: "ev-soc", soc: 20 }]);
  // CableCheck: the isolation test starts, Ongoing until the monitor says Valid.
  r = step(t, m, msg(SID, "CableCheckReq", { DC_EVStatus: evStatus(20) }), { ...s, now: 1_000 });
  t.deepEqual(r.actions, [{ type: "ev-soc", soc: 20 }, { type: "isolation-start", voltage: 450 }]);
  t.is(resOf(r.response)[1]["EVSEProcessing"], "Ongoing");
  r = step(t, m, msg(SID, "CableCheckReq", { DC_EVStatus: evStatus(20) }), { ...s, now: 2_000, dc: dcSnapshot({ isolationRunning: true }) });
  t.is(resOf(r.response)[1]["EVSEProcessing"], "Ongoing");
  t.is((resOf(r.response)[1]["DC_EVSEStatus"] as Record<string, unknown>)["EVSEStatusCode"], "EVSE_IsolationMonitoringActive");
  // PreCharge before the check finished is out of sequence: tested separately. Now Valid → Finished.
  r = step(t, m, msg(SID, "CableCheckReq", { DC_EVStatus: evStatus(20) }), { ...s, now: 3_000, dc: dcSnapshot({ isolation: "Valid" }) });
  t.is(resOf(r.response)[1]["EVSEProcessing"], "Finished");
  r = step(t, m, msg(SID, "PreChargeReq", { DC_EVStatus: evStatus(20), EVTargetVoltage: pvOf(380, "V"), EVTargetCurrent: pvOf(1, "A") }), { ...s, now: 3_100, dc: dcSnapshot({ isolation: "Valid", presentVoltage: 120 }) });
  t.deepEqual(r.actions[1], { type: "dc-output", enable: true, voltage: 380, current: 1 });
  t.deepEqual(resOf(r.response)[1]["EVSEPresentVoltage"], { Multiplier: -2, Unit: "V", Value: 12000 });
  r = step(t, m, msg(SID, "PowerDeliveryReq", { ReadyToChargeState: 1, DC_EVPowerDeliveryParameter: { DC_EVStatus: evStatus(20), BulkChargingComplete: 0, ChargingComplete: 0 } }), { ...s, dc: dcSnapshot({ isolation: "Valid", presentVoltage: 379 }) });
  t.is(resOf(r.response)[1]["ResponseCode"], "OK");
  t.true(r.actions.some((a) => a.type === "energy" && a.on));
  // CurrentDemand: setpoints, the EV's claim, SoC; 120 A asked, 22,080 W / 380 V = 58.1 A allowed.
  const dcNow = dcSnapshot({ isolation: "Valid", presentVoltage: 380, presentCurrent: 58 });
  r = step(t, m, msg(SID, "CurrentDemandReq", cdr(120, 380, 55)), { ...s, dc: dcNow });
  const out = r.actions.find((a) => a.type === "dc-output") as { voltage: number; current: number };
  t.is(out.voltage, 380);
  t.true(Math.abs(out.current - 22_080 / 380) < 1e-9);
  t.true(r.actions.some((a) => a.type === "ev-soc" && a.soc === 55));
  // The EV's claim is its maximum current (EVMaximumCurrentLimit 100 A, not the 120 A target) as AC-equivalent
  // amps per phase at 380 V: 100 A x 380 V / (3 x 230 V) = 55.1 A.
  const claim = r.actions.find((a) => a.type === "ev-limit") as { amps: number; reason: string };
  t.is(claim.reason, "EVMaximumCurrentLimit");
  t.is(claim.amps, Math.round((100 * 380 * 10) / 690) / 10);
  const cd = resOf(r.response)[1];
  t.is(cd["EVSECurrentLimitAchieved"], 1);
  t.deepEqual(cd["EVSEPresentCurrent"], { Multiplier: -2, Unit: "A", Value: 5800 });
  t.deepEqual(pvOf(1, "A"), { Multiplier: 0, Unit: "A", Value: 1 });
  t.is(r.end, null);
  r = step(t, m, msg(SID, "PowerDeliveryReq", { ReadyToChargeState: 0, DC_EVPowerDeliveryParameter: { DC_EVStatus: evStatus(80), BulkChargingComplete: 0, ChargingComplete: 1 } }), { ...s, dc: dcNow });
  t.true(r.actions.some((a) => a.type === "dc-output" && !a.enable));
  r = step(t, m, msg(SID, "WeldingDetectionReq", { DC_EVStatus: evStatus(80) }), { ...s, dc: dcSnapshot({ presentVoltage: 20 }) });
  t.is(resOf(r.response)[0], "WeldingDetectionRes");
  r = step(t, m, msg(SID, "SessionStopReq"), s);
  t.deepEqual(resOf(r.response), ["SessionStopRes", { ResponseCode: "OK" }]);
  t.is(r.end, "terminate");
  t.is(m.state, "ended");
});

function toCableCheck(m: V2gSessionMachine, s: EvseSnapshot): void {
  m.handle(msg("00", "SessionSetupReq", { EVCCID: "00E04C68001D" }), s);
  m.handle(msg(SID, "ServiceDiscoveryReq"), s);
  m.handle(msg(SID, "ServicePaymentSelectionReq", { SelectedPaymentOption: "ExternalPayment", SelectedServiceList: { SelectedService: [{ ServiceID: 1 }] } }), s);
  m.handle(msg(SID, "ContractAuthenticationReq"), s);
  m.handle(msg(SID, "ChargeParameterDiscoveryReq", cpd()), s);
  m.handle(msg(SID, "CableCheckReq", { DC_EVStatus: evStatus(20) }), s);
}

test("DIN: out of sequence → FAILED_SequenceError, wrong SessionID → FAILED_UnknownSession; both end with a safe stop", (t) => {
  const s = snapshot({ dc: dcSnapshot() });
  const a = new V2gSessionMachine(cfg());
  a.handle(msg("00", "SessionSetupReq", { EVCCID: "00E04C68001D" }), s);
  let r = step(t, a, msg(SID, "CurrentDemandReq", cdr(10, 400)), s);
  t.deepEqual(resOf(r.response)[0], "CurrentDemandRes");
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_SequenceError");
  t.is(r.end, "failed");
  t.is(r.actions[0]!.type, "safe-stop");
  const b = new V2gSessionMachine(cfg());
  b.handle(msg("00", "SessionSetupReq", { EVCCID: "00E04C68001D" }), s);
  r = step(t, b, msg("FFFFFFFFFFFFFFFF", "ServiceDiscoveryReq"), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_UnknownSession");
  t.is(r.end, "failed");
  // Any request after the end fails too.
  r = step(t, b, msg(SID, "ServiceDiscoveryReq"), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_SequenceError");
  // PreCharge while the isolation test is unfinished.
  const c = new V2gSessionMachine(cfg());
  toCableCheck(c, s);
  r = step(t, c, msg(SID, "PreChargeReq", { DC_EVStatus: evStatus(20), EVTargetVoltage: pvOf(380, "V"), EVTargetCurrent: pvOf(1, "A") }), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_SequenceError");
  // Payment other than EIM, wrong energy transfer type.
  const d = new V2gSessionMachine(cfg());
  d.handle(msg("00", "SessionSetupReq", { EVCCID: "00E04C68001D" }), s);
  d.handle(msg(SID, "ServiceDiscoveryReq"), s);
  r = step(t, d, msg(SID, "ServicePaymentSelectionReq", { SelectedPaymentOption: "Contract", SelectedServiceList: { SelectedService: [{ ServiceID: 1 }] } }), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_PaymentSelectionInvalid");
});

test("DIN: cable check past its time, an isolation fault, pre-charge past its time → FAILED + safe stop", (t) => {
  const s = snapshot({ dc: dcSnapshot() });
  const a = new V2gSessionMachine(cfg({ cableCheckMs: 10_000 }));
  toCableCheck(a, s);
  let r = step(t, a, msg(SID, "CableCheckReq", { DC_EVStatus: evStatus(20) }), { ...s, now: 9_000, dc: dcSnapshot({ isolationRunning: true }) });
  t.is(resOf(r.response)[1]["ResponseCode"], "OK");
  r = step(t, a, msg(SID, "CableCheckReq", { DC_EVStatus: evStatus(20) }), { ...s, now: 10_001, dc: dcSnapshot({ isolationRunning: true }) });
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED");
  t.is(r.end, "failed");
  t.true(r.actions.some((x) => x.type === "safe-stop"));
  const b = new V2gSessionMachine(cfg());
  toCableCheck(b, s);
  r = step(t, b, msg(SID, "CableCheckReq", { DC_EVStatus: evStatus(20) }), { ...s, dc: dcSnapshot({ isolation: "Fault" }) });
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED");
  t.is((resOf(r.response)[1]["DC_EVSEStatus"] as Record<string, unknown>)["EVSEIsolationStatus"], "Fault");
  const c = new V2gSessionMachine(cfg({ preChargeMs: 5_000 }));
  toCableCheck(c, s);
  c.handle(msg(SID, "CableCheckReq", { DC_EVStatus: evStatus(20) }), { ...s, dc: dcSnapshot({ isolation: "Valid" }) });
  const pre = msg(SID, "PreChargeReq", { DC_EVStatus: evStatus(20), EVTargetVoltage: pvOf(380, "V"), EVTargetCurrent: pvOf(1, "A") });
  t.is(resOf(c.handle(pre, { ...s, now: 100 }).response)[1]["ResponseCode"], "OK");
  t.is(resOf(c.handle(pre, { ...s, now: 5_000 }).response)[1]["ResponseCode"], "OK");
  r = step(t, c, pre, { ...s, now: 5_101 });
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED");
  t.is(r.end, "failed");
});

test("DIN: an undecodable message → FAILED in the response the machine expected, safe stop", (t) => {
  const s = snapshot({ dc: dcSnapshot() });
  const m = new V2gSessionMachine(cfg());
  toCableCheck(m, s);
  const r = m.malformed(s, "ExiError at bit 12");
  t.deepEqual(resOf(r.response)[0], "CableCheckRes");
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED");
  t.is(r.end, "failed");
  t.true(enc("din", r.response).length > 0);
});

test("DIN recorded requests: each request vector, at the point of the flow where it belongs, gets a response that encodes", (t) => {
  const vs = readVectors().filter((v) => v.protocol === "din" && v.message.endsWith("Req"));
  const s = snapshot({ dc: dcSnapshot({ isolation: "Valid", presentVoltage: 400, maxVoltage: 500 }) });
  const docs = vs.length > 0 ? vs.map((v) => dec("din", Uint8Array.from(Buffer.from(v.hex, "hex")))) : [msg("00", "SessionSetupReq", { EVCCID: "00E04C68001D" })];
  let ok = 0;
  const failed: string[] = [];
  for (const doc of docs) {
    const body = (doc["V2G_Message"] as { Body: Record<string, Record<string, unknown>> }).Body;
    const name = Object.keys(body)[0]!;
    const m = machineAt("din", "dc", name, variantOf(name, body[name]!), s);
    if (m === null) {
      failed.push(name + " (no place)");
      continue;
    }
    // Replay with our session's ID (the recordings carry the recorded charger's).
    if (name !== "SessionSetupReq") (doc["V2G_Message"] as { Header: { SessionID: string } }).Header.SessionID = m.data.sessionId;
    const r = m.handle(doc, s);
    t.true(enc("din", r.response).length > 0, name);
    t.is(resOf(r.response)[0], name.replace(/Req$/, "Res"));
    const code = String(resOf(r.response)[1]["ResponseCode"]);
    if (code.startsWith("OK")) ok++;
    else failed.push(`${name}: ${code}`);
  }
  t.log(`${ok} of ${docs.length} recorded DIN requests answered OK; others: ${[...new Set(failed)].join(", ")}`);
  t.true(ok >= docs.length * 0.9, `${ok} of ${docs.length} answered OK: ${failed.join(", ")}`);
});
