import test from "ava";
import { V2gSessionMachine } from "../../firmware/iso15118/iso2/machine.js";
import type { EvseSnapshot, StepResult } from "../../firmware/iso15118/apphandshake/types.js";
import { SID, canned, dcSnapshot, dec, enc, machineAt, machineConfig, msg, pvOf, readVectors, resOf, snapshot, variantOf } from "./v2g-helpers.js";

function step(t: import("ava").ExecutionContext, m: V2gSessionMachine, req: Record<string, unknown>, s: EvseSnapshot): StepResult {
  const r = m.handle(req, s);
  t.deepEqual(dec("iso2", enc("iso2", r.response)), r.response);
  return r;
}

test("ISO 15118-2 AC (EIM): the whole session; the schedule comes from the arbiter's limit, the EV's EVMaxCurrent becomes its claim", (t) => {
  const m = new V2gSessionMachine(machineConfig("iso2", "ac"));
  const s = snapshot({ limitAmps: 16 });
  const codes: string[] = [];
  let cpd: Record<string, unknown> = {};
  let claims: unknown[] = [];
  for (const [i, [name, , body]] of canned("iso2", "ac").entries()) {
    const r = step(t, m, msg(i === 0 ? "0000000000000000" : SID, name, body), s);
    codes.push(`${resOf(r.response)[0]}:${String(resOf(r.response)[1]["ResponseCode"])}`);
    if (name === "ChargeParameterDiscoveryReq") {
      cpd = resOf(r.response)[1];
      claims = r.actions;
    }
    if (name === "ChargingStatusReq") {
      t.deepEqual(resOf(r.response)[1]["EVSEMaxCurrent"], { Multiplier: -3, Unit: "A", Value: 16000 });
      t.is(resOf(r.response)[1]["EVSEID"], "DE*ABC*E1234");
    }
    if (name === "SessionStopReq") t.is(r.end, "terminate");
  }
  t.deepEqual(codes, [
    "SessionSetupRes:OK_NewSessionEstablished",
    "ServiceDiscoveryRes:OK",
    "PaymentServiceSelectionRes:OK",
    "AuthorizationRes:OK",
    "ChargeParameterDiscoveryRes:OK",
    "PowerDeliveryRes:OK",
    "ChargingStatusRes:OK",
    "PowerDeliveryRes:OK",
    "SessionStopRes:OK",
  ]);
  // 16 A × 230 V × 3 = 11,040 W.
  const tuple = (cpd["SAScheduleList"] as { SAScheduleTuple: { PMaxSchedule: { PMaxScheduleEntry: { PMax: unknown }[] } }[] }).SAScheduleTuple[0]!;
  t.deepEqual(tuple.PMaxSchedule.PMaxScheduleEntry[0]!.PMax, { Multiplier: 0, Unit: "W", Value: 11040 });
  t.deepEqual(claims, [{ type: "ev-limit", amps: 16, reason: "EVMaxCurrent" }]);
});

test("ISO-2 AC: the charger's limit moves → ReNegotiation; the EV renegotiates (PowerDelivery Renegotiate → ChargeParameterDiscovery → Start)", (t) => {
  const m = new V2gSessionMachine(machineConfig("iso2", "ac", { renegotiateDeltaA: 2 }));
  const seq = canned("iso2", "ac");
  let s = snapshot({ limitAmps: 16 });
  for (let i = 0; i < 7; i++) step(t, m, msg(i === 0 ? "00" : SID, seq[i]![0], seq[i]![2]), s);
  s = snapshot({ limitAmps: 10 });
  let r = step(t, m, msg(SID, "ChargingStatusReq"), s);
  t.is((resOf(r.response)[1]["AC_EVSEStatus"] as Record<string, unknown>)["EVSENotification"], "ReNegotiation");
  r = step(t, m, msg(SID, "PowerDeliveryReq", { ChargeProgress: "Renegotiate", SAScheduleTupleID: 1 }), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "OK");
  r = step(t, m, msg(SID, "ChargeParameterDiscoveryReq", seq[4]![2]), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "OK");
  r = step(t, m, msg(SID, "PowerDeliveryReq", { ChargeProgress: "Start", SAScheduleTupleID: 1 }), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "OK");
  r = step(t, m, msg(SID, "ChargingStatusReq"), s);
  t.is((resOf(r.response)[1]["AC_EVSEStatus"] as Record<string, unknown>)["EVSENotification"], "None");
  // The charger wants to stop: StopCharging.
  r = step(t, m, msg(SID, "ChargingStatusReq"), { ...s, stopRequested: true });
  t.is((resOf(r.response)[1]["AC_EVSEStatus"] as Record<string, unknown>)["EVSENotification"], "StopCharging");
});

