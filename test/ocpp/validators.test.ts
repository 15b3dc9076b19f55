import test from "ava";
import { readFileSync } from "node:fs";
import AjvModule from "ajv";
import type { ValidateFunction } from "ajv";
import * as v16 from "../../firmware/ocpp/schemas/ocpp16.gen.js";
import * as v201 from "../../firmware/ocpp/schemas/ocpp201.gen.js";
import {
  registerOcppValidators,
  validate,
  validateWith,
  type OcppMessageKind,
  type OcppValidatorTable,
  type OcppVersion,
} from "../../firmware/ocpp/validate.js";
import { AJV_OPTIONS, OUTPUTS, generateModule, loadSchemas, type Version } from "../../tools/gen-ocpp-validators.js";

const Ajv = AjvModule.default;
const ROOT = new URL("../../../", import.meta.url);
const TABLES: Record<OcppVersion, OcppValidatorTable> = { "1.6": v16, "2.0.1": v201 };
registerOcppValidators(v16);
registerOcppValidators(v201);

type J = null | boolean | number | string | J[] | { [k: string]: J };
type O = { [k: string]: J };
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const short = (x: unknown): string => {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 400 ? `${s.slice(0, 400)}...` : s;
};

// ---------------------------------------------------------------------------------------------
// Reference: ajv's runtime compiler on the normalised per-file schemas, same options and formats.
const runtime = new Map<string, ValidateFunction>();
for (const version of ["1.6", "2.0.1"] as const) {
  const ajv = new Ajv({ ...AJV_OPTIONS });
  ajv.addFormat("date-time", TABLES[version] === v16 ? v16.isDateTime : v201.isDateTime);
  ajv.addFormat("uri", v16.isUri);
  for (const a of loadSchemas(version)) {
    runtime.set(`${version} ${a.action} req`, ajv.compile(a.req));
    runtime.set(`${version} ${a.action} conf`, ajv.compile(a.conf));
  }
}
function ref(version: Version, action: string, kind: OcppMessageKind): ValidateFunction {
  const f = runtime.get(`${version} ${action} ${kind}`);
  if (!f) throw new Error(`no runtime validator ${version} ${action} ${kind}`);
  return f;
}

// ---------------------------------------------------------------------------------------------
// Synthesised valid payloads for every schema: minimal (required only) and maximal (every property).
function synth(schema: O, root: O, full: boolean, depth = 0): J {
  if (depth > 20) throw new Error("schema too deep");
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace("#/definitions/", "");
    return synth((root.definitions as O)[name] as O, root, full, depth + 1);
  }
  if (Array.isArray(schema.enum)) return schema.enum[full ? schema.enum.length - 1 : 0]!;
  switch (schema.type) {
    case "object": {
      const o: O = {};
      const props = (schema.properties ?? {}) as O;
      const req = new Set((schema.required ?? []) as string[]);
      for (const k of Object.keys(props)) if (full || req.has(k)) o[k] = synth(props[k] as O, root, full, depth + 1);
      return o;
    }
    case "array": {
      const min = typeof schema.minItems === "number" ? schema.minItems : 0;
      const max = typeof schema.maxItems === "number" ? schema.maxItems : 3;
      const n = Math.min(max, Math.max(min, full ? 2 : 1));
      const out: J[] = [];
      for (let i = 0; i < n; i++) out.push(synth(schema.items as O, root, full, depth + 1));
      return out;
    }
    case "string": {
      if (schema.format === "date-time") return full ? "2024-02-29T23:59:60.123+00:00" : "2024-05-01T12:34:56Z";
      if (schema.format === "uri") return "ftp://user:pw@diag.example.com:2121/upload/cp-1?x=%20y";
      const max = typeof schema.maxLength === "number" ? schema.maxLength : 64;
      // Full: exactly maxLength characters, ending in an astral character (2 UTF-16 units, 1 character).
      if (full && max >= 2) return "é".repeat(max - 1) + "\u{1F50C}";
      return "ab".slice(0, Math.min(2, max));
    }
    case "integer":
      return typeof schema.minimum === "number" ? (schema.minimum as number) : 7;
    case "number":
      if (typeof schema.minimum === "number") return schema.minimum as number;
      return schema.multipleOf === 0.1 ? 6.3 : 12.75;
    case "boolean":
      return full;
    case undefined:
      if (Object.keys(schema).length === 0) return full ? { any: ["json", 1] } : "any"; // unconstrained
      throw new Error(`cannot synthesise ${JSON.stringify(schema).slice(0, 80)}`);
    default:
      throw new Error(`cannot synthesise ${JSON.stringify(schema).slice(0, 80)}`);
  }
}

