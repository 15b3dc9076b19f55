import test from "ava";
import { BOOT, EPOCH, rig, ScriptedCp, type Rig } from "./harness.js";

async function withRig<T>(opts: Parameters<typeof rig>[0], body: (r: Rig) => Promise<T>): Promise<T> {
  const r = await rig(opts);
  try {
    return await body(r);
  } finally {
    await r.teardown();
  }
}

async function bootRun() {
  return withRig({}, async (r) => {
    let cp!: ScriptedCp;
    r.scheduler.at(1000, () => {
      cp = new ScriptedCp(r, "CP1");
      cp.onOpen = () => cp.send([2, "b1", "BootNotification", BOOT]);
    });
    r.scheduler.at(5000, () => cp.send([2, "h1", "Heartbeat", {}]));
    await r.scheduler.run(10_000);
    return {
      events: cp.events,
      csmsFrames: r.csms.frames,
      trace: r.frames,
      failures: r.csms.validationFailures,
      holdTimeouts: r.scheduler.stats.holdTimeouts,
      now: r.scheduler.now,
    };
  });
}

test("BootNotification CALLRESULT arrives at the same virtual time in every run", async (t) => {
  const first = await bootRun();
  t.deepEqual(first.events, [
    { t: 1000, ev: "open", protocol: "ocpp1.6", bytes: 65536 },
    { t: 1000, ev: "message", binary: false, frame: [3, "b1", { status: "Accepted", currentTime: new Date(EPOCH + 1000).toISOString(), interval: 300 }] },
    { t: 5000, ev: "message", binary: false, frame: [3, "h1", { currentTime: new Date(EPOCH + 5000).toISOString() }] },
  ]);
  t.deepEqual(
    first.csmsFrames.map((f) => [f.t, f.dir, (f.frame as unknown[])[1]]),
    [
      [EPOCH + 1000, "in", "b1"],
      [EPOCH + 1000, "out", "b1"],
      [EPOCH + 5000, "in", "h1"],
      [EPOCH + 5000, "out", "h1"],
    ],
  );
  t.deepEqual(
    first.trace.map(([time, dir]) => [time, dir]),
    [
      [1000, "out"],
      [1000, "in"],
      [5000, "out"],
      [5000, "in"],
    ],
  );
  t.deepEqual(first.failures, []);
  t.is(first.holdTimeouts, 0);
  t.is(first.now, 10_000);
  for (let i = 0; i < 2; i++) t.deepEqual(await bootRun(), first);
});

test("strict validation: a malformed CALL is recorded and answered with the 1.6 CALLERROR spelling", async (t) => {
  await withRig({}, async (r) => {
    let cp!: ScriptedCp;
    r.scheduler.at(0, () => {
      cp = new ScriptedCp(r, "CP1");
      cp.onOpen = () => {
        cp.send([2, "m1", "BootNotification", { chargePointVendor: "Acme" }]); // chargePointModel missing
      };
    });
    r.scheduler.at(10, () => cp.send([2, "m2", "StatusNotification", { connectorId: "one", errorCode: "NoError", status: "Available" }]));
    r.scheduler.at(20, () => cp.send([2, 42, "Heartbeat", {}])); // message id must be a string
    r.scheduler.at(30, () => cp.send([2, "m4", "NoSuchAction", {}]));
    await r.scheduler.run(100);
    const answers = cp.messages() as unknown[][];
    t.deepEqual(
      answers.map((a) => [a[0], a[1], a[2]]),
      [
        [4, "m1", "OccurenceConstraintViolation"],
        [4, "m2", "TypeConstraintViolation"],
        [4, "-1", "FormationViolation"],
        [4, "m4", "NotImplemented"],
      ],
    );
    t.deepEqual(
      r.csms.validationFailures.map((f) => [f.t - EPOCH, f.dir, f.kind, f.messageId, f.action, f.errorCode]),
      [
        [0, "in", "strict", "m1", "BootNotification", "OccurenceConstraintViolation"],
        [10, "in", "strict", "m2", "StatusNotification", "TypeConstraintViolation"],
        [20, "in", "bad-message", undefined, undefined, "RpcFrameworkError"],
      ],
    );
    t.is(r.scheduler.stats.holdTimeouts, 0);
  });
});

