import test from "ava";
import net from "node:net";
import type { HalError, Listener, ListenerSocket, TCP } from "../../hal/index.js";
import { createSimNetwork, type SimNetwork } from "../../simulator/net/index.js";
import { Scheduler } from "../../simulator/scheduler.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A listener and a client of the same network: the server echoes every chunk upper-cased; the client writes three
 * small messages back to back at t=100 (the kernel may coalesce them), then closes at t=300. Returns the event log.
 */
async function pairedRun(address: string): Promise<{ log: unknown[]; holdTimeouts: number; live: number }> {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim: SimNetwork = createSimNetwork({ scheduler, writeWindow: 1024 });
  const log: unknown[] = [];
  let listener!: Listener;
  let server: TCP | null = null;
  let client!: TCP;
  scheduler.at(10, () => {
    listener = new sim.Listener!({
      port: 0,
      address,
      onReadable(count) {
        log.push([scheduler.now, "accept", count]);
        const from = this.read() as ListenerSocket;
        log.push([scheduler.now, "remote", typeof from.remotePort === "number", this.read() === undefined]);
        server = new sim.TCP({
          from,
          port: 0,
          onWritable(n) {
            if (!log.some((e) => (e as unknown[])[1] === "server writable")) log.push([scheduler.now, "server writable", n]);
          },
          onReadable() {
            const text = dec.decode(this.read());
            log.push([scheduler.now, "server got", text]);
            this.write(enc.encode(text.toUpperCase()));
          },
          onError(e: HalError) {
            log.push([scheduler.now, "server error", e.code]);
            this.close();
          },
        });
      },
    });
  });
  scheduler.at(20, () => {
    log.push([scheduler.now, "bound", listener.port > 0]);
    client = new sim.TCP({
      address,
      port: listener.port,
      onWritable(n) {
        if (n === 1024 && log.some((e) => (e as unknown[])[1] === "client open")) return;
        log.push([scheduler.now, "client open"]);
      },
      onReadable() {
        log.push([scheduler.now, "client got", dec.decode(this.read())]);
      },
      onError(e: HalError) {
        log.push([scheduler.now, "client error", e.code]);
      },
    });
  });
  scheduler.at(100, () => {
    client.write(enc.encode("one"));
    client.write(enc.encode("two"));
    client.write(enc.encode("three"));
  });
  scheduler.at(300, () => {
    client.close();
    log.push([scheduler.now, "client closed"]);
  });
  scheduler.at(400, () => {
    log.push([scheduler.now, "server closed?", server === null]);
    listener.close();
  });
  await scheduler.run(1000);
  const live = sim.liveConnections;
  sim.shutdown();
  return { log, holdTimeouts: scheduler.stats.holdTimeouts, live };
}

for (const address of ["::1", "127.0.0.1"]) {
  test(`Listener (${address}): paired accept before the client's open, one onReadable per write, close reaches the server at the same instant`, async (t) => {
    const a = await pairedRun(address);
    t.is(a.holdTimeouts, 0);
    t.deepEqual(a.log, [
      [20, "bound", true],
      [20, "accept", 1],
      [20, "remote", true, true],
      [20, "client open"],
      [20, "server writable", 1024],
      [100, "server got", "one"],
      [100, "server got", "two"],
      [100, "server got", "three"],
      [100, "client got", "ONE"],
      [100, "client got", "TWO"],
      [100, "client got", "THREE"],
      [300, "client closed"],
      [300, "server error", "EOF"],
      [400, "server closed?", false],
    ]);
    const b = await pairedRun(address);
    t.deepEqual(b.log, a.log, "identical in a second run");
  });
}

test("Listener: an outside client is accepted without holds; read() of nothing is undefined; close drops unread; misuse throws", async (t) => {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim = createSimNetwork({ scheduler });
  t.throws(() => new sim.Listener!({ port: -1 }), { instanceOf: RangeError });
  t.throws(() => new sim.Listener!({ port: 0, address: "nope" }), { instanceOf: RangeError });
  t.throws(() => new sim.Listener!({ port: 0, onReadable: 3 as unknown as () => void }), { instanceOf: TypeError });
  t.throws(() => new sim.TCP({ from: { remoteAddress: "::1", remotePort: 1 }, port: 0 }), { instanceOf: TypeError });
  const counts: number[] = [];
  let listener!: Listener;
  scheduler.at(0, () => {
    listener = new sim.Listener!({
      port: 0,
      address: "127.0.0.1",
      onReadable(count) {
        counts.push(count);
      },
    });
  });
  await scheduler.run(10);
  t.is(listener.read(), undefined);
  // A raw Node client (outside the simulation).
  const raw = net.connect(listener.port, "127.0.0.1");
  raw.on("error", () => undefined);
  await new Promise<void>((r) => raw.once("connect", () => r()));
  const release = scheduler.hold("test: wait for the accept");
  const wait = setInterval(() => {
    if (counts.length) {
      clearInterval(wait);
      release();
    }
  }, 5);
  await scheduler.run(20);
  t.deepEqual(counts, [1]);
  const closed = new Promise<void>((r) => raw.once("close", () => r()));
  listener.close();
  await closed; // the unread connection was dropped
  t.throws(() => listener.read(), { instanceOf: Error });
  t.notThrows(() => listener.close());
  sim.shutdown();
});

