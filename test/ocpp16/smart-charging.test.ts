/**
 * SmartCharging (OCPP 1.6) end to end against the embedded strict CSMS, named after the OCA test cases: the
 * arbiter's "ocpp" claim changes at the exact virtual instant of each period boundary, and the pilot PWM follows
 * at the next control tick.
 */
import test, { type ExecutionContext } from "ava";
import { start } from "../../firmware/main.js";
import { dutyForCurrent } from "../../firmware/iec61851/pilot.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";
import type { TraceEvent } from "../../simulator/trace.js";

/** Virtual t = 0 is this wall time (the scenario's RTC). */
const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const CONTROL_PERIOD_MS = 10;

interface Run {
  sim: Simulation;
  events: TraceEvent[];
}

async function run(t: ExecutionContext, events: unknown[], opts: { duration?: string; csms?: Record<string, unknown>; ev?: Record<string, unknown>; prepare?: (sim: Simulation) => void } = {}): Promise<Run> {
  const scenario = parseScenario(
    JSON.stringify({
      name: t.title.slice(0, 40),
      seed: 7,
      duration: opts.duration ?? "6min",
      ev: { maxCurrent: 32, batteryKWh: 80, initialSoc: 20, ...(opts.ev ?? {}) },
      config: { controlPeriodMs: CONTROL_PERIOD_MS, meterValueSampleIntervalS: 0 },
      ...(opts.csms ? { csms: opts.csms } : {}),
      events,
    }),
  );
  const sim = await Simulation.create({ scenario });
  t.teardown(() => sim.close());
  opts.prepare?.(sim);
  const result = await sim.run((hal, config) => start(hal, config));
  t.deepEqual(sim.csms!.validationFailures, [], "strict validation both ways");
  t.deepEqual(result.firmwareErrors, []);
  t.is(result.interlockTrips, 0);
  return { sim, events: sim.trace.events };
}

/** The CSMS's answers to its own CALLs, in order, for one action. */
function answers(r: Run, action: string): Array<Record<string, unknown>> {
  return r.events.filter((e) => e.kind === "csms" && e["action"] === action).map((e) => (e["result"] ?? { error: e["error"] }) as Record<string, unknown>);
}

/** The "ocpp" limit decisions of the module (kind smart-charging, event limit). */
function limits(r: Run): Array<{ t: number; amps: number | null; reason: string }> {
  return r.events.filter((e) => e.kind === "smart-charging" && e["event"] === "limit").map((e) => ({ t: e.t, amps: e["amps"] as number | null, reason: e["reason"] as string }));
}

/** The PWM duty (%) in force at virtual time `ms`. */
function dutyAt(r: Run, ms: number): number {
  let d = NaN;
  for (const e of r.events) if (e.kind === "pwm" && e.t <= ms) d = e["duty"] as number;
  return d;
}

const duty = (amps: number) => dutyForCurrent(amps) / 10;

/**
 * At `ms` (a period boundary) the claim changes to `amps` with `reason`; the PWM shows `amps` from the first
 * control tick at or after it (within one control period) and not before.
 */
function boundary(t: ExecutionContext, r: Run, ms: number, amps: number | null, reason: string | RegExp, pwmAmps: number): void {
  const l = limits(r).find((x) => x.t === ms);
  t.truthy(l, `a limit decision at exactly ${ms} ms (got ${JSON.stringify(limits(r))})`);
  if (!l) return;
  t.is(l.amps, amps);
  if (typeof reason === "string") t.is(l.reason, reason);
  else t.regex(l.reason, reason);
  const pwm = r.events.find((e) => e.kind === "pwm" && e.t >= ms && e["duty"] === duty(pwmAmps));
  t.truthy(pwm, `a pwm of ${duty(pwmAmps)} % after ${ms} ms`);
  t.true(pwm!.t - ms <= CONTROL_PERIOD_MS, `pwm at ${pwm!.t} ms, within one control period of ${ms} ms`);
  t.not(dutyAt(r, ms - 1), duty(pwmAmps), `not yet ${duty(pwmAmps)} % before ${ms} ms`);
}

