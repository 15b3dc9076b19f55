/** FirmwareManagement: UpdateFirmware and GetDiagnostics end to end against the strict embedded CSMS (OCA TC_044, TC_045). */
import { createHash } from "node:crypto";
import test from "ava";
import { start } from "../../firmware/main.js";
import { makeFirmwareImage } from "../../simulator/core/devices.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

const sha = (d: Uint8Array) => {
  const b = createHash("sha256").update(d).digest();
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

function image(size: number, seed: number): Buffer {
  const payload = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) payload[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return Buffer.from(makeFirmwareImage(payload, sha));
}

interface Run {
  sim: Simulation;
  statuses: Array<{ t: number; status: string }>;
}

/** Runs a scenario; `at` schedules CSMS calls built once the file server's URL is known. */
async function run(
  events: string,
  duration: string,
  calls: Array<{ at: number; action: string; payload: (sim: Simulation) => Record<string, unknown> }>,
  prepare: (sim: Simulation) => void,
  notification: string,
): Promise<Run> {
  const sim = await Simulation.create({
    scenario: parseScenario(`{ "name": "fw", "seed": 7, "duration": "${duration}", "config": { "freeCharging": false }, "events": [${events}] }`),
  });
  prepare(sim);
  for (const c of calls) {
    sim.scheduler.at(c.at, () => {
      void sim.csms!.call("CP-SIM-0001", c.action, c.payload(sim)).then(
        (r) => sim.emit("test-csms", { action: c.action, result: r as Record<string, unknown> }),
        (e: unknown) => sim.emit("test-csms", { action: c.action, error: String(e) }),
      );
    });
  }
  await sim.run((hal, cfg) => start(hal, cfg));
  const statuses: Run["statuses"] = [];
  for (const f of sim.csms!.frames) {
    const fr = f.frame as unknown[];
    if (f.dir === "in" && fr[0] === 2 && fr[2] === notification) statuses.push({ t: f.t - sim.scenario.rtcMs, status: (fr[3] as { status: string }).status });
  }
  return { sim, statuses };
}

const iso = (sim: Simulation, ms: number) => new Date(sim.scenario.rtcMs + ms).toISOString();

test("TC_044_1_CS Firmware Update - Download and Install", async (t) => {
  const img = image(200_000, 1);
  const { sim, statuses } = await run(
    "",
    "3min",
    [{ at: 30_000, action: "UpdateFirmware", payload: (s) => ({ location: `${s.files!.url}/fw/v2.bin`, retrieveDate: iso(s, 40_000) }) }],
    (s) => s.files!.files.set("/fw/v2.bin", img),
    "FirmwareStatusNotification",
  );
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(statuses.map((s) => s.status), ["Downloading", "Downloaded", "Installing", "Installed"]);
    t.true(statuses[0]!.t >= 40_000, "not before retrieveDate");
    t.is(sim.firmwareSlots.installed.length, 1);
    t.is(sim.firmwareSlots.running, createHash("sha256").update(img.subarray(40)).digest("hex"));
    const boots = sim.trace.events.filter((e) => e.kind === "sim" && e["event"] === "boot");
    t.is(boots.length, 2);
    t.is(boots[1]!["reason"], "software");
    // Installed comes after the new boot's BootNotification, and the security event says so.
    const cps = sim.csms!.frames.filter((f) => f.dir === "in" && (f.frame as unknown[])[0] === 2).map((f) => (f.frame as unknown[])[2] as string);
    t.true(cps.lastIndexOf("BootNotification") < cps.lastIndexOf("FirmwareStatusNotification"));
    const events = sim.csms!.frames.filter((f) => f.dir === "in" && (f.frame as unknown[])[2] === "SecurityEventNotification").map((f) => ((f.frame as unknown[])[3] as { type: string }).type);
    t.true(events.includes("FirmwareUpdated"), JSON.stringify(events));
    t.deepEqual(sim.files!.requests.map((r) => `${r.method} ${r.path} ${r.status}`), ["GET /fw/v2.bin 200"]);
  } finally {
    await sim.close();
  }
});

test("TC_044_2_CS Firmware Update - Download Failed (retries, retryInterval)", async (t) => {
  const { sim, statuses } = await run(
    "",
    "3min",
    [{ at: 30_000, action: "UpdateFirmware", payload: (s) => ({ location: `${s.files!.url}/fw/missing.bin`, retrieveDate: iso(s, 0), retries: 2, retryInterval: 20 }) }],
    () => {},
    "FirmwareStatusNotification",
  );
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(statuses.map((s) => s.status), ["Downloading", "DownloadFailed"]);
    t.is(statuses[1]!.t - statuses[0]!.t, 40_000, "two retries 20 s apart");
    t.deepEqual(sim.files!.requests.map((r) => r.status), [404, 404, 404]);
    t.is(sim.firmwareSlots.installed.length, 0);
  } finally {
    await sim.close();
  }
});

