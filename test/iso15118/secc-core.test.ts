/** The charging core's side of high-level communication: 5 % while HLC is attempted, nominal duty after a fallback. */
import test from "ava";
import { currentForDuty } from "../../firmware/iec61851/pilot.js";
import { Bench, PILOT_PLUS_12V, config } from "../iec61851/harness.js";

test("HLC: 5 % as soon as the EV is in B, before authorization; the contactor waits for the authorization", (t) => {
  const b = new Bench(config({ hlc: true }));
  b.inp.authorized = false;
  b.inp.limit = 16;
  b.run(100);
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.ev = "B";
  b.until((o) => o.state === "B");
  t.is(b.out.duty, 50);
  t.is(b.out.signalledAmps, 0, "nothing is signalled before the authorization");
  t.is(b.out.status, "connected");
  b.ev = "C";
  b.run(500);
  t.is(b.out.state, "C");
  t.is(b.out.contactor0, 0);
  b.inp.authorized = true;
  b.evDraw = 10;
  b.until((o) => o.contactor0 === 1);
  t.is(b.out.duty, 50);
  t.is(b.out.signalledAmps, 16);
});

test("HLC: no 5 % while unavailable, faulted or with a limit below the minimum", (t) => {
  const b = new Bench(config({ hlc: true }));
  b.inp.authorized = false;
  b.inp.available = false;
  b.ev = "B";
  b.until((o) => o.state === "B");
  b.run(100);
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.inp.available = true;
  b.inp.limit = 4;
  b.run(100);
  t.is(b.out.duty, PILOT_PLUS_12V);
  b.inp.limit = 10;
  b.run(100);
  t.is(b.out.duty, 50);
});

test("setHlc(false): the nominal duty at once (basic charging after a SLAC failure), setHlc(true) back to 5 %", (t) => {
  const b = new Bench(config({ hlc: true }));
  b.inp.limit = 16;
  b.ev = "B";
  b.until((o) => o.state === "B");
  t.is(b.out.duty, 50);
  t.true(b.core.hlcMode);
  b.core.setHlc(false);
  t.false(b.core.hlcMode);
  b.step();
  t.is(b.out.duty, 266);
  t.is(b.out.signalledAmps, currentForDuty(266));
  b.ev = "C";
  b.evDraw = 16;
  b.until((o) => o.contactor0 === 1);
  b.ev = "B";
  b.until((o) => o.contactor0 === 0);
  b.ev = "none";
  b.until((o) => o.state === "A");
  b.core.setHlc(true);
  b.ev = "B";
  b.until((o) => o.state === "B");
  t.is(b.out.duty, 50);
  t.throws(() => b.core.setHlc(1 as unknown as boolean), { instanceOf: TypeError });
});
