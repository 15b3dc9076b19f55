import test from "ava";
import { LIMIT_SOURCES, LimitArbiter } from "../../firmware/control/arbiter.js";

function clock(): { t: number; now(): number } {
  return { t: 0, now() { return this.t; } };
}

test("no claims: 0 A, no winner (fail-safe)", (t) => {
  const a = new LimitArbiter();
  t.is(a.amps, 0);
  t.is(a.winner, null);
  t.is(a.phases, 3);
  t.true(Number.isNaN(a.setpoint));
  t.deepEqual(a.claims(), []);
});

test("the lowest claim wins and keeps its provenance (why is it 10 A?)", (t) => {
  const c = clock();
  const a = new LimitArbiter(c);
  a.set("hardware", 32, "board rating");
  c.t = 100;
  a.set("installer", 16, "fuse 16 A");
  c.t = 200;
  a.set("site", 10, "load balancing");
  t.is(a.amps, 10);
  t.deepEqual({ ...a.winner! }, { source: "site", amps: 10, reason: "load balancing", since: 200 });
  c.t = 300;
  a.set("thermal", 24, "derating");
  t.is(a.winner!.since, 200); // a non-winning claim does not change the answer
  a.clear("site");
  t.is(a.amps, 16);
  t.is(a.winner!.source, "installer");
  t.is(a.winner!.since, 300);
  t.is(a.claims().length, 3);
  t.deepEqual(a.claims().map((x) => x.source), ["hardware", "installer", "thermal"]);
  t.is(a.claims()[1].since, 100);
});

test("version bumps on effective changes only; same values do nothing", (t) => {
  const a = new LimitArbiter();
  a.set("hardware", 32, "board");
  const v1 = a.version;
  a.set("hardware", 32, "board");
  t.is(a.version, v1);
  a.set("thermal", 40, "derating"); // not winning
  t.is(a.version, v1);
  a.set("thermal", 39, "derating");
  t.is(a.version, v1);
  a.set("thermal", 20, "derating"); // now winning
  t.is(a.version, v1 + 1);
  a.set("thermal", 20, "hot socket"); // reason of the winner changed
  t.is(a.version, v1 + 2);
  a.clear("user"); // nothing to clear
  t.is(a.version, v1 + 2);
  a.setPhases(3);
  t.is(a.version, v1 + 2);
  a.setPhases(1);
  t.is(a.version, v1 + 3);
  t.is(a.phases, 1);
});

test("ties keep the current winner (no provenance flapping); else the earlier source", (t) => {
  const a = new LimitArbiter();
  a.set("ocpp", 16, "schedule");
  a.set("installer", 16, "fuse");
  t.is(a.winner!.source, "ocpp");
  const v = a.version;
  a.set("site", 16, "balancing");
  t.is(a.winner!.source, "ocpp");
  t.is(a.version, v);
  a.clear("ocpp");
  t.is(a.winner!.source, "installer");
  t.is(a.amps, 16);
});

test("phases: hardware phases lowered by any claim's maxPhases", (t) => {
  const a = new LimitArbiter();
  a.set("hardware", 32, "board");
  t.is(a.phases, 3);
  a.set("ev", 32, "1-phase on-board charger", 1);
  t.is(a.phases, 1);
  a.clear("ev");
  t.is(a.phases, 3);
  a.setPhases(1);
  t.is(a.phases, 1);
});

test("v2g is a signed setpoint, not a limit", (t) => {
  const a = new LimitArbiter();
  a.set("hardware", 32, "board");
  a.set("v2g", -10, "discharge request");
  t.is(a.amps, 32);
  t.is(a.winner!.source, "hardware");
  t.is(a.setpoint, -10);
  a.set("v2g", 40, "charge setpoint");
  t.is(a.setpoint, 32); // clamped to the import limit
  a.set("installer", 16, "fuse");
  t.is(a.setpoint, 16);
  const v = a.version;
  a.clear("v2g");
  t.true(Number.isNaN(a.setpoint));
  t.is(a.version, v + 1);
  t.throws(() => a.set("site", -1, "x"), { instanceOf: RangeError });
});

test("bad input throws and changes nothing", (t) => {
  const a = new LimitArbiter();
  a.set("hardware", 32, "board");
  const v = a.version;
  t.throws(() => a.set("nope" as never, 10, "x"), { instanceOf: RangeError });
  t.throws(() => a.set("site", NaN, "x"), { instanceOf: RangeError });
  t.throws(() => a.set("site", Infinity, "x"), { instanceOf: RangeError });
  t.throws(() => a.set("site", 10, 5 as never), { instanceOf: TypeError });
  t.throws(() => a.set("site", 10, "x", 2 as never), { instanceOf: RangeError });
  t.throws(() => a.clear("nope" as never), { instanceOf: RangeError });
  t.throws(() => a.setPhases(2 as never), { instanceOf: RangeError });
  t.is(a.version, v);
  t.is(a.amps, 32);
  t.is(a.claims().length, 1);
});

test("steady state: repeated set() of every source with unchanged values keeps the same winner object and version", (t) => {
  const a = new LimitArbiter();
  for (const s of LIMIT_SOURCES) a.set(s, s === "v2g" ? -5 : 20 + LIMIT_SOURCES.indexOf(s), "r");
  const w = a.winner;
  const v = a.version;
  for (let k = 0; k < 10_000; k++) {
    for (const s of LIMIT_SOURCES) a.set(s, s === "v2g" ? -5 : 20 + LIMIT_SOURCES.indexOf(s), "r");
  }
  t.is(a.winner, w);
  t.is(a.version, v);
  t.is(a.amps, 20);
  t.is(a.winner!.source, "hardware");
});

test("ampsWithout: the limit the other sources leave (the EV sees the charger's limit, not its own claim)", (t) => {
  const a = new LimitArbiter();
  t.is(a.ampsWithout("ev"), 0);
  a.set("hardware", 32, "rating");
  a.set("ocpp", 20, "TxProfile");
  a.set("ev", 10, "EVMaxCurrent");
  a.set("v2g", -5, "discharge");
  t.is(a.amps, 10);
  t.is(a.ampsWithout("ev"), 20);
  t.is(a.ampsWithout("ocpp"), 10);
  a.clear("ocpp");
  t.is(a.ampsWithout("ev"), 32);
  t.throws(() => a.ampsWithout("nope" as never), { instanceOf: RangeError });
});