interface Sample {
  version: Version;
  action: string;
  kind: OcppMessageKind;
  payload: J;
}
const synthesised: Sample[] = [];
for (const version of ["1.6", "2.0.1"] as const) {
  for (const a of loadSchemas(version)) {
    for (const kind of ["req", "conf"] as const) {
      for (const full of [false, true]) {
        synthesised.push({ version, action: a.action, kind, payload: synth(a[kind], a[kind], full) });
      }
    }
  }
}

test("every schema of both versions has a generated validator (1.6: 28 actions, 2.0.1: 64 actions)", (t) => {
  t.is(Object.keys(v16.req).length, 28);
  t.is(Object.keys(v16.conf).length, 28);
  t.is(Object.keys(v201.req).length, 64);
  t.is(Object.keys(v201.conf).length, 64);
  t.is(v16.version, "1.6");
  t.is(v201.version, "2.0.1");
});

test("synthesised valid payloads (minimal and maximal) of all 184 schemas pass, and ajv runtime agrees", (t) => {
  t.is(synthesised.length, (28 + 64) * 2 * 2);
  for (const s of synthesised) {
    const r = validate(s.version, s.action, s.kind, s.payload);
    t.is(r, null, `${s.version} ${s.action}.${s.kind}: ${JSON.stringify(r)} for ${short(s.payload)}`);
    t.true(ref(s.version, s.action, s.kind)(s.payload), `${s.version} ${s.action}.${s.kind} runtime`);
  }
});

// ---------------------------------------------------------------------------------------------
// Hand-made realistic payloads.
const TS = "2024-06-01T08:15:30.250Z";
const meterValue = (ts: string): O => ({
  timestamp: ts,
  sampledValue: [
    { value: "12345.6", context: "Sample.Periodic", measurand: "Energy.Active.Import.Register", unit: "Wh", location: "Outlet" },
    { value: "16.02", measurand: "Current.Import", phase: "L1", unit: "A" },
    { value: "231.4", measurand: "Voltage", phase: "L1-N", unit: "V", format: "Raw" },
  ],
});
const V16: Record<string, { kind: OcppMessageKind; payload: O }> = {
  BootNotification: {
    kind: "req",
    payload: { chargePointVendor: "VendorX", chargePointModel: "Wallbox-22", firmwareVersion: "0.1.0", meterType: "EM340" },
  },
  StartTransaction: { kind: "req", payload: { connectorId: 1, idTag: "04A1B2C3D4E5F6", meterStart: 12000, timestamp: TS } },
  StopTransaction: {
    kind: "req",
    payload: {
      transactionId: 42,
      idTag: "04A1B2C3D4E5F6",
      meterStop: 23456,
      timestamp: "2024-06-01T10:15:30+02:00",
      reason: "EVDisconnected",
      transactionData: [meterValue(TS), meterValue("2024-06-01T08:30:30Z")],
    },
  },
  MeterValues: { kind: "req", payload: { connectorId: 1, transactionId: 42, meterValue: [meterValue(TS)] } },
  SetChargingProfile: {
    kind: "req",
    payload: {
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 7,
        transactionId: 42,
        stackLevel: 1,
        chargingProfilePurpose: "TxProfile",
        chargingProfileKind: "Absolute",
        validFrom: TS,
        chargingSchedule: {
          duration: 3600,
          startSchedule: TS,
          chargingRateUnit: "A",
          chargingSchedulePeriod: [
            { startPeriod: 0, limit: 16, numberPhases: 3 },
            { startPeriod: 900, limit: 6.3 },
            { startPeriod: 1800, limit: 10.1, numberPhases: 1 },
          ],
          minChargingRate: 6.1,
        },
      },
    },
  },
  ChangeConfiguration: { kind: "req", payload: { key: "MeterValueSampleInterval", value: "60" } },
  GetConfiguration: {
    kind: "conf",
    payload: {
      configurationKey: [
        { key: "HeartbeatInterval", readonly: false, value: "300" },
        { key: "NumberOfConnectors", readonly: true, value: "1" },
        { key: "AuthorizationKey", readonly: false },
      ],
      unknownKey: ["FooBar"],
    },
  },
  SendLocalList: {
    kind: "req",
    payload: {
      listVersion: 3,
      updateType: "Differential",
      localAuthorizationList: [
        { idTag: "TAG-1", idTagInfo: { status: "Accepted", expiryDate: "2025-01-01T00:00:00Z", parentIdTag: "GROUP-1" } },
        { idTag: "TAG-2" },
      ],
    },
  },
};

test("hand-made valid OCPP 1.6 payloads pass (generated and runtime)", (t) => {
  for (const [action, { kind, payload }] of Object.entries(V16)) {
    t.is(validate("1.6", action, kind, payload), null, action);
    t.true(ref("1.6", action, kind)(payload), `${action} runtime`);
  }
});