const profile = (o: Record<string, unknown>, schedule: Record<string, unknown>) => ({ stackLevel: 0, chargingProfileKind: "Absolute", ...o, chargingSchedule: { chargingRateUnit: "A", ...schedule } });
const setProfile = (s: number, connectorId: number, p: Record<string, unknown>) => ({ at: `${s}s`, do: "csms", action: "SetChargingProfile", payload: { connectorId, csChargingProfiles: p } });
const charge = [
  { at: "5s", do: "plug" },
  { at: "8s", do: "swipe", idTag: "CARD-1" },
];

test("TC_056_CS Central Smart Charging - TxDefaultProfile", async (t) => {
  const r = await run(t, [
    setProfile(3, 1, profile({ chargingProfileId: 11, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), duration: 300, chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }, { startPeriod: 60, limit: 10 }, { startPeriod: 120, limit: 20 }] })),
    ...charge,
  ]);
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Accepted" }]);
  t.is(limits(r)[0]!.t, 3000, "applied when set");
  t.is(dutyAt(r, 30_000), duty(16), "the transaction charges at the TxDefaultProfile's 16 A");
  boundary(t, r, 60_000, 10, "TxDefaultProfile #11 stack 0", 10);
  boundary(t, r, 120_000, 20, "TxDefaultProfile #11 stack 0", 20);
  boundary(t, r, 300_000, null, "", 32);
});

test("TC_057_CS Central Smart Charging - TxProfile", async (t) => {
  const r = await run(t, [
    ...charge,
    setProfile(20, 1, profile({ chargingProfileId: 12, stackLevel: 2, chargingProfilePurpose: "TxProfile", transactionId: 1 }, { startSchedule: at(30), duration: 120, chargingSchedulePeriod: [{ startPeriod: 0, limit: 8 }, { startPeriod: 60, limit: 12 }] })),
  ]);
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Accepted" }]);
  t.is(dutyAt(r, 25_000), duty(32));
  boundary(t, r, 30_000, 8, "TxProfile #12 stack 2", 8);
  boundary(t, r, 90_000, 12, "TxProfile #12 stack 2", 12);
  boundary(t, r, 150_000, null, "", 32);
});

test("TC_058_1_CS Central Smart Charging - No ongoing transaction", async (t) => {
  const r = await run(t, [setProfile(5, 1, profile({ chargingProfileId: 13, chargingProfilePurpose: "TxProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] }))], { duration: "30s" });
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Rejected" }]);
  t.deepEqual(limits(r), [], "no limit from a rejected profile");
});

test("TC_058_2_CS Central Smart Charging - Wrong transactionId", async (t) => {
  const r = await run(
    t,
    [...charge, setProfile(20, 1, profile({ chargingProfileId: 14, chargingProfilePurpose: "TxProfile", transactionId: 999 }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] }))],
    { duration: "40s" },
  );
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Rejected" }]);
  t.deepEqual(limits(r), []);
  t.is(dutyAt(r, 39_000), duty(32), "charging goes on unchanged");
});

test("TC_059_CS Remote Start Transaction with Charging Profile", async (t) => {
  const r = await run(t, [
    { at: "5s", do: "plug" },
    {
      at: "10s",
      do: "csms",
      action: "RemoteStartTransaction",
      payload: { connectorId: 1, idTag: "REMOTE-1", chargingProfile: profile({ chargingProfileId: 15, chargingProfilePurpose: "TxProfile", chargingProfileKind: "Relative" }, { chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }, { startPeriod: 60, limit: 14 }] }) },
    },
  ]);
  t.deepEqual(answers(r, "RemoteStartTransaction"), [{ status: "Accepted" }]);
  const started = r.events.find((e) => e.kind === "session" && e["event"] === "started")!;
  t.truthy(started);
  const txStart = started.t;
  const first = limits(r)[0]!;
  t.is(first.t, txStart, "the profile is the transaction's from its start");
  t.is(first.amps, 10);
  t.is(first.reason, "TxProfile #15 stack 0");
  t.is(dutyAt(r, txStart + 30_000), duty(10));
  boundary(t, r, txStart + 60_000, 14, "TxProfile #15 stack 0", 14);
  const [tx] = [...r.sim.csms!.transactions.values()];
  t.is(tx!.idTag, "REMOTE-1");
});

test("TC_060_CS Remote Start Transaction with Charging Profile - Rejected", async (t) => {
  const bad = (o: Record<string, unknown>) => ({
    at: "10s",
    do: "csms",
    action: "RemoteStartTransaction",
    payload: { connectorId: 1, idTag: "REMOTE-1", chargingProfile: profile({ chargingProfileId: 16, chargingProfilePurpose: "TxProfile", chargingProfileKind: "Relative", ...o }, { chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] }) },
  });
  const r = await run(t, [{ at: "5s", do: "plug" }, bad({ chargingProfilePurpose: "TxDefaultProfile" }), { ...bad({ transactionId: 3 }), at: "12s" }, { ...bad({ stackLevel: 99 }), at: "14s" }], { duration: "40s" });
  t.deepEqual(answers(r, "RemoteStartTransaction"), [{ status: "Rejected" }, { status: "Rejected" }, { status: "Rejected" }]);
  t.is(r.sim.csms!.transactions.size, 0, "no transaction started");
  t.deepEqual(limits(r), []);
});

