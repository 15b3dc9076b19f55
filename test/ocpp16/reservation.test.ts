/** Reservation profile end to end (OCA TC_046 … TC_053). */
import test, { type ExecutionContext } from "ava";
import type { CsmsCallHook } from "../../simulator/csms/index.js";
import { csms, iso, runAuth, squash } from "./auth-support.js";

const reserve = (at: string, connectorId: number, reservationId: number, idTag: string, expiresMs: number, parentIdTag?: string) =>
  csms(at, "ReserveNow", { connectorId, expiryDate: iso(expiresMs), idTag, reservationId, ...(parentIdTag ? { parentIdTag } : {}) });

const parents: Record<string, string> = { "CHILD-1": "GROUP-1", "CHILD-2": "GROUP-1", "OTHER-1": "GROUP-2" };
const groupHook: CsmsCallHook = ({ action, payload }) => {
  if (action !== "Authorize") return undefined;
  const idTag = (payload as { idTag: string }).idTag;
  return { idTagInfo: { status: "Accepted", ...(parents[idTag] ? { parentIdTag: parents[idTag] } : {}) } };
};

// Shared bodies are registered under literal titles (the OCA coverage check, oca-coverage.test.ts, reads them).
const reservedLocalStart = async (t: ExecutionContext, connectorId: 0 | 1) => {
  const r = await runAuth(t, {
    events: [
      reserve("10s", connectorId, 7, "RES-TAG", 3_600_000),
      // Another card may not use the reserved connector.
      { at: "20s", do: "swipe", idTag: "SOMEONE-ELSE" },
      { at: "30s", do: "swipe", idTag: "RES-TAG" },
      { at: "35s", do: "plug" },
      { at: "3min", do: "unplug" },
    ],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }]);
  const starts = r.of("StartTransaction");
  t.is(starts.length, 1);
  t.is(starts[0]!.payload["idTag"], "RES-TAG");
  t.is(starts[0]!.payload["reservationId"], 7);
  const seq = squash(r.statuses);
  t.deepEqual(seq.slice(0, 3), ["Available", "Reserved", "Preparing"], JSON.stringify(seq));
  t.true(seq.includes("Charging"));
  t.is(seq.at(-1), "Available");
  t.is(seq.filter((x) => x === "Reserved").length, 1, "the reservation was used up");
};

test("TC_046_1_CS Reservation of a Connector - Local start transaction", (t) => reservedLocalStart(t, 1));
test("TC_049_CS Reservation of a Charge Point - Transaction", (t) => reservedLocalStart(t, 0));

test("TC_046_2_CS Reservation of a Connector - Remote start transaction", async (t) => {
  const r = await runAuth(t, {
    events: [reserve("10s", 1, 8, "RES-TAG", 3_600_000), { at: "20s", do: "plug" }, csms("25s", "RemoteStartTransaction", { idTag: "RES-TAG", connectorId: 1 }), { at: "3min", do: "unplug" }],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }, { status: "Accepted" }]);
  t.deepEqual(r.of("StartTransaction").map((c) => [c.payload["idTag"], c.payload["reservationId"]]), [["RES-TAG", 8]]);
  t.is(squash(r.statuses)[1], "Reserved");
  t.is(r.of("Authorize").length, 0);
});

