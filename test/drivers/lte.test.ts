import test from "ava";
import type { HalError, TCP } from "../../hal/index.js";
import { csqToDbm, dbmToQuality } from "../../hal/drivers/lte/bg95.js";
import { modemRig, tcpServer } from "./lte-harness.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

test("the driver resets the modem, configures it, registers, activates the PDP context and reads the signal", async (t) => {
  const rig = await modemRig();
  try {
    rig.driver.start();
    await rig.runUntil(() => rig.driver.state === "up");
    t.is(rig.driver.state, "up");
    const info = rig.driver.info;
    t.is(info.state, "up");
    t.is(info.rssi, -113 + 2 * 20);
    t.is(info.quality, dbmToQuality(-73));
    const states = rig.log.filter(([, k, f]) => k === "modem" && f["event"] === "state").map(([, , f]) => f["to"]);
    t.deepEqual(states, ["resetting", "booting", "configuring", "searching", "attaching", "up"]);
    t.true(rig.scheduler.now >= rig.driver.timing.resetPulseMs, "RESET_N was held for the pulse time");
    t.is(rig.model.stats.errors, 0);
  } finally {
    await rig.teardown();
  }
});

test("+CSQ maps to dBm and quality (3GPP TS 27.007)", (t) => {
  t.is(csqToDbm(0), -113);
  t.is(csqToDbm(31), -51);
  t.is(csqToDbm(99), null);
  t.is(dbmToQuality(-113), 0);
  t.is(dbmToQuality(-51), 100);
});

/** Opens a socket over the modem to a peer; collects what it sees. */
function open(Tcp: new (o: import("../../hal/index.js").TCPOptions) => TCP, port: number) {
  const seen = { open: false, data: "", errors: [] as HalError[] };
  const sock: TCP = new Tcp({
    host: "127.0.0.1",
    port,
    onWritable() {
      seen.open = true;
    },
    onReadable() {
      seen.data += dec.decode(this.read());
    },
    onError(e) {
      seen.errors.push(e);
    },
  });
  return { sock, seen };
}

test("a TCP socket carried by the modem: open, send, receive binary-safe data, peer close is EOF", async (t) => {
  const rig = await modemRig();
  // The peer answers with bytes that look like AT result codes (AT+QIRD must take them verbatim), then closes.
  // Its close is not caused by our traffic, so the test holds virtual time until it has reached us.
  const server = await tcpServer((s) => {
    s.on("data", (d) => {
      const release = rig.scheduler.hold("peer close");
      s.write(Buffer.concat([Buffer.from("\r\nOK\r\n+QIURC: \"closed\",0\r\n"), d]));
      s.end();
      setTimeout(release, 100);
    });
  });
  try {
    rig.driver.start();
    await rig.runUntil(() => rig.driver.state === "up");
    const { sock, seen } = open(rig.driver.TCP, server.port);
    await rig.runUntil(() => seen.open, 60_000);
    t.true(seen.open);
    sock.write(enc.encode("hello over LTE"));
    await rig.runUntil(() => seen.errors.length > 0, 60_000);
    t.is(seen.data, "\r\nOK\r\n+QIURC: \"closed\",0\r\nhello over LTE");
    t.deepEqual(seen.errors.map((e) => e.code), ["EOF"]);
    t.true(rig.driver.stats.sendCommands >= 1 && rig.driver.stats.readCommands >= 1);
    sock.close();
  } finally {
    await rig.teardown();
    await server.close();
  }
});

test("a refused connection is +QIOPEN: <id>,566 and onError ECONNREFUSED; the connectID is free again", async (t) => {
  const server = await tcpServer(() => undefined);
  const port = server.port;
  await server.close();
  const rig = await modemRig();
  try {
    rig.driver.start();
    await rig.runUntil(() => rig.driver.state === "up");
    const a = open(rig.driver.TCP, port);
    await rig.runUntil(() => a.seen.errors.length > 0, 60_000);
    t.deepEqual(a.seen.errors.map((e) => e.code), ["ECONNREFUSED"]);
    t.regex(a.seen.errors[0]!.message, /566/);
    a.sock.close();
    const b = open(rig.driver.TCP, port);
    await rig.runUntil(() => b.seen.errors.length > 0, 60_000);
    t.deepEqual(b.seen.errors.map((e) => e.code), ["ECONNREFUSED"], "not 563: the id was released");
  } finally {
    await rig.teardown();
  }
});

