/** Session.setEvSoc / evSoc: validation, and clearing at the end of a session and at the unplug. */
import test from "ava";
import { Session, type SessionInfo } from "../../firmware/session/session.js";

function make() {
  let mono = 0;
  const session = new Session(
    { mono: () => mono, wall: () => 1_768_464_000_000 + mono, synced: () => true, energyWh: () => mono / 100 },
    (_idTag, done) => done(true, "ok"),
    60_000,
  );
  const ended: Array<[SessionInfo, number | null]> = [];
  session.listen({ ended: (s) => ended.push([s, session.evSoc]) });
  const tick = (plugged: boolean, core = "charging") => {
    mono += 100;
    session.update(plugged, core, "");
  };
  return { session, ended, tick };
}

test("setEvSoc: a finite number in 0..100 is kept; NaN, ±Infinity, -1, 101, strings and other types are ignored; null clears", (t) => {
  const { session, tick } = make();
  tick(true, "connected");
  t.is(session.evSoc, null);
  for (const v of [0, 100, 55.5, 42]) {
    session.setEvSoc(v);
    t.is(session.evSoc, v);
  }
  for (const bad of [NaN, Infinity, -Infinity, -1, -0.001, 100.001, 101, "50", {}, undefined, true]) {
    session.setEvSoc(bad as unknown as number);
    t.is(session.evSoc, 42, `ignored: ${String(bad)}`);
  }
  session.setEvSoc(null);
  t.is(session.evSoc, null);
});

test("evSoc is cleared at the unplug (the ended listeners still see it) and a SoC without an EV plugged in is ignored", (t) => {
  const { session, ended, tick } = make();
  session.setEvSoc(30);
  t.is(session.evSoc, null, "nothing plugged in yet");
  tick(true, "connected");
  session.present("CARD", "local");
  tick(true);
  t.truthy(session.current);
  session.setEvSoc(61);
  tick(true);
  t.is(session.evSoc, 61, "kept across ticks");
  tick(false, "idle");
  t.is(session.current, null);
  t.is(ended.length, 1);
  t.is(ended[0]![1], 61, "the ended listeners (StopTransaction's Transaction.End values) still see the last SoC");
  t.is(session.evSoc, null, "cleared at the unplug");
  session.setEvSoc(70);
  t.is(session.evSoc, null, "a late message of a car that has left is ignored");
});

test("evSoc is cleared when the session ends with the EV still plugged in; the same car may report it again", (t) => {
  const { session, ended, tick } = make();
  tick(true, "connected");
  session.present("CARD", "local");
  tick(true);
  session.setEvSoc(50);
  session.present("CARD", "local"); // the same card again: stop
  tick(true, "connected");
  t.is(session.current, null);
  t.is(ended[0]![0].stopReason, "Local");
  t.is(ended[0]![1], 50);
  t.is(session.evSoc, null);
  session.setEvSoc(51);
  t.is(session.evSoc, 51, "still plugged in: a new report is accepted");
  tick(false, "idle");
  t.is(session.evSoc, null);
});

test("evSoc without a session (plugged, not authorized) is cleared at the unplug", (t) => {
  const { session, tick } = make();
  tick(true, "connected");
  session.setEvSoc(20);
  tick(true, "connected");
  t.is(session.evSoc, 20);
  tick(false, "idle");
  t.is(session.evSoc, null);
});
