import test from "ava";
import type { HalError, MQTTClient, MQTTClientOptions } from "../../hal/index.js";
import { createSimNetwork, type SimNetwork } from "../../simulator/net/index.js";
import { Scheduler } from "../../simulator/scheduler.js";
import { findMosquitto, startMosquitto, type Broker } from "../support/mosquitto.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

type Ev = [number, string, ...unknown[]];

class ScriptedMqtt {
  readonly events: Ev[] = [];
  readonly client: MQTTClient;
  onOpen: (() => void) | undefined;
  onMessage: ((topic: string, text: string) => void) | undefined;
  constructor(net: SimNetwork, sched: Scheduler, opts: Partial<MQTTClientOptions> & { port: number; id: string }) {
    const self = this;
    this.client = new net.MQTTClient({
      host: "127.0.0.1",
      ...opts,
      onWritable() {
        self.events.push([sched.now, "open"]);
        self.onOpen?.();
      },
      onReadable(bytes, info) {
        const text = dec.decode(this.read());
        self.events.push([sched.now, "message", info.topic, text, info.QoS, info.retain]);
        self.onMessage?.(info.topic, text);
      },
      onClose() {
        self.events.push([sched.now, "close"]);
      },
      onError(e: HalError) {
        self.events.push([sched.now, "error", e.code]);
      },
    });
  }
  publish(topic: string, text: string, QoS: 0 | 1 = 0, retain = false): void {
    this.client.write(enc.encode(text), { topic, QoS, retain });
  }
}

function setup() {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const net = createSimNetwork({ scheduler });
  return { scheduler, net };
}