// Mutations: [description, action, mutate, expected code, expected path]
type Case = [string, string, (p: O) => void, string, string];
const cases16: Case[] = [
  ["BootNotification missing chargePointModel", "BootNotification", (p) => delete p.chargePointModel, "OccurenceConstraintViolation", "/chargePointModel"],
  ["BootNotification vendor wrong type", "BootNotification", (p) => (p.chargePointVendor = 12), "TypeConstraintViolation", "/chargePointVendor"],
  ["BootNotification vendor 21 chars", "BootNotification", (p) => (p.chargePointVendor = "V".repeat(21)), "PropertyConstraintViolation", "/chargePointVendor"],
  ["BootNotification extra property", "BootNotification", (p) => (p.colour = "red"), "FormationViolation", "/colour"],
  ["StartTransaction missing idTag", "StartTransaction", (p) => delete p.idTag, "OccurenceConstraintViolation", "/idTag"],
  ["StartTransaction connectorId string", "StartTransaction", (p) => (p.connectorId = "1"), "TypeConstraintViolation", "/connectorId"],
  ["StartTransaction connectorId 1.5", "StartTransaction", (p) => (p.connectorId = 1.5), "TypeConstraintViolation", "/connectorId"],
  ["StartTransaction idTag 21 chars", "StartTransaction", (p) => (p.idTag = "0123456789ABCDEF01234"), "PropertyConstraintViolation", "/idTag"],
  ["StartTransaction bad timestamp", "StartTransaction", (p) => (p.timestamp = "2024-06-01 08:15:30Z"), "PropertyConstraintViolation", "/timestamp"],
  ["StartTransaction Feb 30", "StartTransaction", (p) => (p.timestamp = "2023-02-29T08:15:30Z"), "PropertyConstraintViolation", "/timestamp"],
  ["StopTransaction missing transactionData timestamp", "StopTransaction", (p) => delete ((p.transactionData as O[])[1] as O).timestamp, "OccurenceConstraintViolation", "/transactionData/1/timestamp"],
  ["StopTransaction sampled value missing value", "StopTransaction", (p) => delete (((p.transactionData as O[])[0]!.sampledValue as O[])[2] as O).value, "OccurenceConstraintViolation", "/transactionData/0/sampledValue/2/value"],
  ["StopTransaction bad measurand", "StopTransaction", (p) => ((((p.transactionData as O[])[0]!.sampledValue as O[])[1] as O).measurand = "Current.Importt"), "PropertyConstraintViolation", "/transactionData/0/sampledValue/1/measurand"],
  ["StopTransaction bad reason", "StopTransaction", (p) => (p.reason = "Bored"), "PropertyConstraintViolation", "/reason"],
  ["StopTransaction transactionData object", "StopTransaction", (p) => (p.transactionData = {}), "TypeConstraintViolation", "/transactionData"],
  ["StopTransaction transactionData timestamp no offset", "StopTransaction", (p) => ((p.transactionData as O[])[0]!.timestamp = "2024-06-01T08:15:30"), "PropertyConstraintViolation", "/transactionData/0/timestamp"],
  ["MeterValues missing connectorId", "MeterValues", (p) => delete p.connectorId, "OccurenceConstraintViolation", "/connectorId"],
  ["MeterValues sampledValue value number", "MeterValues", (p) => (((p.meterValue as O[])[0]!.sampledValue as O[])[0]!.value = 12345.6), "TypeConstraintViolation", "/meterValue/0/sampledValue/0/value"],
  ["MeterValues bad unit", "MeterValues", (p) => (((p.meterValue as O[])[0]!.sampledValue as O[])[0]!.unit = "Celsius"), "PropertyConstraintViolation", "/meterValue/0/sampledValue/0/unit"],
  ["MeterValues extra property", "MeterValues", (p) => (p.evseId = 1), "FormationViolation", "/evseId"],
  ["SetChargingProfile missing period limit", "SetChargingProfile", (p) => delete ((((p.csChargingProfiles as O).chargingSchedule as O).chargingSchedulePeriod as O[])[1] as O).limit, "OccurenceConstraintViolation", "/csChargingProfiles/chargingSchedule/chargingSchedulePeriod/1/limit"],
  ["SetChargingProfile limit 6.35", "SetChargingProfile", (p) => ((((p.csChargingProfiles as O).chargingSchedule as O).chargingSchedulePeriod as O[])[1]!.limit = 6.35), "PropertyConstraintViolation", "/csChargingProfiles/chargingSchedule/chargingSchedulePeriod/1/limit"],
  ["SetChargingProfile limit string", "SetChargingProfile", (p) => ((((p.csChargingProfiles as O).chargingSchedule as O).chargingSchedulePeriod as O[])[0]!.limit = "16"), "TypeConstraintViolation", "/csChargingProfiles/chargingSchedule/chargingSchedulePeriod/0/limit"],
  ["SetChargingProfile bad rate unit", "SetChargingProfile", (p) => (((p.csChargingProfiles as O).chargingSchedule as O).chargingRateUnit = "kW"), "PropertyConstraintViolation", "/csChargingProfiles/chargingSchedule/chargingRateUnit"],
  ["SetChargingProfile bad validFrom", "SetChargingProfile", (p) => ((p.csChargingProfiles as O).validFrom = "2024-13-01T00:00:00Z"), "PropertyConstraintViolation", "/csChargingProfiles/validFrom"],
  ["SetChargingProfile missing schedule", "SetChargingProfile", (p) => delete (p.csChargingProfiles as O).chargingSchedule, "OccurenceConstraintViolation", "/csChargingProfiles/chargingSchedule"],
  ["ChangeConfiguration missing value", "ChangeConfiguration", (p) => delete p.value, "OccurenceConstraintViolation", "/value"],
  ["ChangeConfiguration key 51 chars", "ChangeConfiguration", (p) => (p.key = "K".repeat(51)), "PropertyConstraintViolation", "/key"],
  ["ChangeConfiguration value 501 chars", "ChangeConfiguration", (p) => (p.value = "v".repeat(501)), "PropertyConstraintViolation", "/value"],
  ["ChangeConfiguration value boolean", "ChangeConfiguration", (p) => (p.value = true), "TypeConstraintViolation", "/value"],
  ["ChangeConfiguration extra property", "ChangeConfiguration", (p) => (p.persist = true), "FormationViolation", "/persist"],
  ["GetConfiguration.conf missing readonly", "GetConfiguration", (p) => delete (p.configurationKey as O[])[2]!.readonly, "OccurenceConstraintViolation", "/configurationKey/2/readonly"],
  ["GetConfiguration.conf readonly string", "GetConfiguration", (p) => ((p.configurationKey as O[])[0]!.readonly = "false"), "TypeConstraintViolation", "/configurationKey/0/readonly"],
  ["GetConfiguration.conf unknownKey 51 chars", "GetConfiguration", (p) => ((p.unknownKey as J[])[0] = "k".repeat(51)), "PropertyConstraintViolation", "/unknownKey/0"],
  ["GetConfiguration.conf extra property", "GetConfiguration", (p) => (p.status = "Accepted"), "FormationViolation", "/status"],
  ["SendLocalList missing updateType", "SendLocalList", (p) => delete p.updateType, "OccurenceConstraintViolation", "/updateType"],
  ["SendLocalList bad updateType", "SendLocalList", (p) => (p.updateType = "Partial"), "PropertyConstraintViolation", "/updateType"],
  ["SendLocalList idTagInfo missing status", "SendLocalList", (p) => delete ((p.localAuthorizationList as O[])[0]!.idTagInfo as O).status, "OccurenceConstraintViolation", "/localAuthorizationList/0/idTagInfo/status"],
  // The errata fix: these two were silently unchecked by the published schema.
  ["SendLocalList parentIdTag 21 chars", "SendLocalList", (p) => (((p.localAuthorizationList as O[])[0]!.idTagInfo as O).parentIdTag = "P".repeat(21)), "PropertyConstraintViolation", "/localAuthorizationList/0/idTagInfo/parentIdTag"],
  ["SendLocalList bad expiryDate", "SendLocalList", (p) => (((p.localAuthorizationList as O[])[0]!.idTagInfo as O).expiryDate = "tomorrow"), "PropertyConstraintViolation", "/localAuthorizationList/0/idTagInfo/expiryDate"],
  ["SendLocalList listVersion string", "SendLocalList", (p) => (p.listVersion = "3"), "TypeConstraintViolation", "/listVersion"],
  ["SendLocalList extra property", "SendLocalList", (p) => (p.hash = "x"), "FormationViolation", "/hash"],
];

