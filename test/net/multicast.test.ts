/**
 * The simulated link (simulator/net/link-local.ts, udp.ts): IPv6 multicast (ff02::1) and link-local unicast routed
 * among the network's own sockets, deterministically; TCP to a link-local address paired with its listener.
 */
import test from "ava";
import dgram from "node:dgram";
import type { HalError, Listener, ListenerSocket, TCP, UDP } from "../../hal/index.js";
import { createSimNetwork, type SimNetwork } from "../../simulator/net/index.js";
import { SimPlcInterface, canonicalIpv6, isLinkLocal, isMulticast6, linkLocalFromMac, splitZone } from "../../simulator/net/link-local.js";
import { Scheduler } from "../../simulator/scheduler.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A UDP port free on ::1 right now (the receivers of one test share it, SO_REUSEADDR). */
async function freePort(): Promise<number> {
  const s = dgram.createSocket("udp6");
  await new Promise<void>((r) => s.bind(0, "::1", r));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/**
 * Receivers: A and B joined ff02::1 on port P (bound "::"), C on P not joined, D joined on another port, E joined on P
 * but bound to ::1 (a unicast bind gets no multicast). The sender (bound fe80::a%plc0) sends two datagrams to
 * ff02::1%plc0:P; A answers each by unicast to the source. Returns the event log.
 */
async function multicastRun(port: number, other: number): Promise<{ log: unknown[]; holdTimeouts: number }> {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim: SimNetwork = createSimNetwork({ scheduler, expectsReply: (d) => typeof d !== "string" && new Uint8Array(d)[0] === 0x51 });
  const log: unknown[] = [];
  const receiver = (name: string, address: string, p: number, join: boolean): UDP => {
    const u: UDP = new sim.UDP({
      port: p,
      address,
      onReadable(n) {
        for (let d = this.read(); d !== undefined; d = this.read()) {
          const text = dec.decode(d.data);
          log.push([scheduler.now, name, n, text, d.address, typeof d.port === "number" && d.port > 0]);
          if (name === "A") this.write(enc.encode(`re:${text}`), d.address, d.port);
        }
      },
    });
    if (join) u.add!("ff02::1%plc0");
    return u;
  };
  const sockets: UDP[] = [];
  scheduler.at(10, () => {
    sockets.push(receiver("A", "::", port, true));
    sockets.push(receiver("B", "::", port, true));
    sockets.push(receiver("C", "::", port, false));
    sockets.push(receiver("D", "::", other, true));
    sockets.push(receiver("E", "::1", port, true));
  });
  let sender!: UDP;
  scheduler.at(20, () => {
    sender = new sim.UDP({
      port: 0,
      address: "fe80::a%plc0",
      onReadable() {
        for (let d = this.read(); d !== undefined; d = this.read()) log.push([scheduler.now, "sender", dec.decode(d.data), d.address]);
      },
    });
    // Written before the bind completed: routed once it has.
    sender.write(enc.encode("Q1"), "ff02::1%plc0", port);
  });
  scheduler.at(30, () => sender.write(enc.encode("Q2"), "ff02::1", port));
  scheduler.at(40, () => {
    sockets[1]!.remove!("ff02::1");
    sender.write(enc.encode("Q3"), "ff02::1", port);
  });
  await scheduler.run(100);
  for (const s of sockets) s.close();
  sender.close();
  sim.shutdown();
  return { log, holdTimeouts: scheduler.stats.holdTimeouts };
}

test("UDP multicast: one delivery per joined receiver on the port, none to the others; unicast answer to the link-local source", async (t) => {
  const port = await freePort();
  const other = await freePort();
  const a = await multicastRun(port, other);
  t.is(a.holdTimeouts, 0);
  t.deepEqual(a.log, [
    [20, "A", 1, "Q1", "fe80::a", true],
    [20, "B", 1, "Q1", "fe80::a", true],
    [20, "sender", "re:Q1", "::1"],
    [30, "A", 1, "Q2", "fe80::a", true],
    [30, "B", 1, "Q2", "fe80::a", true],
    [30, "sender", "re:Q2", "::1"],
    [40, "A", 1, "Q3", "fe80::a", true],
    [40, "sender", "re:Q3", "::1"],
  ]);
  for (let i = 0; i < 3; i++) t.deepEqual((await multicastRun(port, other)).log, a.log, `run ${i + 2} identical`);
});

test("UDP multicast: the request holds virtual time until the in-simulation answer; a member bound to a unicast address gets none", async (t) => {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim = createSimNetwork({ scheduler, expectsReply: (d) => typeof d !== "string" && new Uint8Array(d)[0] === 0x51 });
  const port = await freePort();
  const log: unknown[] = [];
  scheduler.at(0, () => {
    const server = new sim.UDP({
      port,
      address: "::",
      onReadable() {
        for (let d = this.read(); d !== undefined; d = this.read()) {
          log.push([scheduler.now, "server", dec.decode(d.data)]);
          this.write(enc.encode("answer"), d.address, d.port);
        }
      },
    });
    server.add!("ff02::1");
    const client = new sim.UDP({
      port,
      address: "fe80::2%plc0",
      onReadable() {
        for (let d = this.read(); d !== undefined; d = this.read()) log.push([scheduler.now, "client", dec.decode(d.data)]);
      },
    });
    client.add!("ff02::1");
    scheduler.at(5, () => {
      client.write(enc.encode("Question"), "ff02::1", port);
      // Held: this timer of the same instant runs only after the answer arrived.
      scheduler.after(0, () => log.push([scheduler.now, "timer"]));
    });
    scheduler.at(40, () => {
      server.close();
      client.close();
    });
  });
  await scheduler.run(50);
  t.is(scheduler.stats.holdTimeouts, 0);
  // The client joined on the same port but is bound to its link-local address: not its own request, only the answer.
  t.deepEqual(log, [
    [5, "server", "Question"],
    [5, "client", "answer"],
    [5, "timer"],
  ]);
  sim.shutdown();
});

test("UDP add/remove: only multicast groups of the socket's family; remove of a group not joined throws; closed throws", async (t) => {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim = createSimNetwork({ scheduler });
  let checked = false;
  scheduler.at(0, () => {
    const u6 = new sim.UDP({ address: "::" });
    t.throws(() => u6.add!("fe80::1"), { instanceOf: RangeError });
    t.throws(() => u6.add!("::1"), { instanceOf: RangeError });
    t.throws(() => u6.add!(5 as unknown as string), { instanceOf: TypeError });
    t.throws(() => u6.add!("239.1.2.3"), { instanceOf: Error });
    u6.add!("ff02::1%plc0");
    u6.remove!("FF02:0:0:0:0:0:0:1");
    t.throws(() => u6.remove!("ff02::1"), { instanceOf: Error });
    const u4 = new sim.UDP({});
    t.throws(() => u4.add!("ff02::1"), { instanceOf: Error });
    u4.add!("239.1.2.3");
    u4.close();
    t.throws(() => u4.add!("239.1.2.3"), { message: /closed/ });
    u6.close();
    checked = true;
  });
  await scheduler.run(10);
  t.true(checked);
  sim.shutdown();
});

test("link-local helpers: EUI-64 from a MAC, zones, the simulated PLC interface", (t) => {
  t.is(linkLocalFromMac(Uint8Array.from([0x02, 0x00, 0x00, 0xee, 0x00, 0x01])), "fe80::ff:feee:1");
  t.is(linkLocalFromMac(Uint8Array.from([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e])), "fe80::21a:2bff:fe3c:4d5e");
  t.deepEqual(splitZone("fe80::1%plc0"), { address: "fe80::1", zone: "plc0" });
  t.is(canonicalIpv6("FE80:0:0:0:0:0:0:1%2"), "fe80::1");
  t.is(canonicalIpv6("fe80::1%"), null);
  t.true(isLinkLocal("fe80::1%plc0"));
  t.false(isLinkLocal("::1"));
  t.true(isMulticast6("ff02::1"));
  t.false(isMulticast6("fe80::1"));
  const plc = new SimPlcInterface({ mac: Uint8Array.from([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]) });
  t.deepEqual(plc.info(), { name: "plc0", scopeId: 2, linkLocal: "fe80::21a:2bff:fe3c:4d5e" });
  plc.down();
  t.is(plc.info().linkLocal, null);
  t.throws(() => new SimPlcInterface({ mac: new Uint8Array(6), name: "bad name" }), { instanceOf: RangeError });
});

test("TCP to a link-local address (with its zone on the listener) is paired with the simulated listener", async (t) => {
  const run = async (): Promise<unknown[]> => {
    const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
    const sim = createSimNetwork({ scheduler });
    const log: unknown[] = [];
    let listener!: Listener;
    let client!: TCP;
    scheduler.at(0, () => {
      listener = new sim.Listener!({
        port: 0,
        address: "fe80::21a:2bff:fe3c:4d5e%plc0",
        onReadable() {
          const from = this.read() as ListenerSocket;
          new sim.TCP({
            from,
            port: 0,
            onReadable() {
              const text = dec.decode(this.read());
              log.push([scheduler.now, "server got", text]);
              this.write(enc.encode(text.toUpperCase()));
            },
          });
        },
        onError(e: HalError) {
          log.push([scheduler.now, "listener error", e.code]);
        },
      });
    });
    scheduler.at(10, () => {
      client = new sim.TCP({
        address: "fe80::21a:2bff:fe3c:4d5e",
        port: listener.port,
        onWritable() {
          if (!log.some((e) => (e as unknown[])[1] === "open")) log.push([scheduler.now, "open"]);
        },
        onReadable() {
          log.push([scheduler.now, "client got", dec.decode(this.read())]);
        },
      });
    });
    scheduler.at(20, () => client.write(enc.encode("hello")));
    scheduler.at(30, () => {
      client.close();
      listener.close();
    });
    await scheduler.run(100);
    t.is(scheduler.stats.holdTimeouts, 0);
    sim.shutdown();
    return log;
  };
  const a = await run();
  t.deepEqual(a, [
    [10, "open"],
    [20, "server got", "hello"],
    [20, "client got", "HELLO"],
  ]);
  t.deepEqual(await run(), a);
});
