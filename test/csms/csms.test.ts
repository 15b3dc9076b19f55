import test from "ava";
import { createRequire } from "node:module";
import { csmsError, EmbeddedCsms } from "../../simulator/csms/index.js";

const require = createRequire(import.meta.url);
interface Client {
  connect(): Promise<unknown>;
  call(method: string, params: unknown): Promise<any>;
  close(o?: unknown): Promise<unknown>;
}
const { RPCClient } = require("ocpp-rpc") as { RPCClient: new (o: Record<string, unknown>) => Client };

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

async function withCsms(options: Partial<Parameters<typeof EmbeddedCsms.start>[0]>, body: (csms: EmbeddedCsms, clock: { t: number }) => Promise<void>) {
  const clock = { t: T0 };
  const csms = await EmbeddedCsms.start({ clock: () => clock.t, ...options });
  try {
    await body(csms, clock);
  } finally {
    await csms.close();
  }
}

function client(csms: EmbeddedCsms, identity: string, extra: Record<string, unknown> = {}): Client {
  // strictMode on the client too: every CSMS answer is validated against the 1.6 schemas.
  return new RPCClient({ endpoint: csms.url, identity, protocols: ["ocpp1.6"], strictMode: true, reconnect: false, ...extra });
}

test("1.6 core: boot, authorize, sequential transactions, meter values, stop, statuses", async (t) => {
  await withCsms({ heartbeatInterval: 120 }, async (csms, clock) => {
    t.regex(csms.url, /^ws:\/\/127\.0\.0\.1:\d+\/ocpp$/);
    const cp = client(csms, "CP1");
    await cp.connect();
    t.deepEqual(await cp.call("BootNotification", { chargePointVendor: "Acme", chargePointModel: "W1" }), {
      status: "Accepted",
      currentTime: new Date(T0).toISOString(),
      interval: 120,
    });
    clock.t = T0 + 60_000;
    t.deepEqual(await cp.call("Heartbeat", {}), { currentTime: new Date(T0 + 60_000).toISOString() });
    t.deepEqual(await cp.call("Authorize", { idTag: "TAG1" }), { idTagInfo: { status: "Accepted" } });
    t.deepEqual(await cp.call("Authorize", { idTag: "BLOCKED-7" }), { idTagInfo: { status: "Blocked" } });
    const ts = new Date(T0).toISOString();
    const s1 = await cp.call("StartTransaction", { connectorId: 1, idTag: "TAG1", meterStart: 1000, timestamp: ts });
    const s2 = await cp.call("StartTransaction", { connectorId: 2, idTag: "BLOCKED-7", meterStart: 5, timestamp: ts });
    t.deepEqual(s1, { transactionId: 1, idTagInfo: { status: "Accepted" } });
    t.deepEqual(s2, { transactionId: 2, idTagInfo: { status: "Blocked" } });
    const mv = { connectorId: 1, transactionId: 1, meterValue: [{ timestamp: ts, sampledValue: [{ value: "1500", measurand: "Energy.Active.Import.Register", unit: "Wh" }] }] };
    t.deepEqual(await cp.call("MeterValues", mv), {});
    t.deepEqual(await cp.call("StopTransaction", { transactionId: 1, idTag: "TAG1", meterStop: 2000, timestamp: ts, reason: "Local" }), {
      idTagInfo: { status: "Accepted" },
    });
    t.deepEqual(await cp.call("StopTransaction", { transactionId: 2, meterStop: 6, timestamp: ts }), {});
    t.deepEqual(await cp.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Finishing" }), {});
    t.deepEqual(await cp.call("DataTransfer", { vendorId: "com.example" }), { status: "UnknownVendorId" });
    t.deepEqual(await cp.call("FirmwareStatusNotification", { status: "Idle" }), {});
    t.deepEqual(await cp.call("DiagnosticsStatusNotification", { status: "Idle" }), {});
    t.deepEqual(await cp.call("SecurityEventNotification", { type: "StartupOfTheDevice", timestamp: ts }), {});
    await t.throwsAsync(cp.call("Reset", { type: "Soft" }), { message: /Central System to Charge Point/ });

    const tx1 = csms.transactions.get(1)!;
    t.is(tx1.chargePointId, "CP1");
    t.is(tx1.meterStart, 1000);
    t.is(tx1.meterValues.length, 1);
    t.is(tx1.stop?.meterStop, 2000);
    t.is(tx1.startedAt, T0 + 60_000);
    t.is(csms.transactions.get(2)!.stop?.meterStop, 6);
    t.is(csms.statuses.get("CP1/1")?.status, "Finishing");
    t.deepEqual(csms.validationFailures, []);
    t.is(csms.frames.length, 2 * 15);
    t.true(csms.frames.every((f) => f.chargePointId === "CP1"));
    t.deepEqual(csms.frames[0], { chargePointId: "CP1", dir: "in", frame: csms.frames[0]!.frame, t: T0 });
    t.true(csms.isConnected("CP1"));
    await cp.close();
  });
});

test("boot status, authorize and the onCall hook are configurable", async (t) => {
  await withCsms(
    {
      bootStatus: (id) => (id === "NEW" ? "Pending" : "Rejected"),
      bootRetryInterval: 15,
      authorize: (tag) => (tag === "X" ? "Invalid" : "Expired"),
    },
    async (csms) => {
      csms.onCall = ({ action, payload }) => {
        if (action === "DataTransfer") return { status: "Accepted", data: JSON.stringify(payload) };
        if (action === "Heartbeat") throw csmsError("InternalError", "not today");
        return undefined;
      };
      const cp = client(csms, "NEW");
      await cp.connect();
      t.like(await cp.call("BootNotification", { chargePointVendor: "A", chargePointModel: "B" }), { status: "Pending", interval: 15 });
      t.deepEqual(await cp.call("Authorize", { idTag: "X" }), { idTagInfo: { status: "Invalid" } });
      t.deepEqual(await cp.call("Authorize", { idTag: "Y" }), { idTagInfo: { status: "Expired" } });
      t.like(await cp.call("DataTransfer", { vendorId: "v" }), { status: "Accepted" });
      await t.throwsAsync(cp.call("Heartbeat", {}), { message: /not today/ });
      await cp.close();
      t.deepEqual(csms.validationFailures, []);
    },
  );
});

test("an invalid answer from the onCall hook is a strict-mode failure answered with InternalError", async (t) => {
  await withCsms({}, async (csms) => {
    csms.onCall = ({ action }) => (action === "Heartbeat" ? { currentTime: "yesterday" } : undefined);
    const cp = client(csms, "CP1");
    await cp.connect();
    await t.throwsAsync(cp.call("Heartbeat", {}));
    t.deepEqual(
      csms.validationFailures.map((f) => [f.dir, f.kind, f.action]),
      [["out", "strict", "Heartbeat"]],
    );
    t.is((csms.frames.at(-1)!.frame as unknown[])[2], "InternalError");
    await cp.close();
  });
});

test("basic auth and endpoint checks reject the upgrade", async (t) => {
  await withCsms({ basicAuth: { CP1: "pw1" } }, async (csms) => {
    const ok = client(csms, "CP1", { password: "pw1" });
    await ok.connect();
    await ok.close();
    await t.throwsAsync(client(csms, "CP1", { password: "nope" }).connect(), { message: /Unauthorized/ });
    await t.throwsAsync(client(csms, "CP9", { password: "pw1" }).connect(), { message: /Unauthorized/ });
    await t.throwsAsync(client(csms, "CP1").connect(), { message: /Unauthorized/ });
    const wrongPath = new RPCClient({ endpoint: csms.url.replace("/ocpp", "/other"), identity: "CP1", password: "pw1", protocols: ["ocpp1.6"], reconnect: false });
    await t.throwsAsync(wrongPath.connect(), { message: /Not Found/i });
    t.deepEqual(
      csms.connections.map((c) => c.event),
      ["connect", "disconnect"],
    );
  });
});

test("start() validates its options", async (t) => {
  await t.throwsAsync(EmbeddedCsms.start({} as never), { instanceOf: TypeError });
  await t.throwsAsync(EmbeddedCsms.start({ clock: () => 0, host: "0.0.0.0" as never }), { instanceOf: RangeError });
  await t.throwsAsync(EmbeddedCsms.start({ clock: () => 0, protocols: ["ocpp9"] }), { instanceOf: RangeError });
});
