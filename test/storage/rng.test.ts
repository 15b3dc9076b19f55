import test from "ava";
import { Rng } from "../../simulator/rng.js";

test("same seed gives the same stream; different seeds differ", (t) => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 100 }, () => a.next());
  const sb = Array.from({ length: 100 }, () => b.next());
  const sc = Array.from({ length: 100 }, () => c.next());
  t.deepEqual(sa, sb);
  t.notDeepEqual(sa, sc);
  for (const x of sa) t.true(Number.isInteger(x) && x >= 0 && x <= 0xffffffff);
});

test("float is in [0,1) and roughly uniform", (t) => {
  const r = new Rng(7);
  let sum = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const f = r.float();
    t.true(f >= 0 && f < 1);
    sum += f;
  }
  t.true(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
});

test("int covers the inclusive range without bias; rejects bad bounds", (t) => {
  const r = new Rng(9);
  const counts = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 60000; i++) counts[r.int(-2, 3) + 2]++;
  for (const c of counts) t.true(Math.abs(c - 10000) < 600, `counts ${counts}`);
  t.is(r.int(5, 5), 5);
  t.throws(() => r.int(3, 2), { instanceOf: RangeError });
  t.throws(() => r.int(0.5, 2), { instanceOf: RangeError });
  const big = r.int(0, 2 ** 40);
  t.true(big >= 0 && big <= 2 ** 40);
});

test("pick, bytes", (t) => {
  const r = new Rng(1);
  const arr = ["a", "b", "c"];
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(r.pick(arr));
  t.deepEqual([...seen].sort(), arr);
  t.throws(() => r.pick([]), { instanceOf: RangeError });
  for (const n of [0, 1, 3, 4, 5, 17]) t.is(r.bytes(n).length, n);
  t.deepEqual(new Rng(5).bytes(9), new Rng(5).bytes(9));
});

test("fork is deterministic, label-dependent and independent of the parent's position", (t) => {
  const p = new Rng(100);
  const f1 = p.fork("ev");
  p.next(); p.next();
  const f2 = p.fork("ev");
  t.deepEqual([f1.next(), f1.next()], [f2.next(), f2.next()]);
  const g = new Rng(100).fork("grid");
  const h = new Rng(100).fork("ev");
  t.not(g.next(), h.next());
  t.not(new Rng(101).fork("ev").next(), new Rng(100).fork("ev").next());
  // the parent stream is not disturbed by forking
  const q1 = new Rng(3), q2 = new Rng(3);
  q1.fork("x");
  t.is(q1.next(), q2.next());
});