test("OCPP 1.6 representative violations map to the OCPP-J 1.6 CALLERROR codes", (t) => {
  for (const [name, action, mutate, code, path] of cases16) {
    const { kind, payload } = V16[action]!;
    const p = clone(payload);
    mutate(p);
    const r = validate("1.6", action, kind, p);
    t.truthy(r, name);
    t.is(r?.code, code, `${name}: ${JSON.stringify(r)}`);
    t.is(r?.path, path, name);
    t.false(ref("1.6", action, kind)(p), `${name}: runtime must reject too`);
  }
});

const V201: Record<string, { kind: OcppMessageKind; payload: O }> = {
  BootNotification: {
    kind: "req",
    payload: {
      reason: "PowerUp",
      chargingStation: { model: "Wallbox-22", vendorName: "VendorX", firmwareVersion: "0.1.0", modem: { iccid: "8931", imsi: "2620" } },
      customData: { vendorId: "com.example", anything: [1, 2, 3] },
    },
  },
  TransactionEvent: {
    kind: "req",
    payload: {
      eventType: "Updated",
      timestamp: TS,
      triggerReason: "MeterValuePeriodic",
      seqNo: 3,
      transactionInfo: { transactionId: "tx-0001", chargingState: "Charging" },
      evse: { id: 1, connectorId: 1 },
      meterValue: [{ timestamp: TS, sampledValue: [{ value: 1234.5, measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "Wh", multiplier: 0 } }] }],
    },
  },
  SetChargingProfile: {
    kind: "req",
    payload: {
      evseId: 1,
      chargingProfile: {
        id: 7,
        stackLevel: 0,
        chargingProfilePurpose: "TxDefaultProfile",
        chargingProfileKind: "Absolute",
        chargingSchedule: [
          {
            id: 1,
            startSchedule: TS,
            chargingRateUnit: "A",
            chargingSchedulePeriod: [{ startPeriod: 0, limit: 16.5, numberPhases: 3 }, { startPeriod: 600, limit: 6 }],
          },
        ],
      },
    },
  },
  GetVariables: {
    kind: "conf",
    payload: {
      getVariableResult: [
        { attributeStatus: "Accepted", attributeValue: "300", component: { name: "OCPPCommCtrlr" }, variable: { name: "HeartbeatInterval" } },
      ],
    },
  },
};
const cases201: Case[] = [
  ["2.0.1 BootNotification missing reason", "BootNotification", (p) => delete p.reason, "OccurrenceConstraintViolation", "/reason"],
  ["2.0.1 BootNotification bad reason", "BootNotification", (p) => (p.reason = "Boot"), "PropertyConstraintViolation", "/reason"],
  ["2.0.1 BootNotification model 21 chars", "BootNotification", (p) => ((p.chargingStation as O).model = "M".repeat(21)), "PropertyConstraintViolation", "/chargingStation/model"],
  ["2.0.1 BootNotification nested extra", "BootNotification", (p) => ((p.chargingStation as O).colour = "red"), "ProtocolError", "/chargingStation/colour"],
  ["2.0.1 BootNotification extra", "BootNotification", (p) => (p.colour = "red"), "ProtocolError", "/colour"],
  ["2.0.1 BootNotification customData without vendorId", "BootNotification", (p) => delete (p.customData as O).vendorId, "OccurrenceConstraintViolation", "/customData/vendorId"],
  ["2.0.1 TransactionEvent seqNo string", "TransactionEvent", (p) => (p.seqNo = "3"), "TypeConstraintViolation", "/seqNo"],
  ["2.0.1 TransactionEvent empty meterValue", "TransactionEvent", (p) => (p.meterValue = []), "OccurrenceConstraintViolation", "/meterValue"],
  ["2.0.1 TransactionEvent bad timestamp", "TransactionEvent", (p) => (p.timestamp = "2024-06-01T24:00:00Z"), "PropertyConstraintViolation", "/timestamp"],
  ["2.0.1 TransactionEvent transactionId 37 chars", "TransactionEvent", (p) => ((p.transactionInfo as O).transactionId = "t".repeat(37)), "PropertyConstraintViolation", "/transactionInfo/transactionId"],
  ["2.0.1 SetChargingProfile 4 schedules", "SetChargingProfile", (p) => { const cs = (p.chargingProfile as O).chargingSchedule as J[]; cs.push(clone(cs[0]!), clone(cs[0]!), clone(cs[0]!)); }, "OccurrenceConstraintViolation", "/chargingProfile/chargingSchedule"],
  ["2.0.1 SetChargingProfile limit string", "SetChargingProfile", (p) => ((((p.chargingProfile as O).chargingSchedule as O[])[0]!.chargingSchedulePeriod as O[])[1]!.limit = "6"), "TypeConstraintViolation", "/chargingProfile/chargingSchedule/0/chargingSchedulePeriod/1/limit"],
  ["2.0.1 GetVariables.conf missing component", "GetVariables", (p) => delete (p.getVariableResult as O[])[0]!.component, "OccurrenceConstraintViolation", "/getVariableResult/0/component"],
  ["2.0.1 GetVariables.conf bad status", "GetVariables", (p) => ((p.getVariableResult as O[])[0]!.attributeStatus = "OK"), "PropertyConstraintViolation", "/getVariableResult/0/attributeStatus"],
];