test("TC_066_CS Get Composite Schedule", async (t) => {
  const r = await run(
    t,
    [
      setProfile(3, 1, profile({ chargingProfileId: 21, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }, { startPeriod: 600, limit: 10 }] })),
      setProfile(4, 0, profile({ chargingProfileId: 22, chargingProfilePurpose: "ChargePointMaxProfile" }, { startSchedule: at(0), duration: 400, chargingRateUnit: "W", chargingSchedulePeriod: [{ startPeriod: 0, limit: 8970 }] })),
      { at: "100s", do: "csms", action: "GetCompositeSchedule", payload: { connectorId: 1, duration: 1200, chargingRateUnit: "A" } },
      { at: "101s", do: "csms", action: "GetCompositeSchedule", payload: { connectorId: 0, duration: 600, chargingRateUnit: "W" } },
      { at: "102s", do: "csms", action: "GetCompositeSchedule", payload: { connectorId: 2, duration: 600 } },
    ],
    { duration: "2min" },
  );
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Accepted" }, { status: "Accepted" }]);
  const [c1, c0, c2] = answers(r, "GetCompositeSchedule");
  // 8,970 W over 3 phases at 230 V = 13 A caps 16 A until 400 s after 08:00; then 16 A; 10 A from 600 s.
  t.deepEqual(c1, {
    status: "Accepted",
    connectorId: 1,
    scheduleStart: at(100),
    chargingSchedule: {
      duration: 1200,
      startSchedule: at(100),
      chargingRateUnit: "A",
      chargingSchedulePeriod: [
        { startPeriod: 0, limit: 13, numberPhases: 3 },
        { startPeriod: 300, limit: 16, numberPhases: 3 },
        { startPeriod: 500, limit: 10, numberPhases: 3 },
      ],
    },
  });
  t.deepEqual(c0!["chargingSchedule"], {
    duration: 600,
    startSchedule: at(101),
    chargingRateUnit: "W",
    chargingSchedulePeriod: [
      { startPeriod: 0, limit: 8970, numberPhases: 3 },
      { startPeriod: 299, limit: 11040, numberPhases: 3 },
      { startPeriod: 499, limit: 6900, numberPhases: 3 },
    ],
  });
  t.deepEqual(c2, { status: "Rejected" });
});