test("Listener: binding a port in use posts onError", async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  const port = (blocker.address() as net.AddressInfo).port;
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim = createSimNetwork({ scheduler });
  const errors: string[] = [];
  scheduler.at(0, () => {
    new sim.Listener!({
      port,
      address: "127.0.0.1",
      onError(e) {
        errors.push(e.code);
      },
    });
  });
  await scheduler.run(10);
  t.deepEqual(errors, ["EADDRINUSE"]);
  t.is(scheduler.stats.holdTimeouts, 0);
  sim.shutdown();
  blocker.close();
});

test("Listener + TCP({from, secure}): the TLS server side; a paired TLS client exchanges bytes deterministically", async (t) => {
  const { SERVER_CERT, SERVER_KEY } = await import("./tls-fixtures.js");
  const once = async () => {
    const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
    const sim = createSimNetwork({ scheduler, keys: { secc: SERVER_KEY } });
    const log: unknown[] = [];
    let listener!: Listener;
    let client!: TCP;
    scheduler.at(0, () => {
      listener = new sim.Listener!({
        port: 0,
        address: "127.0.0.1",
        onReadable() {
          const from = this.read()!;
          new sim.TCP({
            from,
            port: 0,
            secure: { certificate: SERVER_CERT, key: "secc" },
            onReadable() {
              const text = dec.decode(this.read());
              log.push([scheduler.now, "server got", text]);
              this.write(enc.encode(`re:${text}`));
            },
            onError(e) {
              log.push([scheduler.now, "server error", e.code]);
              this.close();
            },
          });
        },
      });
    });
    scheduler.at(5, () => {
      let opened = false;
      client = new sim.TCP({
        address: "127.0.0.1",
        port: listener.port,
        secure: { ca: [SERVER_CERT], serverName: "csms.test" },
        onWritable() {
          if (opened) return;
          opened = true;
          log.push([scheduler.now, "client open"]);
          this.write(enc.encode("hello"));
        },
        onReadable() {
          log.push([scheduler.now, "client got", dec.decode(this.read())]);
        },
        onError(e) {
          log.push([scheduler.now, "client error", e.code]);
        },
      });
    });
    scheduler.at(50, () => client.close());
    await scheduler.run(100);
    const timeouts = scheduler.stats.holdTimeouts;
    listener.close();
    sim.shutdown();
    return { log, timeouts };
  };
  const a = await once();
  t.is(a.timeouts, 0);
  t.deepEqual(a.log, [
    [5, "client open"],
    [5, "server got", "hello"],
    [5, "client got", "re:hello"],
    [50, "server error", "EOF"],
  ]);
  t.deepEqual((await once()).log, a.log);
});

test("Listener + TCP({from}): both ends closing at the same virtual instant release each other's close hold", async (t) => {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const sim: SimNetwork = createSimNetwork({ scheduler, writeWindow: 1024 });
  let server: TCP | null = null;
  let client!: TCP;
  const errors: string[] = [];
  let listener!: Listener;
  scheduler.at(10, () => {
    listener = new sim.Listener!({
      port: 0,
      address: "::1",
      onReadable() {
        server = new sim.TCP({ from: this.read() as ListenerSocket, port: 0, onError: (e: HalError) => errors.push("server " + e.code) });
      },
    });
  });
  scheduler.at(20, () => {
    client = new sim.TCP({ address: "::1", port: listener.port, onError: (e: HalError) => errors.push("client " + e.code) });
  });
  scheduler.at(100, () => {
    server!.close();
    client.close();
  });
  scheduler.at(200, () => listener.close());
  await scheduler.run(1000);
  sim.shutdown();
  t.is(scheduler.stats.holdTimeouts, 0);
  t.deepEqual(errors, [], "closed sockets report nothing");
  t.is(scheduler.now, 1000);
});