test("errorCodeSpelling 'ocpp-rpc' keeps ocpp-rpc's OccurrenceConstraintViolation", async (t) => {
  await withRig({ csms: { errorCodeSpelling: "ocpp-rpc" } }, async (r) => {
    let cp!: ScriptedCp;
    r.scheduler.at(0, () => {
      cp = new ScriptedCp(r, "CP1");
      cp.onOpen = () => cp.send([2, "m1", "BootNotification", { chargePointVendor: "Acme" }]);
    });
    await r.scheduler.run(100);
    t.deepEqual((cp.messages()[0] as unknown[]).slice(0, 3), [4, "m1", "OccurrenceConstraintViolation"]);
  });
});

test("CSMS-initiated CALL: deterministic id, answered at the same virtual instant", async (t) => {
  await withRig({}, async (r) => {
    let cp!: ScriptedCp;
    const results: unknown[] = [];
    r.scheduler.at(0, () => {
      cp = new ScriptedCp(r, "CP1");
      cp.onOpen = () => cp.send([2, "b1", "BootNotification", BOOT]);
      cp.reply = (action) => (action === "RemoteStartTransaction" ? { status: "Accepted" } : action === "ChangeAvailability" ? { status: "Maybe" } : undefined);
    });
    r.scheduler.at(2000, () => {
      void r.csms.call("CP1", "RemoteStartTransaction", { connectorId: 1, idTag: "TAG1" }).then(
        (v) => results.push([r.scheduler.now, v]),
        (e: Error) => results.push([r.scheduler.now, e.message]),
      );
    });
    r.scheduler.at(3000, () => {
      void r.csms.call("CP1", "ChangeAvailability", { connectorId: 0, type: "Inoperative" }).then(
        (v) => results.push([r.scheduler.now, v]),
        (e: Error) => results.push([r.scheduler.now, "rejected"]),
      );
    });
    await r.scheduler.run(5000);
    const calls = cp.events.filter((e) => e.ev === "message" && (e.frame as unknown[])[0] === 2);
    t.deepEqual(
      calls.map((e) => [e.t, (e as { frame: unknown[] }).frame]),
      [
        [2000, [2, "csms-1", "RemoteStartTransaction", { connectorId: 1, idTag: "TAG1" }]],
        [3000, [2, "csms-2", "ChangeAvailability", { connectorId: 0, type: "Inoperative" }]],
      ],
    );
    t.deepEqual(results, [
      [2000, { status: "Accepted" }],
      [3000, "rejected"],
    ]);
    // The invalid CALLRESULT ("Maybe") is a strict-mode failure of the charge point.
    t.deepEqual(
      r.csms.validationFailures.map((f) => [f.t - EPOCH, f.dir, f.messageId, f.action]),
      [[3000, "in", "csms-2", "ChangeAvailability"]],
    );
    t.is(r.scheduler.stats.holdTimeouts, 0);
    // An invalid request is refused before it is sent.
    await t.throwsAsync(r.csms.call("CP1", "RemoteStartTransaction", { idTag: 5 }));
    await t.throwsAsync(r.csms.call("NOPE", "Reset", { type: "Soft" }), { message: /not connected/ });
  });
});

test("subprotocol negotiation follows the server's preference; no common protocol is an error", async (t) => {
  await withRig({ csms: { protocols: ["ocpp2.0.1", "ocpp1.6"] } }, async (r) => {
    let a!: ScriptedCp;
    let b!: ScriptedCp;
    let c!: ScriptedCp;
    r.scheduler.at(0, () => {
      a = new ScriptedCp(r, "A", { protocols: ["ocpp1.6", "ocpp2.0.1"] });
      b = new ScriptedCp(r, "B", { protocols: ["ocpp1.6"] });
      c = new ScriptedCp(r, "C", { protocols: ["ocpp1.2"] });
    });
    await r.scheduler.run(100);
    t.is(a.ws.protocol, "ocpp2.0.1");
    t.like(a.events[0], { ev: "open", protocol: "ocpp2.0.1" });
    t.is(b.ws.protocol, "ocpp1.6");
    t.deepEqual(
      c.events.map((e) => e.ev),
      ["error"],
    );
    t.is(c.ws.protocol, "");
    t.deepEqual(r.csms.protocolOf("A"), "ocpp2.0.1");
  });
});