test("OCPP 2.0.1 valid payloads pass and violations map to the OCPP-J 2.0.1 codes", (t) => {
  for (const [action, { kind, payload }] of Object.entries(V201)) {
    t.is(validate("2.0.1", action, kind, payload), null, action);
    t.true(ref("2.0.1", action, kind)(payload), `${action} runtime`);
  }
  for (const [name, action, mutate, code, path] of cases201) {
    const { kind, payload } = V201[action]!;
    const p = clone(payload);
    mutate(p);
    const r = validate("2.0.1", action, kind, p);
    t.is(r?.code, code, `${name}: ${JSON.stringify(r)}`);
    t.is(r?.path, path, name);
    t.false(ref("2.0.1", action, kind)(p), `${name}: runtime must reject too`);
  }
});

test("non-object payloads, unknown actions and prototype names", (t) => {
  for (const bad of [null, [], "x", 3, true, undefined]) {
    t.is(validate("1.6", "Heartbeat", "req", bad)?.code, "FormationViolation", JSON.stringify(bad));
    t.is(validate("2.0.1", "Heartbeat", "req", bad)?.code, "FormatViolation", JSON.stringify(bad));
  }
  t.is(validate("1.6", "Heartbeat", "req", {}), null);
  t.is(validate("1.6", "Heartbeat", "conf", { currentTime: TS }), null);
  for (const action of ["FooBar", "TransactionEvent", "__proto__", "constructor", "toString", "hasOwnProperty", ""]) {
    t.is(validate("1.6", action, "req", {})?.code, "NotImplemented", action);
  }
  t.is(validate("2.0.1", "StartTransaction", "req", {})?.code, "NotImplemented");
  t.is(validate("2.0.1", "TransactionEvent", "conf", {}), null);
  // A "__proto__" key from JSON.parse is an own property: an undeclared property, not prototype pollution.
  const p = JSON.parse('{"__proto__": {"x": 1}}') as unknown;
  t.is(validate("1.6", "Heartbeat", "req", p)?.code, "FormationViolation");
  t.is(validate("2.0.1", "Heartbeat", "req", p)?.code, "ProtocolError");
});

