import test from "ava";
import dgram from "node:dgram";
import net from "node:net";
import type { HalError, TCP, UDP } from "../../hal/index.js";
import { createSimNetwork } from "../../simulator/net/index.js";
import { Scheduler } from "../../simulator/scheduler.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An echo server answering every chunk with "echo:" + chunk. */
async function echoServer(): Promise<{ port: number; server: net.Server; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("data", (d) => s.write(Buffer.concat([Buffer.from("echo:"), d])));
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, server, sockets };
}

test("TCP: connect, request/reply held in virtual time, peer close is onError(EOF), misuse throws", async (t) => {
  const srv = await echoServer();
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim = createSimNetwork({ scheduler, expectsReply: () => true, writeWindow: 16 });
  const events: unknown[] = [];
  const thrown: string[] = [];
  let sock!: TCP;
  scheduler.at(100, () => {
    sock = new sim.TCP({
      address: "127.0.0.1",
      port: srv.port,
      onWritable(n) {
        events.push([scheduler.now, "writable", n]);
      },
      onReadable(n) {
        events.push([scheduler.now, "readable", n, dec.decode(this.read())]);
      },
      onError(e: HalError) {
        events.push([scheduler.now, "error", e.code]);
      },
    });
    try {
      sock.write(enc.encode("early"));
    } catch (e) {
      thrown.push((e as Error).name);
    }
  });
  scheduler.at(200, () => {
    sock.write(enc.encode("ping"));
    try {
      sock.write(enc.encode("this is more than the window"));
    } catch (e) {
      thrown.push((e as Error).name);
    }
  });
  scheduler.at(300, () => {
    const release = scheduler.hold("await FIN");
    for (const s of srv.sockets) s.end();
    const check = setInterval(() => {
      if (events.some((e) => (e as unknown[])[1] === "error")) {
        clearInterval(check);
        release();
      }
    }, 5);
  });
  await scheduler.run(1000);
  t.deepEqual(events, [
    [100, "writable", 16],
    [200, "writable", 16],
    [200, "readable", 9, "echo:ping"],
    [300, "error", "EOF"],
  ]);
  t.deepEqual(thrown, ["Error", "RangeError"]);
  t.is(sock.remotePort, srv.port);
  sock.close();
  t.throws(() => sock.read(), { message: /closed/ });
  t.throws(() => new sim.TCP({ port: 1 } as never), { instanceOf: TypeError });
  t.throws(() => new sim.TCP({ address: "127.0.0.1", port: 70000 }), { instanceOf: RangeError });
  sim.shutdown();
  srv.server.close();
});

test("TCP: blackhole drops bytes both ways; dropAll resets", async (t) => {
  const srv = await echoServer();
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim = createSimNetwork({ scheduler, expectsReply: () => true });
  const events: unknown[] = [];
  let sock!: TCP;
  scheduler.at(0, () => {
    sock = new sim.TCP({
      address: "127.0.0.1",
      port: srv.port,
      onReadable() {
        events.push([scheduler.now, "readable", dec.decode(this.read())]);
      },
      onError(e: HalError) {
        events.push([scheduler.now, "error", e.code]);
      },
    });
  });
  scheduler.at(100, () => sim.faults.blackhole(true));
  scheduler.at(200, () => sock.write(enc.encode("lost")));
  scheduler.at(5000, () => sim.faults.blackhole(false));
  scheduler.at(5100, () => sock.write(enc.encode("found")));
  scheduler.at(6000, () => sim.faults.dropAll());
  await scheduler.run(10_000);
  t.deepEqual(events, [
    [5100, "readable", "echo:found"],
    [6000, "error", "ECONNRESET"],
  ]);
  t.is(scheduler.stats.holdTimeouts, 0);
  sim.shutdown();
  srv.server.close();
});

test("UDP: datagram request/reply held in virtual time; blackhole drops", async (t) => {
  const peer = dgram.createSocket("udp4");
  peer.on("message", (m, r) => peer.send(Buffer.concat([Buffer.from("re:"), m]), r.port, r.address));
  await new Promise<void>((r) => peer.bind(0, "127.0.0.1", r));
  const peerPort = peer.address().port;
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim = createSimNetwork({ scheduler, expectsReply: () => true });
  const events: unknown[] = [];
  let u!: UDP;
  scheduler.at(10, () => {
    u = new sim.UDP({
      onReadable(n) {
        const p = this.read()!;
        events.push([scheduler.now, n, dec.decode(p.data), p.address, p.port === peerPort]);
      },
    });
    u.write(enc.encode("a"), "127.0.0.1", peerPort);
  });
  scheduler.at(20, () => sim.faults.blackhole(true));
  scheduler.at(30, () => u.write(enc.encode("b"), "127.0.0.1", peerPort));
  scheduler.at(40, () => sim.faults.blackhole(false));
  scheduler.at(50, () => u.write(enc.encode("c"), "127.0.0.1", peerPort));
  await scheduler.run(100);
  t.deepEqual(events, [
    [10, 1, "re:a", "127.0.0.1", true],
    [50, 1, "re:c", "127.0.0.1", true],
  ]);
  t.throws(() => u.write(enc.encode("x"), "not-an-ip", peerPort), { instanceOf: RangeError });
  t.throws(() => u.write("x" as never, "127.0.0.1", peerPort), { instanceOf: TypeError });
  t.is(u.read(), undefined);
  u.close();
  t.throws(() => u.read(), { message: /closed/ });
  sim.shutdown();
  peer.close();
});