test("HTTP Basic auth: accepted with the right password, 401 otherwise", async (t) => {
  await withRig({ csms: { basicAuth: { CP1: "s3cret", CP2: "other" } } }, async (r) => {
    const basic = (user: string, pass: string) => ({ Authorization: "Basic " + Buffer.from(`${user}:${pass}`).toString("base64") });
    const cps: ScriptedCp[] = [];
    r.scheduler.at(0, () => {
      cps.push(new ScriptedCp(r, "CP1", { headers: basic("CP1", "s3cret") }));
      cps.push(new ScriptedCp(r, "CP2", { headers: basic("CP2", "wrong") }));
      cps.push(new ScriptedCp(r, "CP3"));
    });
    await r.scheduler.run(100);
    t.deepEqual(
      cps.map((cp) => cp.events.map((e) => (e.ev === "error" ? e.code : e.ev))),
      [["open"], ["EHTTP401"], ["EHTTP401"]],
    );
    t.true(r.csms.isConnected("CP1"));
    t.false(r.csms.isConnected("CP2"));
  });
});

test("misuse throws synchronously", async (t) => {
  await withRig({}, async (r) => {
    const { WebSocketClient } = r.net;
    t.throws(() => new WebSocketClient(null as never), { instanceOf: TypeError });
    t.throws(() => new WebSocketClient({ url: "http://x/" }), { instanceOf: RangeError });
    t.throws(() => new WebSocketClient({ url: 5 as never }), { instanceOf: TypeError });
    t.throws(() => new WebSocketClient({ url: r.csms.url + "/X", onReadable: 3 as never }), { instanceOf: TypeError });
    t.throws(() => new WebSocketClient({ url: r.csms.url + "/X", protocols: "ocpp1.6" as never }), { instanceOf: TypeError });
    t.throws(() => new WebSocketClient({ url: "wss://127.0.0.1/x", secure: { key: "nope" } }), { instanceOf: RangeError });
    let cp!: ScriptedCp;
    const thrown: string[] = [];
    const attempt = (label: string, f: () => unknown) => {
      try {
        f();
      } catch (e) {
        thrown.push(`${label}:${(e as Error).name}`);
      }
    };
    r.scheduler.at(0, () => {
      cp = new ScriptedCp(r, "CP1");
      attempt("write-before-open", () => cp.send([2, "x", "Heartbeat", {}]));
      attempt("ping-before-open", () => cp.ws.ping());
      attempt("read-none", () => cp.ws.read());
      cp.onOpen = () => {
        attempt("string-data", () => cp.ws.write("text" as never));
        attempt("bad-binary", () => cp.ws.write(new Uint8Array(1), { binary: "yes" as never }));
        cp.ws.close();
        cp.ws.close(); // idempotent
        attempt("write-after-close", () => cp.send([2, "y", "Heartbeat", {}]));
        attempt("read-after-close", () => cp.ws.read());
        attempt("ping-after-close", () => cp.ws.ping());
      };
    });
    await r.scheduler.run(100);
    t.deepEqual(thrown, [
      "write-before-open:Error",
      "ping-before-open:Error",
      "read-none:Error",
      "string-data:TypeError",
      "bad-binary:TypeError",
      "write-after-close:Error",
      "read-after-close:Error",
      "ping-after-close:Error",
    ]);
    t.deepEqual(
      cp.events.map((e) => e.ev),
      ["open"],
    );
  });
});