test("error descriptions and paths are bounded ASCII", (t) => {
  const long = "\u{1F600}\u0000\n".repeat(200) + "k".repeat(500);
  const r = validate("1.6", "Heartbeat", "req", { [long]: 1 });
  t.is(r?.code, "FormationViolation");
  t.true(r!.description.length <= 255 && r!.path.length <= 128);
  t.regex(r!.description, /^[\x20-\x7e]*$/);
  t.regex(r!.path, /^[\x20-\x7e]*$/);
  const r2 = validate("2.0.1", long, "req", {});
  t.is(r2?.code, "NotImplemented");
  t.true(r2!.description.length <= 255);
  t.regex(r2!.description, /^[\x20-\x7e]*$/);
});

test("maxLength counts characters (code points), not UTF-16 units", (t) => {
  const plug = "\u{1F50C}"; // 2 UTF-16 units, 1 character
  t.is(validate("1.6", "Authorize", "req", { idTag: plug.repeat(20) }), null);
  t.is(validate("1.6", "Authorize", "req", { idTag: plug.repeat(21) })?.code, "PropertyConstraintViolation");
  t.is(validate("1.6", "Authorize", "req", { idTag: "ä".repeat(20) }), null);
  t.is(v16.ucs2length("a\u{1F50C}b"), 3);
  t.is(v16.ucs2length("\uD83D"), 1); // lone high surrogate
  t.is(v16.ucs2length("\uDC00\uD83D"), 2); // reversed pair = two characters
  t.is(v201.ucs2length(""), 0);
});

test("multipleOf 0.1 uses a tolerance: 6.3 A and 10.1 A are legal, 6.35 A is not", (t) => {
  const payload = clone(V16.SetChargingProfile!.payload);
  const periods = ((payload.csChargingProfiles as O).chargingSchedule as O).chargingSchedulePeriod as O[];
  for (const limit of [0.3, 6.3, 10.1, 31.7, 0, 32, 1000000.1]) {
    periods[1]!.limit = limit;
    t.is(validate("1.6", "SetChargingProfile", "req", payload), null, String(limit));
  }
  for (const limit of [6.35, 0.01, 16.05]) {
    periods[1]!.limit = limit;
    t.is(validate("1.6", "SetChargingProfile", "req", payload)?.code, "PropertyConstraintViolation", String(limit));
  }
});