test("TC_047_CS Reservation of a Connector - Expire: the connector becomes Available at expiryDate", async (t) => {
  const r = await runAuth(t, {
    events: [reserve("10s", 1, 9, "RES-TAG", 70_000), { at: "2min", do: "plug" }, { at: "125s", do: "swipe", idTag: "ANYONE" }, { at: "3min", do: "unplug" }],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  const s = r.of("StatusNotification").filter((c) => c.payload["connectorId"] === 1);
  const reserved = s.find((c) => c.payload["status"] === "Reserved")!;
  const freed = s.find((c) => c.t > reserved.t && c.payload["status"] === "Available")!;
  t.true(freed.t >= 70_000 && freed.t < 71_000, `Available at ${freed.t}`);
  const starts = r.of("StartTransaction");
  t.is(starts.length, 1);
  t.is(starts[0]!.payload["reservationId"], undefined);
});

/** TC_048_1 on connector 1 and TC_050_1 on connector 0 (the charge point), in one run. */
const connectorAndChargePoint1 = async (t: ExecutionContext) => {
  const r = await runAuth(t, {
    events: [{ at: "10s", do: "pilotShort", on: true }, reserve("20s", 1, 1, "RES-TAG", 3_600_000), reserve("21s", 0, 2, "RES-TAG", 3_600_000)],
    duration: "30s",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.is(squash(r.statuses).at(-1), "Faulted");
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Faulted" }, { status: "Faulted" }]);
};
test("TC_048_1_CS Reservation of a Connector - Faulted (connector 1; connector 0 in the same run)", connectorAndChargePoint1);
test("TC_050_1_CS Reservation of a Charge Point - Faulted (connector 0; connector 1 in the same run)", connectorAndChargePoint1);

/** TC_048_2 on connector 1 and TC_050_2 on connector 0 (the charge point), in one run. */
const connectorAndChargePoint2 = async (t: ExecutionContext) => {
  const r = await runAuth(t, {
    events: [
      { at: "10s", do: "plug" },
      { at: "12s", do: "swipe", idTag: "DRIVER" },
      reserve("30s", 1, 1, "RES-TAG", 3_600_000),
      reserve("31s", 0, 2, "RES-TAG", 3_600_000),
      { at: "40s", do: "unplug" },
      // Reserved by another reservation: Occupied too.
      reserve("50s", 1, 3, "RES-TAG", 3_600_000),
      reserve("51s", 1, 4, "RES-TAG-2", 3_600_000),
    ],
    duration: "1min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Occupied" }, { status: "Occupied" }, { status: "Accepted" }, { status: "Occupied" }]);
};
test("TC_048_2_CS Reservation of a Connector - Occupied (connector 1; connector 0 in the same run)", connectorAndChargePoint2);
test("TC_050_2_CS Reservation of a Charge Point - Occupied (connector 0; connector 1 in the same run)", connectorAndChargePoint2);

/** TC_048_3 on connector 1 and TC_050_3 on connector 0 (the charge point), in one run. */
const connectorAndChargePoint3 = async (t: ExecutionContext) => {
  const r = await runAuth(t, {
    events: [{ at: "10s", do: "availability", available: false }, reserve("20s", 1, 1, "RES-TAG", 3_600_000), reserve("21s", 0, 2, "RES-TAG", 3_600_000)],
    duration: "30s",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Unavailable" }, { status: "Unavailable" }]);
};
test("TC_048_3_CS Reservation of a Connector - Unavailable (connector 1; connector 0 in the same run)", connectorAndChargePoint3);
test("TC_050_3_CS Reservation of a Charge Point - Unavailable (connector 0; connector 1 in the same run)", connectorAndChargePoint3);

/** TC_048_4 on connector 1 and TC_050_4 on connector 0 (the charge point), in one run. */
const connectorAndChargePoint4 = async (t: ExecutionContext) => {
  const r = await runAuth(t, {
    keys: { ReservationEnabled: "false" },
    events: [
      reserve("20s", 1, 1, "RES-TAG", 3_600_000),
      reserve("21s", 0, 2, "RES-TAG", 3_600_000),
      csms("22s", "ChangeConfiguration", { key: "ReservationEnabled", value: "true" }),
      // An unknown connector and an expiryDate already past are rejected too.
      reserve("23s", 2, 3, "RES-TAG", 3_600_000),
      reserve("24s", 1, 4, "RES-TAG", 1_000),
      csms("25s", "GetConfiguration", { key: ["ReserveConnectorZeroSupported"] }),
    ],
    duration: "30s",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [
    { status: "Rejected" },
    { status: "Rejected" },
    { status: "Accepted" },
    { status: "Rejected" },
    { status: "Rejected" },
    { configurationKey: [{ key: "ReserveConnectorZeroSupported", readonly: true, value: "true" }] },
  ]);
  t.false(r.statuses.includes("Reserved"));
};
test("TC_048_4_CS Reservation of a Connector - Rejected (connector 1; connector 0 in the same run)", connectorAndChargePoint4);
test("TC_050_4_CS Reservation of a Charge Point - Rejected (connector 0; connector 1 in the same run)", connectorAndChargePoint4);

test("TC_051_CS Cancel Reservation", async (t) => {
  const r = await runAuth(t, {
    events: [reserve("10s", 1, 11, "RES-TAG", 3_600_000), csms("20s", "CancelReservation", { reservationId: 11 }), { at: "30s", do: "plug" }, { at: "31s", do: "swipe", idTag: "ANYONE" }, { at: "2min", do: "unplug" }],
    duration: "3min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }, { status: "Accepted" }]);
  t.deepEqual(squash(r.statuses).slice(0, 4), ["Available", "Reserved", "Available", "Preparing"]);
  t.is(r.of("StartTransaction").length, 1);
});

test("TC_052_CS Cancel Reservation - Rejected", async (t) => {
  const r = await runAuth(t, {
    events: [reserve("10s", 1, 12, "RES-TAG", 3_600_000), csms("20s", "CancelReservation", { reservationId: 99 }), csms("21s", "CancelReservation", { reservationId: 12 }), csms("22s", "CancelReservation", { reservationId: 12 })],
    duration: "30s",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }, { status: "Rejected" }, { status: "Accepted" }, { status: "Rejected" }]);
});

test("TC_053_1_CS Use a reserved Connector with parentIdTag - Local", async (t) => {
  const r = await runAuth(t, {
    onCall: groupHook,
    events: [
      reserve("10s", 1, 13, "CHILD-1", 3_600_000, "GROUP-1"),
      { at: "20s", do: "plug" },
      { at: "25s", do: "swipe", idTag: "OTHER-1" },
      { at: "30s", do: "swipe", idTag: "CHILD-2" },
      { at: "3min", do: "unplug" },
    ],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.of("Authorize").map((c) => c.payload["idTag"]), ["OTHER-1", "CHILD-2"]);
  t.deepEqual(r.of("StartTransaction").map((c) => [c.payload["idTag"], c.payload["reservationId"]]), [["CHILD-2", 13]]);
});

test("TC_053_2_CS Use a reserved Connector with parentIdTag - Remote", async (t) => {
  const r = await runAuth(t, {
    onCall: groupHook,
    events: [
      reserve("10s", 1, 14, "CHILD-1", 3_600_000, "GROUP-1"),
      { at: "20s", do: "plug" },
      csms("25s", "RemoteStartTransaction", { idTag: "CHILD-2", connectorId: 1 }),
      { at: "3min", do: "unplug" },
    ],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  // The remote idTag is not the reserved one: its parentIdTag is learnt with an Authorize.req.
  t.deepEqual(r.of("Authorize").map((c) => c.payload["idTag"]), ["CHILD-2"]);
  t.deepEqual(r.of("StartTransaction").map((c) => [c.payload["idTag"], c.payload["reservationId"]]), [["CHILD-2", 14]]);
});

test("RemoteStartTransaction for another idTag on a connector reserved without parentIdTag: Rejected at once, the reservation kept", async (t) => {
  const r = await runAuth(t, {
    events: [
      reserve("10s", 1, 16, "RES-TAG", 3_600_000),
      { at: "20s", do: "plug" },
      csms("25s", "RemoteStartTransaction", { idTag: "SOMEONE-ELSE", connectorId: 1 }),
      csms("30s", "RemoteStartTransaction", { idTag: "RES-TAG", connectorId: 1 }),
      { at: "3min", do: "unplug" },
    ],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }, { status: "Rejected" }, { status: "Accepted" }]);
  t.is(r.of("Authorize").length, 0, "no authorization for a start that cannot happen");
  t.deepEqual(r.of("StartTransaction").map((c) => [c.payload["idTag"], c.payload["reservationId"]]), [["RES-TAG", 16]]);
  t.deepEqual(squash(r.statuses).slice(0, 2), ["Available", "Reserved"]);
  t.is(r.of("StatusNotification").filter((c) => c.t >= 25_000 && c.t < 30_000).length, 0, "the rejected start changed nothing");
});

test("a reservation survives a reboot (still Reserved) and still expires on time; the same reservationId replaces it", async (t) => {
  const r = await runAuth(t, {
    events: [
      reserve("10s", 1, 15, "RES-TAG", 3_600_000),
      reserve("12s", 1, 15, "RES-TAG", 200_000),
      { at: "30s", do: "powerCut", offMs: 2_000 },
      { at: "1min", do: "swipe", idTag: "SOMEONE-ELSE" },
      { at: "5min", do: "swipe", idTag: "SOMEONE-ELSE" },
      { at: "301s", do: "plug" },
      { at: "6min", do: "unplug" },
    ],
    duration: "7min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }, { status: "Accepted" }]);
  const s = r.of("StatusNotification").filter((c) => c.payload["connectorId"] === 1);
  const afterBoot = s.filter((c) => c.t >= 32_000);
  t.is(afterBoot[0]!.payload["status"], "Reserved", "restored after the reboot");
  const freed = afterBoot.find((c) => c.payload["status"] === "Available")!;
  t.true(freed.t >= 200_000 && freed.t < 201_000, `expired at ${freed.t}`);
  // SOMEONE-ELSE could not use it while reserved, but could after the expiry.
  t.deepEqual(r.of("StartTransaction").map((c) => [c.payload["idTag"], c.payload["reservationId"]]), [["SOMEONE-ELSE", undefined]]);
  t.true(r.of("StartTransaction")[0]!.t > 300_000);
});

test("ReserveNow with a malformed expiryDate gets a CALLERROR and changes nothing", async (t) => {
  const r = await runAuth(t, {
    events: [csms("10s", "ReserveNow", { connectorId: 1, expiryDate: "tomorrow", idTag: "X", reservationId: 1 }), csms("11s", "CancelReservation", { reservationId: 1 })],
    duration: "20s",
  });
  t.truthy(r.answers[0]!.error);
  t.deepEqual(r.answers[1]!.result, { status: "Rejected" });
  t.false(r.statuses.includes("Reserved"));
});