test("TC_067_CS Clear Charging Profile", async (t) => {
  const r = await run(
    t,
    [
      setProfile(3, 1, profile({ chargingProfileId: 31, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] })),
      setProfile(4, 0, profile({ chargingProfileId: 32, chargingProfilePurpose: "ChargePointMaxProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 25 }] })),
      ...charge,
      { at: "40s", do: "csms", action: "ClearChargingProfile", payload: { id: 31 } },
      { at: "50s", do: "csms", action: "ClearChargingProfile", payload: { id: 31 } },
      { at: "60s", do: "csms", action: "ClearChargingProfile", payload: { connectorId: 0, chargingProfilePurpose: "ChargePointMaxProfile" } },
      { at: "70s", do: "csms", action: "ClearChargingProfile", payload: {} },
    ],
    { duration: "90s" },
  );
  t.deepEqual(answers(r, "ClearChargingProfile"), [{ status: "Accepted" }, { status: "Unknown" }, { status: "Accepted" }, { status: "Unknown" }]);
  t.is(dutyAt(r, 39_000), duty(10));
  boundary(t, r, 40_000, 25, "ChargePointMaxProfile #32 stack 0", 25);
  boundary(t, r, 60_000, null, "", 32);
});

test("TC_072_CS Stacking Charging Profiles", async (t) => {
  const r = await run(t, [
    setProfile(3, 1, profile({ chargingProfileId: 41, stackLevel: 0, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 12 }] })),
    setProfile(4, 1, profile({ chargingProfileId: 42, stackLevel: 1, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(60), duration: 60, chargingSchedulePeriod: [{ startPeriod: 0, limit: 8 }] })),
    ...charge,
    // The same purpose and stack level replaces profile 42.
    setProfile(150, 1, profile({ chargingProfileId: 43, stackLevel: 1, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(180), duration: 60, chargingSchedulePeriod: [{ startPeriod: 0, limit: 20 }] })),
  ]);
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Accepted" }, { status: "Accepted" }, { status: "Accepted" }]);
  t.is(dutyAt(r, 50_000), duty(12));
  boundary(t, r, 60_000, 8, "TxDefaultProfile #42 stack 1", 8);
  boundary(t, r, 120_000, 12, "TxDefaultProfile #41 stack 0", 12);
  boundary(t, r, 180_000, 20, "TxDefaultProfile #43 stack 1", 20);
  boundary(t, r, 240_000, 12, "TxDefaultProfile #41 stack 0", 12);
});

test("TC_082_CS Central Smart Charging - TxDefaultProfile - with ongoing transaction", async (t) => {
  const r = await run(
    t,
    [...charge, setProfile(30, 1, profile({ chargingProfileId: 51, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }, { startPeriod: 90, limit: 9 }] }))],
    { duration: "2min" },
  );
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Accepted" }]);
  t.is(dutyAt(r, 29_000), duty(32));
  boundary(t, r, 30_000, 6, "TxDefaultProfile #51 stack 0", 6);
  boundary(t, r, 90_000, 9, "TxDefaultProfile #51 stack 0", 9);
});