if (!findMosquitto()) {
  test("mosquitto is required (a real broker) and could not be installed: apt-get install mosquitto", (t) => {
    t.fail("no mosquitto binary, and installing Debian's package failed (not root, or no apt-get)");
  });
} else {
  const withBroker = async (body: (b: Broker) => Promise<void>) => {
    const broker = await startMosquitto();
    if (!broker) throw new Error("mosquitto vanished");
    try {
      await body(broker);
    } finally {
      await broker.stop();
    }
  };

  async function pubSubRun() {
    let out: Ev[] = [];
    await withBroker(async (b) => {
      const { scheduler, net } = setup();
      let c!: ScriptedMqtt;
      scheduler.at(100, () => {
        c = new ScriptedMqtt(net, scheduler, { port: b.port, id: "cp-1", keepAlive: 30_000 });
        c.onOpen = () => c.client.subscribe("cp/1/#", 1);
      });
      scheduler.at(1000, () => c.publish("cp/1/a", "zero", 0));
      scheduler.at(2000, () => c.publish("cp/1/b", "one", 1));
      scheduler.at(3000, () => c.client.unsubscribe("cp/1/#"));
      scheduler.at(4000, () => c.publish("cp/1/c", "unheard", 1));
      scheduler.at(5000, () => c.client.close());
      await scheduler.run(10_000);
      out = c.events;
      net.shutdown();
      if (scheduler.stats.holdTimeouts) throw new Error(`hold timeouts: ${scheduler.stats.timedOutHolds.join(", ")}`);
    });
    return out;
  }

  test("connect, subscribe, publish QoS 0 and 1: deliveries at deterministic virtual times", async (t) => {
    const first = await pubSubRun();
    t.deepEqual(first, [
      [100, "open"],
      [1000, "message", "cp/1/a", "zero", 0, false],
      [2000, "message", "cp/1/b", "one", 1, false],
    ]);
    t.deepEqual(await pubSubRun(), first);
  });

  test("a retained message is delivered on subscribe, flagged retain", async (t) => {
    await withBroker(async (b) => {
      const { scheduler, net } = setup();
      let a!: ScriptedMqtt;
      let s!: ScriptedMqtt;
      scheduler.at(0, () => {
        a = new ScriptedMqtt(net, scheduler, { port: b.port, id: "pub" });
        a.onOpen = () => a.publish("site/limit", "16", 1, true);
      });
      scheduler.at(500, () => {
        s = new ScriptedMqtt(net, scheduler, { port: b.port, id: "sub" });
        s.onOpen = () => s.client.subscribe("site/limit", 0);
      });
      await scheduler.run(1000);
      t.deepEqual(s.events, [
        [500, "open"],
        [500, "message", "site/limit", "16", 0, true],
      ]);
      t.is(scheduler.stats.holdTimeouts, 0);
      net.shutdown();
    });
  });

  test("the will is published when a client drops abnormally, not on a clean close", async (t) => {
    await withBroker(async (b) => {
      const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
      const netA = createSimNetwork({ scheduler });
      const netB = createSimNetwork({ scheduler });
      let a!: ScriptedMqtt;
      let a2!: ScriptedMqtt;
      let s!: ScriptedMqtt;
      let release: (() => void) | null = null;
      const will = { topic: "cp/status", message: enc.encode("offline"), QoS: 1 as const, retain: false };
      scheduler.at(0, () => {
        s = new ScriptedMqtt(netB, scheduler, { port: b.port, id: "watcher" });
        s.onOpen = () => s.client.subscribe("cp/#", 1);
        s.onMessage = () => release?.();
      });
      scheduler.at(100, () => {
        a = new ScriptedMqtt(netA, scheduler, { port: b.port, id: "cp-a", will });
        a2 = new ScriptedMqtt(netA, scheduler, { port: b.port, id: "cp-b", will: { ...will, message: enc.encode("b gone") } });
      });
      scheduler.at(200, () => a2.client.close()); // clean: no will
      scheduler.at(300, () => {
        // The broker's reaction to the reset is not tied to any of our sends: the test holds for it.
        release = scheduler.hold("await will");
        netA.faults.dropAll();
      });
      await scheduler.run(1000);
      t.deepEqual(a.events, [
        [100, "open"],
        [300, "error", "ECONNRESET"],
      ]);
      t.deepEqual(s.events, [
        [0, "open"],
        [300, "message", "cp/status", "offline", 1, false],
      ]);
      t.is(scheduler.stats.holdTimeouts, 0);
      netA.shutdown();
      netB.shutdown();
    });
  });

  test("keep-alive runs in virtual time: a blackholed link is declared dead after 1.5 x keepAlive", async (t) => {
    await withBroker(async (b) => {
      const { scheduler, net } = setup();
      let c!: ScriptedMqtt;
      scheduler.at(0, () => {
        c = new ScriptedMqtt(net, scheduler, { port: b.port, id: "ka", keepAlive: 10_000 });
      });
      await scheduler.run(45_000);
      t.deepEqual(c.events, [[0, "open"]], "pings answered for 45 s of virtual time");
      const pingsBefore = scheduler.stats.holds;
      scheduler.at(50_000, () => net.faults.blackhole(true));
      await scheduler.run(100_000);
      // The keep-alive PINGREQ due at 50 s is answered at that same instant (it holds virtual time until its
      // PINGRESP, before the blackhole event at 50 s runs); the next one, at 60 s, is lost, and the link is
      // declared dead 1.5 x keepAlive after the last answered ping.
      t.deepEqual(c.events, [
        [0, "open"],
        [65_000, "error", "ETIMEDOUT"],
      ]);
      t.true(pingsBefore >= 5, `connect + 4 keep-alive pings held (${pingsBefore})`);
      t.is(scheduler.stats.holdTimeouts, 0);
      net.shutdown();
    });
  });

  test("broker killed: onClose or onError at the instant it is noticed; misuse throws", async (t) => {
    const broker = await startMosquitto();
    if (!broker) throw new Error("mosquitto vanished");
    const { scheduler, net } = setup();
    let c!: ScriptedMqtt;
    let release: (() => void) | null = null;
    const thrown: string[] = [];
    const attempt = (label: string, f: () => unknown) => {
      try {
        f();
      } catch (e) {
        thrown.push(`${label}:${(e as Error).name}`);
      }
    };
    scheduler.at(0, () => {
      c = new ScriptedMqtt(net, scheduler, { port: broker.port, id: "victim" });
      attempt("write-before-connack", () => c.publish("a", "x"));
      c.onOpen = () => {
        attempt("wildcard-topic", () => c.publish("a/+", "x"));
        attempt("qos2", () => c.client.write(new Uint8Array(1), { topic: "a", QoS: 2 as never }));
        attempt("string-data", () => c.client.write("x" as never, { topic: "a" }));
        attempt("bad-filter", () => c.client.subscribe("a/#/b"));
      };
    });
    scheduler.at(100, () => {
      release = scheduler.hold("await broker death");
      void broker.kill("SIGKILL");
    });
    const done = () => c !== undefined && c.events.length > 1;
    const watcher = setInterval(() => {
      if (done()) release?.();
    }, 10);
    try {
      await scheduler.run(1000);
    } finally {
      clearInterval(watcher);
      await broker.stop();
    }
    t.deepEqual(thrown, ["write-before-connack:Error", "wildcard-topic:RangeError", "qos2:RangeError", "string-data:TypeError", "bad-filter:RangeError"]);
    t.is(c.events[0]![1], "open");
    t.is(c.events.length, 2);
    t.is(c.events[1]![0], 100);
    t.true(c.events[1]![1] === "close" || c.events[1]![1] === "error", String(c.events[1]));
    c.client.close();
    t.throws(() => c.publish("a", "x"), { message: /closed/ });
    net.shutdown();
  });

  test("connection refused by the OS is onError(ECONNREFUSED); refuse() fault needs no broker", async (t) => {
    const { scheduler, net } = setup();
    const port = await (async () => {
      const b = await startMosquitto();
      const p = b!.port;
      await b!.stop();
      return p;
    })();
    let a!: ScriptedMqtt;
    let f!: ScriptedMqtt;
    scheduler.at(0, () => {
      a = new ScriptedMqtt(net, scheduler, { port, id: "nobody-home" });
    });
    scheduler.at(10, () => {
      net.faults.refuse(true);
      f = new ScriptedMqtt(net, scheduler, { port, id: "refused" });
    });
    await scheduler.run(100);
    t.deepEqual(a.events, [[0, "error", "ECONNREFUSED"]]);
    t.deepEqual(f.events, [[10, "error", "ECONNREFUSED"]]);
    net.shutdown();
  });
}