test("date-time is strict RFC 3339", (t) => {
  const ok = [
    "2024-06-01T08:15:30Z",
    "2024-06-01T08:15:30.1Z",
    "2024-06-01T08:15:30.123456789Z",
    "2024-06-01t08:15:30z",
    "2024-06-01T08:15:30+02:00",
    "2024-06-01T08:15:30-00:00",
    "2024-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "2016-12-31T23:59:60Z",
    "2017-01-01T01:59:60+02:00",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999+23:59",
  ];
  const bad = [
    "2024-06-01 08:15:30Z",
    "2024-06-01T08:15Z",
    "2024-06-01T08:15:30",
    "2024-06-01T08:15:30+0200",
    "2024-06-01T08:15:30+02",
    "20240601T081530Z",
    "2024-6-01T08:15:30Z",
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-00-10T00:00:00Z",
    "2024-01-00T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-06-01T24:00:00Z",
    "2024-06-01T23:60:00Z",
    "2024-06-01T23:59:61Z",
    "2024-06-01T12:00:60Z",
    "2024-06-01T08:15:30.Z",
    "2024-06-01T08:15:30+24:00",
    "2024-06-01T08:15:30+02:60",
    "2024-06-01T08:15:30Z ",
    " 2024-06-01T08:15:30Z",
    "2024-06-01T08:15:30ZZ",
    "2024-06-01T08:15:30+01:00Z",
    "2024-06-01T08:15:30+01:0",
    "2024-06-01T08:15:30.123",
    "2024-06-01T08:15:30,5Z",
    "2024-06-01T08:1a:30Z",
    "2024/06/01T08:15:30Z",
    "+2024-06-01T08:15:30Z",
    "2024-06-01T-8:15:30Z",
    "２０２４-06-01T08:15:30Z",
    "",
  ];
  for (const s of ok) t.true(v16.isDateTime(s), s);
  for (const s of bad) t.false(v16.isDateTime(s), s);
  for (const s of bad) {
    t.is(validate("1.6", "Heartbeat", "conf", { currentTime: s })?.code, "PropertyConstraintViolation", s);
    t.is(validate("2.0.1", "Heartbeat", "conf", { currentTime: s })?.code, "PropertyConstraintViolation", s);
  }
});

test("uri (1.6 GetDiagnostics/UpdateFirmware location) is an RFC 3986 absolute URI", (t) => {
  for (const s of ["ftp://diag.example.com/up", "https://fw.example.com/fw.bin?v=1&x=%2F", "sftp://u:p@[2001:db8::1]:22/f", "urn:x:y"]) {
    t.is(validate("1.6", "UpdateFirmware", "req", { location: s, retrieveDate: TS }), null, s);
  }
  for (const s of ["", "fw.bin", "/path/only", "http://exa mple.com/", "http://example.com/%zz", "1http://x", "http://ü.example/"]) {
    t.is(validate("1.6", "GetDiagnostics", "req", { location: s })?.code, "PropertyConstraintViolation", s);
  }
});

// ---------------------------------------------------------------------------------------------
// Cross-check: 2,000 seeded random mutations, generated verdict == ajv runtime verdict.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD: J[] = [
  null, true, false, 0, -1, 1.5, 6.3, 6.35, 1e21, -0.0001, 2147483648, "", "x", "Accepted", "Charging", "A",
  "2024-06-01T08:15:30Z", "2024-02-30T08:15:30Z", "2024-06-01 08:15:30Z", "2016-12-31T23:59:60Z", "2016-12-31T22:59:60Z",
  "ftp://a.b/c", "not a uri", "\u{1F50C}".repeat(20), "\u{1F50C}".repeat(21), "é".repeat(50), "k".repeat(51), [], {}, [{}], { vendorId: "v" },
];

