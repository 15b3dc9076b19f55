/** TriggerMessage (RemoteTrigger profile) against the strict embedded CSMS. */
import test from "ava";
import { runScenario } from "./core-harness.js";

const trig = (at: string, requestedMessage: string, connectorId?: number) => ({
  at,
  do: "csms",
  action: "TriggerMessage",
  payload: connectorId === undefined ? { requestedMessage } : { requestedMessage, connectorId },
});

test("TC_054_CS Trigger Message: every triggerable message, with and without connectorId, sent after the .conf", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "CARD1" },
      trig("20s", "MeterValues", 1),
      trig("21s", "Heartbeat"),
      trig("22s", "StatusNotification", 1),
      trig("23s", "StatusNotification"),
      trig("24s", "DiagnosticsStatusNotification"),
      trig("25s", "FirmwareStatusNotification"),
      trig("26s", "BootNotification"),
      trig("27s", "MeterValues"),
    ],
  });
  t.deepEqual(run.answers("TriggerMessage"), Array(8).fill({ status: "Accepted" }));
  const after = (action: string, from: number) => run.out(action).filter((o) => o.t >= from && o.t < from + 1000);
  const mv = after("MeterValues", 20_000);
  t.is(mv.length, 1);
  t.is(mv[0]!.payload["transactionId"], 1);
  t.is(((mv[0]!.payload["meterValue"] as Array<{ sampledValue: Array<{ context: string }> }>)[0]!.sampledValue[0]!.context), "Trigger");
  t.is(after("Heartbeat", 21_000).length, 1);
  t.deepEqual(after("StatusNotification", 22_000).map((s) => s.payload["connectorId"]), [1]);
  t.deepEqual(after("StatusNotification", 23_000).map((s) => s.payload["connectorId"]), [0, 1]);
  t.is(after("DiagnosticsStatusNotification", 24_000).length, 1);
  t.is(after("FirmwareStatusNotification", 25_000).length, 1);
  t.is(after("BootNotification", 26_000).length, 1);
  t.is(after("MeterValues", 27_000).length, 1);
  // The TriggerMessage.conf went out before the triggered message.
  const frames = run.trace.filter((e) => e.kind === "ocpp" && e["dir"] === "out" && e.t >= 21_000 && e.t < 22_000).map((e) => (e["frame"] as unknown[])[0]);
  t.deepEqual(frames.slice(0, 2), [3, 2]);
});

test("TC_055_CS Trigger Message - Rejected: a connector that does not exist", async (t) => {
  const run = await runScenario(t, { duration: "20s", events: [trig("5s", "MeterValues", 2), trig("6s", "StatusNotification", 5)] });
  t.deepEqual(run.answers("TriggerMessage"), [{ status: "Rejected" }, { status: "Rejected" }]);
  t.is(run.out("MeterValues").length, 0);
});