test("profiles survive a reboot; a TxProfile dies with its transaction; the capability keys are read-only", async (t) => {
  const r = await run(
    t,
    [
      setProfile(3, 0, profile({ chargingProfileId: 61, chargingProfilePurpose: "ChargePointMaxProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 20 }, { startPeriod: 200, limit: 14 }] })),
      ...charge,
      setProfile(20, 1, profile({ chargingProfileId: 62, chargingProfilePurpose: "TxProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 7 }] })),
      { at: "40s", do: "unplug" },
      { at: "60s", do: "restart" },
      { at: "80s", do: "csms", action: "GetConfiguration", payload: { key: ["ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled"] } },
      { at: "81s", do: "csms", action: "ChangeConfiguration", payload: { key: "MaxChargingProfilesInstalled", value: "100" } },
      { at: "90s", do: "plug" },
      { at: "93s", do: "swipe", idTag: "CARD-1" },
    ],
    { duration: "5min" },
  );
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Accepted" }, { status: "Accepted" }]);
  t.is(dutyAt(r, 30_000), duty(7), "the TxProfile during the first transaction");
  const boot2 = r.events.find((e) => e.kind === "sim" && e["event"] === "boot" && e["boot"] === 2)!;
  t.truthy(boot2);
  const after = limits(r).filter((l) => l.t >= boot2.t);
  t.is(after[0]!.amps, 20, "the ChargePointMaxProfile is back after the reboot, the TxProfile is not");
  t.is(after[0]!.reason, "ChargePointMaxProfile #61 stack 0");
  t.is(dutyAt(r, 150_000), duty(20));
  boundary(t, r, 200_000, 14, "ChargePointMaxProfile #61 stack 0", 14);
  const conf = answers(r, "GetConfiguration")[0] as { configurationKey: Array<{ key: string; readonly: boolean; value: string }> };
  t.deepEqual(
    conf.configurationKey.map((k) => [k.key, k.readonly, k.value]),
    [
      ["ChargeProfileMaxStackLevel", true, "8"],
      ["ChargingScheduleAllowedChargingRateUnit", true, "Current,Power"],
      ["ChargingScheduleMaxPeriods", true, "48"],
      ["MaxChargingProfilesInstalled", true, "16"],
    ],
  );
  t.deepEqual(answers(r, "ChangeConfiguration"), [{ status: "Rejected" }]);
});

test("bad input: a profile beyond the limits or inconsistent is Rejected and changes nothing", async (t) => {
  const periods = Array.from({ length: 49 }, (_, i) => ({ startPeriod: i * 60, limit: 10 }));
  const r = await run(
    t,
    [
      setProfile(3, 1, profile({ chargingProfileId: 71, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 11 }] })),
      setProfile(4, 1, profile({ chargingProfileId: 72, stackLevel: 9, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] })),
      setProfile(5, 1, profile({ chargingProfileId: 73, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: periods })),
      setProfile(6, 2, profile({ chargingProfileId: 74, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] })),
      setProfile(7, 1, profile({ chargingProfileId: 75, chargingProfilePurpose: "ChargePointMaxProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] })),
      setProfile(8, 1, profile({ chargingProfileId: 76, chargingProfilePurpose: "TxDefaultProfile", chargingProfileKind: "Recurring" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] })),
      setProfile(9, 1, profile({ chargingProfileId: 77, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 60, limit: 6 }, { startPeriod: 0, limit: 7 }] })),
      setProfile(10, 1, profile({ chargingProfileId: 78, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6, numberPhases: 4 }] })),
      setProfile(11, 1, profile({ chargingProfileId: 79, chargingProfilePurpose: "TxDefaultProfile", validFrom: at(100), validTo: at(50) }, { startSchedule: at(0), chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] })),
      ...charge,
    ],
    { duration: "40s" },
  );
  t.deepEqual(answers(r, "SetChargingProfile"), [{ status: "Accepted" }, ...Array(8).fill({ status: "Rejected" })]);
  t.deepEqual(limits(r).map((l) => l.amps), [11], "only the accepted profile ever set a limit");
  t.is(dutyAt(r, 39_000), duty(11));
});

test("a wall clock set by the CSMS moves the boundaries at once", async (t) => {
  const SHIFT_S = 3570;
  const r = await run(
    t,
    [
      // From 09:00 device time: 9 A, then 13 A from 09:01. The CSMS's Heartbeats after 30 s put the clock 59.5 min ahead.
      setProfile(3, 1, profile({ chargingProfileId: 81, chargingProfilePurpose: "TxDefaultProfile" }, { startSchedule: at(3600), chargingSchedulePeriod: [{ startPeriod: 0, limit: 9 }, { startPeriod: 60, limit: 13 }] })),
      ...charge,
    ],
    {
      duration: "3min",
      csms: { heartbeatInterval: 60 },
      prepare: (sim) => {
        sim.csms!.onCall = ({ action }) => (action === "Heartbeat" && sim.scheduler.now > 30_000 ? { currentTime: new Date(sim.trueWallTime() + SHIFT_S * 1000).toISOString() } : undefined);
      },
    },
  );
  const hb = r.events.find((e) => e.kind === "ocpp" && e["dir"] === "in" && Array.isArray(e["frame"]) && (e["frame"] as unknown[])[0] === 3 && typeof ((e["frame"] as unknown[])[2] as Record<string, unknown>)["currentTime"] === "string" && e.t > 30_000);
  t.truthy(hb, "a Heartbeat answer after 30 s");
  const th = hb!.t;
  t.true(dutyAt(r, th - 1) === duty(32), "no limit before the clock jumps");
  const l = limits(r).find((x) => x.t === th);
  t.truthy(l, `recomputed at the Heartbeat answer (${th} ms): ${JSON.stringify(limits(r))}`);
  t.is(l!.amps, 9);
  // 09:01:00 device time is 30 s after the jump (which put the clock at true time + 3,570 s).
  const jumpWall = T0 + th + SHIFT_S * 1000;
  boundary(t, r, th + (T0 + 3660_000 - jumpWall), 13, "TxDefaultProfile #81 stack 0", 13);
});