test("TC_044_3_CS Firmware Update - Installation Failed (corrupted image)", async (t) => {
  const img = image(50_000, 2);
  img[1000] = img[1000]! ^ 0x40; // one bit flipped in the payload: the SHA-256 in the header no longer matches
  const { sim, statuses } = await run(
    "",
    "2min",
    [{ at: 30_000, action: "UpdateFirmware", payload: (s) => ({ location: `${s.files!.url}/fw/bad.bin`, retrieveDate: iso(s, 0) }) }],
    (s) => s.files!.files.set("/fw/bad.bin", img),
    "FirmwareStatusNotification",
  );
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(statuses.map((s) => s.status), ["Downloading", "Downloaded", "Installing", "InstallationFailed"]);
    t.is(sim.firmwareSlots.stats.rejected, 1);
    t.is(sim.firmwareSlots.installed.length, 0);
    t.is(sim.trace.events.filter((e) => e.kind === "sim" && e["event"] === "boot").length, 1, "no restart");
  } finally {
    await sim.close();
  }
});

test("firmware update: installation waits for the running transaction to end", async (t) => {
  const img = image(10_000, 3);
  const { sim, statuses } = await run(
    `{ "at": "5s", "do": "plug" }, { "at": "8s", "do": "swipe", "idTag": "CARD-1" }, { "at": "3min", "do": "unplug" }`,
    "5min",
    [{ at: 60_000, action: "UpdateFirmware", payload: (s) => ({ location: `${s.files!.url}/fw/v3.bin`, retrieveDate: iso(s, 0) }) }],
    (s) => s.files!.files.set("/fw/v3.bin", img),
    "FirmwareStatusNotification",
  );
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(statuses.map((s) => s.status), ["Downloading", "Downloaded", "Installing", "Installed"]);
    t.true(statuses[1]!.t < 70_000);
    const stop = sim.csms!.frames.find((f) => f.dir === "in" && (f.frame as unknown[])[2] === "StopTransaction")!;
    t.true(statuses[2]!.t >= stop.t - sim.scenario.rtcMs, "Installing only after StopTransaction");
    t.true(statuses[2]!.t >= 180_000);
    t.deepEqual(sim.trace.events.filter((e) => e.kind === "sim" && e["event"] === "firmware-error"), []);
  } finally {
    await sim.close();
  }
});

test("TC_045_1_CS Get Diagnostics: the RAM log is uploaded by HTTP PUT", async (t) => {
  let fileName = "";
  const { sim, statuses } = await run(
    `{ "at": "5s", "do": "plug" }`,
    "2min",
    [{ at: 60_000, action: "GetDiagnostics", payload: (s) => ({ location: `${s.files!.url}/upload/` }) }],
    () => {},
    "DiagnosticsStatusNotification",
  );
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    const answer = sim.trace.events.find((e) => e.kind === "test-csms" && e["action"] === "GetDiagnostics")!;
    fileName = (answer["result"] as { fileName: string }).fileName;
    t.regex(fileName, /^diag-CP-SIM-0001-\d+\.log$/);
    t.deepEqual(statuses.map((s) => s.status), ["Uploading", "Uploaded"]);
    t.is(sim.files!.uploads.length, 1);
    const up = sim.files!.uploads[0]!;
    t.is(up.method, "PUT");
    t.is(up.path, `/upload/${fileName}`);
    const lines = up.body.toString("utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    t.is((lines[0]!["diagnostics"] as { chargePointId: string }).chargePointId, "CP-SIM-0001");
    t.true(lines.some((l) => l["kind"] === "registration"), "the log ring holds the firmware's events");
  } finally {
    await sim.close();
  }
});

test("TC_045_2_CS Get Diagnostics - Upload Failed (server refuses, retries; ftp:// unsupported)", async (t) => {
  const { sim, statuses } = await run(
    "",
    "3min",
    [
      { at: 30_000, action: "GetDiagnostics", payload: (s) => ({ location: `${s.files!.url}/denied/`, retries: 1, retryInterval: 15 }) },
      { at: 120_000, action: "GetDiagnostics", payload: () => ({ location: "ftp://user:pass@127.0.0.1/diag/" }) },
    ],
    (s) => {
      s.files!.intercept = (method, path) => (path.startsWith("/denied/") ? 403 : undefined);
    },
    "DiagnosticsStatusNotification",
  );
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(statuses.map((s) => s.status), ["Uploading", "UploadFailed", "Uploading", "UploadFailed"]);
    t.is(sim.files!.requests.filter((r) => r.method === "PUT").length, 2, "one retry");
    t.is(sim.files!.uploads.length, 0);
  } finally {
    await sim.close();
  }
});