test("ISO-2 pause and resume: SessionStop Pause keeps the SessionID; the next SessionSetupReq with it is OK_OldSessionJoined", (t) => {
  const s = snapshot();
  const m = new V2gSessionMachine(machineConfig("iso2", "ac"));
  const seq = canned("iso2", "ac");
  for (let i = 0; i < 8; i++) step(t, m, msg(i === 0 ? "00" : SID, seq[i]![0], seq[i]![2]), s);
  const r = step(t, m, msg(SID, "SessionStopReq", { ChargingSession: "Pause" }), s);
  t.is(r.end, "pause");
  t.is(m.pausedSessionId, SID);
  const resumed = new V2gSessionMachine(machineConfig("iso2", "ac", { pausedSessionId: m.pausedSessionId, newSessionId: () => "AAAAAAAAAAAAAAAA" }));
  const r2 = step(t, resumed, msg(SID, "SessionSetupReq", { EVCCID: "00E04C68001D" }), s);
  t.deepEqual(resOf(r2.response)[1]["ResponseCode"], "OK_OldSessionJoined");
  t.is(resumed.data.sessionId, SID);
  // Another ID than the paused one: a new session.
  const other = new V2gSessionMachine(machineConfig("iso2", "ac", { pausedSessionId: SID, newSessionId: () => "AAAAAAAAAAAAAAAA" }));
  const r3 = step(t, other, msg("0badc0de0badc0de".toUpperCase(), "SessionSetupReq", { EVCCID: "00E04C68001D" }), s);
  t.is(resOf(r3.response)[1]["ResponseCode"], "OK_NewSessionEstablished");
  t.is(other.data.sessionId, "AAAAAAAAAAAAAAAA");
});

test("ISO-2 DC: cable check, pre-charge, current demand (EVSEID, SAScheduleTupleID), welding detection", (t) => {
  const m = new V2gSessionMachine(machineConfig("iso2", "dc"));
  const s = snapshot({ dc: dcSnapshot({ isolation: "Valid", presentVoltage: 400, presentCurrent: 50 }) });
  const names: string[] = [];
  for (const [i, [name, , body]] of canned("iso2", "dc").entries()) {
    const r = step(t, m, msg(i === 0 ? "00" : SID, name, body), s);
    names.push(`${resOf(r.response)[0]}:${String(resOf(r.response)[1]["ResponseCode"])}`);
    if (name === "CurrentDemandReq") {
      t.is(resOf(r.response)[1]["EVSEID"], "DE*ABC*E1234");
      t.is(resOf(r.response)[1]["SAScheduleTupleID"], 1);
      t.deepEqual(r.actions.find((a) => a.type === "dc-output"), { type: "dc-output", enable: true, voltage: 400, current: 50 });
    }
  }
  t.true(names.every((n) => n.endsWith(":OK") || n.endsWith(":OK_NewSessionEstablished")), names.join(" "));
  t.is(names.length, 13);
});