test("ping/pong and a CSMS-side close arrive at deterministic virtual times", async (t) => {
  await withRig({}, async (r) => {
    let cp!: ScriptedCp;
    r.scheduler.at(0, () => {
      cp = new ScriptedCp(r, "CP1");
    });
    r.scheduler.at(100, () => cp.ws.ping());
    r.scheduler.at(200, () => {
      void r.csms.disconnect("CP1", 4000, "bye");
    });
    await r.scheduler.run(1000);
    t.deepEqual(cp.events, [
      { t: 0, ev: "open", protocol: "ocpp1.6", bytes: 65536 },
      { t: 100, ev: "pong" },
      { t: 200, ev: "close", code: 4000, reason: "bye" },
    ]);
    t.deepEqual(
      r.csms.connections.map((c) => [c.t - EPOCH, c.event]),
      [
        [0, "connect"],
        [200, "disconnect"],
      ],
    );
    t.is(r.scheduler.stats.holdTimeouts, 0);
  });
});

test("blackhole: nothing arrives, the socket stays open; traffic resumes when it lifts", async (t) => {
  await withRig({}, async (r) => {
    let cp!: ScriptedCp;
    r.scheduler.at(0, () => {
      cp = new ScriptedCp(r, "CP1");
      cp.onOpen = () => cp.send([2, "b1", "BootNotification", BOOT]);
    });
    r.scheduler.at(1000, () => r.net.faults.blackhole(true));
    r.scheduler.at(2000, () => {
      cp.send([2, "h1", "Heartbeat", {}]);
      cp.ws.ping();
    });
    r.scheduler.at(3000, () => {
      void r.csms.disconnect("CP1", 4001, "ignored");
    });
    await r.scheduler.run(60_000);
    t.deepEqual(
      cp.events.map((e) => [e.t, e.ev]),
      [
        [0, "open"],
        [0, "message"],
      ],
    );
    t.is(r.scheduler.now, 60_000);
    t.true(r.net.faults.blackholed);
    // The heartbeat never reached the CSMS.
    t.false(r.csms.frames.some((f) => (f.frame as unknown[])[2] === "Heartbeat"));
    // A new connection made during the blackhole waits; after it lifts it opens and traffic flows.
    let cp2!: ScriptedCp;
    r.scheduler.at(61_000, () => {
      cp2 = new ScriptedCp(r, "CP2");
      cp2.onOpen = () => cp2.send([2, "b2", "BootNotification", BOOT]);
    });
    r.scheduler.at(62_000, () => r.net.faults.blackhole(false));
    await r.scheduler.run(63_000);
    t.deepEqual(
      cp2.events.map((e) => [e.t, e.ev]),
      [
        [62_000, "open"],
        [62_000, "message"],
      ],
    );
    // CP1's connection was closed by the CSMS during the blackhole: reported once the blackhole lifts.
    t.deepEqual(cp.events.slice(2).map((e) => [e.t, e.ev === "error" ? e.code : e.ev]), [[62_000, "ECONNRESET"]]);
    t.is(r.scheduler.stats.holdTimeouts, 0);
  });
});

test("dropAll posts onError to every live connection; refuse fails new ones", async (t) => {
  await withRig({}, async (r) => {
    const cps: ScriptedCp[] = [];
    r.scheduler.at(0, () => {
      cps.push(new ScriptedCp(r, "CP1"), new ScriptedCp(r, "CP2"));
    });
    r.scheduler.at(500, () => {
      r.net.faults.dropAll();
      r.net.faults.refuse(true);
      cps.push(new ScriptedCp(r, "CP3"));
    });
    r.scheduler.at(600, () => {
      cps[0]!.send([2, "late", "Heartbeat", {}]); // dead, not yet... already told: dropped silently
    });
    r.scheduler.at(700, () => {
      r.net.faults.refuse(false);
      cps.push(new ScriptedCp(r, "CP4"));
    });
    await r.scheduler.run(1000);
    t.deepEqual(
      cps.map((cp) => cp.events.map((e) => [e.t, e.ev === "error" ? e.code : e.ev])),
      [
        [
          [0, "open"],
          [500, "ECONNRESET"],
        ],
        [
          [0, "open"],
          [500, "ECONNRESET"],
        ],
        [[500, "ECONNREFUSED"]],
        [[700, "open"]],
      ],
    );
    t.is(r.net.liveConnections, 1);
  });
});