test("a stalled modem is detected by a command timeout, reset through RESET_N and recovered; its sockets fail", async (t) => {
  const server = await tcpServer(() => undefined);
  const rig = await modemRig();
  try {
    rig.driver.start();
    await rig.runUntil(() => rig.driver.state === "up");
    const { seen } = open(rig.driver.TCP, server.port);
    await rig.runUntil(() => seen.open, 60_000);
    rig.model.stall();
    const stalledAt = rig.scheduler.now;
    await rig.runUntil(() => seen.errors.length > 0, 120_000);
    t.deepEqual(seen.errors.map((e) => e.code), ["ETIMEDOUT"]);
    t.is(rig.driver.stats.stalls, 1);
    t.is(rig.driver.stats.resets, 1);
    t.is(rig.model.stats.resets, 2, "the modem saw two RESET_N pulses: power-up and recovery");
    // Detected within one poll period plus the command timeout.
    t.true(rig.scheduler.now - stalledAt <= rig.driver.timing.pollMs + rig.driver.timing.commandMs);
    await rig.runUntil(() => rig.driver.state === "up", 120_000);
    t.is(rig.driver.state, "up");
    const again = open(rig.driver.TCP, server.port);
    await rig.runUntil(() => again.seen.open, 60_000);
    t.true(again.seen.open, "sockets work after the recovery");
  } finally {
    await rig.teardown();
    await server.close();
  }
});

test("registration lost: +CEREG URC fails the sockets (ENETDOWN), the link goes down, and comes back with coverage", async (t) => {
  const server = await tcpServer(() => undefined);
  const rig = await modemRig();
  try {
    rig.driver.start();
    await rig.runUntil(() => rig.driver.state === "up");
    const { sock, seen } = open(rig.driver.TCP, server.port);
    await rig.runUntil(() => seen.open, 60_000);
    rig.model.setCoverage(false);
    await rig.runUntil(() => seen.errors.length > 0, 60_000);
    t.deepEqual(seen.errors.map((e) => e.code), ["ENETDOWN"]);
    t.not(rig.driver.info.state, "up");
    t.is(rig.driver.stats.registrationsLost, 1);
    const sends = rig.driver.stats.sendCommands;
    sock.write(enc.encode("x")); // after onError: dropped, as on the simulated network
    t.is(rig.driver.stats.sendCommands, sends);
    // No coverage: new sockets fail at once.
    const early = open(rig.driver.TCP, server.port);
    await rig.runUntil(() => early.seen.errors.length > 0, 1_000);
    t.deepEqual(early.seen.errors.map((e) => e.code), ["ENETDOWN"]);
    rig.model.setCoverage(true);
    await rig.runUntil(() => rig.driver.state === "up", 120_000);
    t.is(rig.driver.state, "up");
    t.is(rig.driver.stats.resets, 0, "no reset was needed");
  } finally {
    await rig.teardown();
    await server.close();
  }
});

test("no SIM: AT+CPIN? answers +CME ERROR: 10 and the driver reports it and retries, never up", async (t) => {
  const rig = await modemRig();
  try {
    rig.model.setSim(false);
    rig.driver.start();
    await rig.runUntil(() => false, 60_000);
    t.is(rig.driver.state, "configuring");
    t.is(rig.driver.reason, "SIM not inserted");
    t.true(rig.log.filter(([, k, f]) => k === "modem" && f["event"] === "config-failed").length >= 2, "retried");
  } finally {
    await rig.teardown();
  }
});

test("a modem that never answers after reset is reset again (no answer within bootTimeoutMs)", async (t) => {
  const rig = await modemRig({ sim: false }); // the supply never comes: nothing answers
  try {
    rig.driver.start();
    await rig.runUntil(() => rig.driver.stats.resets >= 2, 120_000);
    t.true(rig.driver.stats.resets >= 2);
    t.not(rig.driver.state, "up");
  } finally {
    await rig.teardown();
  }
});

test("bad arguments throw synchronously (ECMA-419)", async (t) => {
  const rig = await modemRig();
  try {
    t.throws(() => new rig.driver.TCP({ host: "", port: 80 }), { instanceOf: TypeError });
    t.throws(() => new rig.driver.TCP({ host: "a", port: 0 }), { instanceOf: RangeError });
    t.throws(() => new rig.driver.TCP({ host: 'a"b', port: 80 }), { instanceOf: RangeError });
    t.throws(() => new rig.driver.TCP({ host: "a", port: 443, secure: { certificate: "x", key: "k" } }), { instanceOf: RangeError });
  } finally {
    await rig.teardown();
  }
});