function mutate(root: J, r: () => number): J {
  // Collect every container slot, pick one, apply one operation.
  const slots: Array<{ parent: O | J[]; key: string | number }> = [];
  const walk = (v: J): void => {
    if (Array.isArray(v)) v.forEach((x, i) => { slots.push({ parent: v, key: i }); walk(x); });
    else if (v !== null && typeof v === "object") for (const k of Object.keys(v)) { slots.push({ parent: v, key: k }); walk(v[k]!); }
  };
  walk(root);
  const pick = <T>(xs: readonly T[]): T => clone(xs[Math.floor(r() * xs.length)]!);
  const op = Math.floor(r() * 8);
  if (slots.length === 0 || op === 0) {
    if (r() < 0.1) return pick(WEIRD); // replace the whole payload
    if (root !== null && typeof root === "object" && !Array.isArray(root)) root[pick(["extra", "customData", "vendorId", "__proto__"])] = pick(WEIRD);
    return root;
  }
  const s = pick(slots);
  const cur = Array.isArray(s.parent) ? s.parent[s.key as number] : (s.parent as O)[s.key as string];
  const set = (v: J): void => {
    if (Array.isArray(s.parent)) s.parent[s.key as number] = v;
    else (s.parent as O)[s.key as string] = v;
  };
  switch (op) {
    case 1: // delete
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete (s.parent as O)[s.key as string];
      break;
    case 2:
      set(pick(WEIRD));
      break;
    case 3: // string edits around limits
      if (typeof cur === "string") set(r() < 0.5 ? cur + pick(["x", "\u{1F50C}", "é", "Z", ":00"]) : cur.slice(0, Math.floor(r() * cur.length)));
      else set(String(cur));
      break;
    case 4: // numeric edits
      set(typeof cur === "number" ? pick([cur + 1, cur - 1, cur + 0.05, cur * 10, -cur, cur + 0.1]) : 1);
      break;
    case 5: // grow arrays / add properties to objects
      if (Array.isArray(cur)) cur.push(cur.length > 0 ? clone(cur[0]!) : pick(WEIRD));
      else if (cur !== null && typeof cur === "object") cur[pick(["extra", "customData", "vendorId", "value"])] = pick(WEIRD);
      else set([cur]);
      break;
    case 6: // wrap / unwrap
      set(Array.isArray(cur) ? (cur.length > 0 ? cur[0]! : {}) : [cur!]);
      break;
    default: // date-time fiddling
      set(pick(["2024-06-01T08:15:30.5+01:00", "2024-06-01T08:15:30", "2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "2024-06-01T08:15:30+01", "2024-06-01T08:15:60Z"]));
  }
  return root;
}

test("cross-check: 2,000 seeded mutated payloads, generated verdict equals ajv runtime verdict", (t) => {
  const seed = Number(process.env.OCPP_XCHECK_SEED ?? 20240601);
  const r = rng(seed);
  const bases: Sample[] = [
    ...synthesised,
    ...Object.entries(V16).map(([action, { kind, payload }]) => ({ version: "1.6" as const, action, kind, payload })),
    ...Object.entries(V201).map(([action, { kind, payload }]) => ({ version: "2.0.1" as const, action, kind, payload })),
  ];
  let rejected = 0;
  let sameError = 0;
  for (let i = 0; i < 2000; i++) {
    const b = bases[Math.floor(r() * bases.length)]!;
    let p = clone(b.payload);
    const n = 1 + Math.floor(r() * 3);
    for (let k = 0; k < n; k++) p = mutate(p, r);
    const ours = validateWith(TABLES[b.version], b.version, b.action, b.kind, p);
    const theirs = ref(b.version, b.action, b.kind);
    const ok = theirs(p);
    if ((ours === null) !== ok) {
      t.fail(`seed ${seed} #${i} ${b.version} ${b.action}.${b.kind}: ours=${JSON.stringify(ours)} ajv=${ok} ${JSON.stringify(theirs.errors)} payload=${short(p)}`);
      return;
    }
    if (!ok) {
      rejected++;
      const fn = (b.kind === "req" ? TABLES[b.version].req : TABLES[b.version].conf)[b.action]!;
      const e = fn.errors![0]!;
      const e2 = theirs.errors![0]!;
      if (e.keyword === e2.keyword && e.instancePath === e2.instancePath) sameError++;
    }
  }
  t.log(`seed ${seed}: ${rejected}/2000 mutated payloads rejected; first error identical to ajv runtime for ${sameError}`);
  // The mutations must exercise both verdicts, and the first error is the same one ajv's runtime reports.
  t.true(rejected >= 300 && rejected <= 1700, `seed ${seed}: rejected ${rejected}`);
  t.is(sameError, rejected, `seed ${seed}`);
});

// ---------------------------------------------------------------------------------------------
test("generated modules are self-contained: no import, require, eval, Function or RegExp constructor", (t) => {
  for (const version of ["1.6", "2.0.1"] as const) {
    const src = readFileSync(new URL(OUTPUTS[version], ROOT), "utf8");
    t.false(/\brequire\s*\(/.test(src), `${version}: require(`);
    t.false(/(^|[^\w$.])import[\s{*("']/.test(src), `${version}: import`);
    t.false(/\beval\b/.test(src), `${version}: eval`);
    t.false(/\bFunction\s*\(/.test(src), `${version}: Function(`);
    t.false(/new\s+RegExp\b/.test(src), `${version}: new RegExp`);
    t.true(src.startsWith("// @ts-nocheck\n// GENERATED"), `${version}: header`);
  }
});

test("committed output is what the generator produces now (deterministic, up to date)", (t) => {
  for (const version of ["1.6", "2.0.1"] as const) {
    const committed = readFileSync(new URL(OUTPUTS[version], ROOT), "utf8");
    const a = generateModule(version).source;
    const b = generateModule(version).source;
    t.is(a, b, `${version}: two runs differ`);
    t.true(a === committed, `${version}: firmware output is stale, run npm run gen:ocpp`);
  }
});

test("validate() without a registered table is a wiring error", async (t) => {
  const spec = "../../firmware/ocpp/validate.js?fresh=1"; // a second, empty registry
  const fresh = (await import(spec)) as typeof import("../../firmware/ocpp/validate.js");
  t.throws(() => fresh.validate("1.6", "Heartbeat", "req", {}), { message: /no OCPP 1.6 validators registered/ });
  t.throws(() => fresh.registerOcppValidators({ version: "1.5", req: {}, conf: {} }), { message: /unsupported/ });
});