test("ISO-2: wrong schedule tuple, wrong energy mode, a charging profile above PMax, PowerDelivery while not authorized", (t) => {
  const s = snapshot({ limitAmps: 16 });
  let m = machineAt("iso2", "ac", "PowerDeliveryReq", "Start", s)!;
  let r = step(t, m, msg(SID, "PowerDeliveryReq", { ChargeProgress: "Start", SAScheduleTupleID: 7 }), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_TariffSelectionInvalid");
  m = machineAt("iso2", "ac", "PowerDeliveryReq", "Start", s)!;
  r = step(t, m, msg(SID, "PowerDeliveryReq", { ChargeProgress: "Start", SAScheduleTupleID: 1, ChargingProfile: { ProfileEntry: [{ ChargingProfileEntryStart: 0, ChargingProfileEntryMaxPower: pvOf(22, "W", 3) }] } }), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_ChargingProfileInvalid");
  m = machineAt("iso2", "ac", "PowerDeliveryReq", "Start", s)!;
  r = step(t, m, msg(SID, "PowerDeliveryReq", { ChargeProgress: "Start", SAScheduleTupleID: 1 }), { ...s, authorized: false });
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_PowerDeliveryNotApplied");
  t.is(r.end, "failed");
  m = machineAt("iso2", "ac", "ChargeParameterDiscoveryReq", "", s)!;
  r = step(t, m, msg(SID, "ChargeParameterDiscoveryReq", { RequestedEnergyTransferMode: "DC_core", DC_EVChargeParameter: { DC_EVStatus: { EVReady: 1, EVErrorCode: "NO_ERROR", EVRESSSOC: 1 }, EVMaximumCurrentLimit: pvOf(1, "A"), EVMaximumVoltageLimit: pvOf(400, "V") } }), s);
  t.is(resOf(r.response)[1]["ResponseCode"], "FAILED_WrongEnergyTransferMode");
  // A malformed message in the charge loop: ChargingStatusRes FAILED.
  m = machineAt("iso2", "ac", "ChargingStatusReq", "", s)!;
  r = m.malformed(s, "ExiError");
  t.deepEqual([resOf(r.response)[0], resOf(r.response)[1]["ResponseCode"], r.end], ["ChargingStatusRes", "FAILED", "failed"]);
  t.true(enc("iso2", r.response).length > 0);
});

test("ISO-2 recorded requests: each request vector, where the flow has a place for it, gets a response that encodes", (t) => {
  const vs = readVectors().filter((v) => v.protocol === "iso2" && v.message.endsWith("Req"));
  const docs = vs.length > 0 ? vs.map((v) => dec("iso2", Uint8Array.from(Buffer.from(v.hex, "hex")))) : [msg("00", "SessionSetupReq", { EVCCID: "00E04C68001D" })];
  let ok = 0;
  const other: string[] = [];
  for (const doc of docs) {
    const body = (doc["V2G_Message"] as { Body: Record<string, Record<string, unknown>> }).Body;
    const name = Object.keys(body)[0]!;
    const b = body[name]!;
    const dcish = name === "CableCheckReq" || name === "PreChargeReq" || name === "CurrentDemandReq" || name === "WeldingDetectionReq" || "DC_EVChargeParameter" in b || "DC_EVPowerDeliveryParameter" in b;
    const kind = dcish ? "dc" : "ac";
    const s = snapshot({ limitAmps: 32, dc: kind === "dc" ? dcSnapshot({ isolation: "Valid", presentVoltage: 400, maxVoltage: 1000, maxPower: 150_000, maxCurrent: 300 }) : null });
    const m = machineAt("iso2", kind, name === "ServiceDetailReq" ? "PaymentServiceSelectionReq" : name, variantOf(name, b), s);
    if (m === null) {
      other.push(`${name}: no place`);
      continue;
    }
    if (name !== "SessionSetupReq") (doc["V2G_Message"] as { Header: { SessionID: string } }).Header.SessionID = m.data.sessionId;
    const r = m.handle(doc, s);
    t.true(enc("iso2", r.response).length > 0, name);
    t.is(resOf(r.response)[0], name.replace(/Req$/, "Res"));
    const code = String(resOf(r.response)[1]["ResponseCode"]);
    if (code.startsWith("OK")) ok++;
    else other.push(`${name}: ${code}`);
  }
  t.log(`${ok} of ${docs.length} recorded ISO-2 requests answered OK; others: ${[...new Set(other)].join(", ")}`);
  t.true(ok >= docs.length * 0.9, other.join(", "));
});

test("ISO-2 AC: the SAScheduleList follows the limit ahead (OCPP composite schedule); renegotiation compares with the schedule in force; a ChargingProfile over a later PMax is refused", (t) => {
  const m = new V2gSessionMachine(machineConfig("iso2", "ac", { renegotiateDeltaA: 2 }));
  const seq = canned("iso2", "ac");
  // 16 A now, 8 A from 1 h, 16 A again from 3 h; the same 16 A at 5 h merges with its neighbour.
  const periods = [
    { start: 0, amps: 16, phases: 3 as const },
    { start: 3600, amps: 8, phases: 3 as const },
    { start: 10_800, amps: 16, phases: 3 as const },
    { start: 18_000, amps: 16, phases: 3 as const },
  ];
  let asked = 0;
  const schedule = {
    periods(max: number) {
      asked++;
      t.true(max >= 24);
      return periods;
    },
  };
  let s = snapshot({ limitAmps: 16, schedule, now: 1_000 });
  let cpd: Record<string, unknown> = {};
  for (let i = 0; i < 5; i++) {
    const r = step(t, m, msg(i === 0 ? "00" : SID, seq[i]![0], seq[i]![2]), s);
    if (seq[i]![0] === "ChargeParameterDiscoveryReq") cpd = resOf(r.response)[1];
  }
  t.is(asked, 1, "asked once, for ChargeParameterDiscovery");
  const entries = (cpd["SAScheduleList"] as { SAScheduleTuple: { PMaxSchedule: { PMaxScheduleEntry: Record<string, unknown>[] } }[] }).SAScheduleTuple[0]!.PMaxSchedule.PMaxScheduleEntry;
  t.deepEqual(
    entries.map((e) => [e["RelativeTimeInterval"], e["PMax"]]),
    [
      [{ start: 0 }, { Multiplier: 0, Unit: "W", Value: 11040 }],
      [{ start: 3600 }, { Multiplier: 0, Unit: "W", Value: 5520 }],
      [{ start: 10_800, duration: 75_600 }, { Multiplier: 0, Unit: "W", Value: 11040 }],
    ],
  );
  // The EV's profile: 11 kW for the first hour is fine, 11 kW at 1.5 h is over the 5.52 kW in force then.
  const over = { ChargeProgress: "Start", SAScheduleTupleID: 1, ChargingProfile: { ProfileEntry: [{ ChargingProfileEntryStart: 0, ChargingProfileEntryMaxPower: pvOf(11040, "W") }, { ChargingProfileEntryStart: 5400, ChargingProfileEntryMaxPower: pvOf(11000, "W") }] } };
  const m2 = new V2gSessionMachine(machineConfig("iso2", "ac"));
  for (let i = 0; i < 5; i++) step(t, m2, msg(i === 0 ? "00" : SID, seq[i]![0], seq[i]![2]), s);
  t.is(resOf(step(t, m2, msg(SID, "PowerDeliveryReq", over), s).response)[1]["ResponseCode"], "FAILED_ChargingProfileInvalid");
  const within = { ChargeProgress: "Start", SAScheduleTupleID: 1, ChargingProfile: { ProfileEntry: [{ ChargingProfileEntryStart: 0, ChargingProfileEntryMaxPower: pvOf(11040, "W") }, { ChargingProfileEntryStart: 3600, ChargingProfileEntryMaxPower: pvOf(5500, "W") }] } };
  t.is(resOf(step(t, m, msg(SID, "PowerDeliveryReq", within), s).response)[1]["ResponseCode"], "OK");
  // At 1 h 10 min the live limit is 8 A: that is the schedule in force, no renegotiation.
  s = snapshot({ limitAmps: 8, schedule, now: 1_000 + 4_200_000 });
  let r = step(t, m, msg(SID, "ChargingStatusReq"), s);
  t.is((resOf(r.response)[1]["AC_EVSEStatus"] as Record<string, unknown>)["EVSENotification"], "None");
  // A site limit of 4 A then: 4 A off the schedule's 8 A -> ReNegotiation.
  s = snapshot({ limitAmps: 4, schedule, now: 1_000 + 4_300_000 });
  r = step(t, m, msg(SID, "ChargingStatusReq"), s);
  t.is((resOf(r.response)[1]["AC_EVSEStatus"] as Record<string, unknown>)["EVSENotification"], "ReNegotiation");
});

test("DIN: the PMax entries of the schedule are bare shorts (W, at most 32767); a source that knows nothing gives one 24 h entry", (t) => {
  const m = new V2gSessionMachine(machineConfig("din", "dc"));
  const seq = canned("din", "dc");
  const s = snapshot({ limitAmps: 16, dc: dcSnapshot(), schedule: { periods: () => null } });
  let cpd: Record<string, unknown> = {};
  for (let i = 0; i < 5; i++) {
    const r = m.handle(msg(i === 0 ? "00" : SID, seq[i]![0], seq[i]![2]), s);
    t.deepEqual(dec("din", enc("din", r.response)), r.response);
    if (seq[i]![0] === "ChargeParameterDiscoveryReq") cpd = resOf(r.response)[1];
  }
  const entries = (cpd["SAScheduleList"] as { SAScheduleTuple: { PMaxSchedule: { PMaxScheduleEntry: Record<string, unknown>[] } }[] }).SAScheduleTuple[0]!.PMaxSchedule.PMaxScheduleEntry;
  t.is(entries.length, 1);
  t.deepEqual(entries[0]!["RelativeTimeInterval"], { start: 0, duration: 86_400 });
  t.is(typeof entries[0]!["PMax"], "number");
  t.true((entries[0]!["PMax"] as number) <= 32767);
});
