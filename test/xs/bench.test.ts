/** The XS bench runs (child process) and reports deterministic meters; the in-XS session charges without interlock trips. */
import test from "ava";
import { benchXs } from "../../tools/xs/bench-xs.js";

test("benchXs: rows for tick cost, heap and bridge; deterministic across runs", async (t) => {
  const a = await benchXs({ growthTicks: 2_000, measuredTicks: 50 });
  const b = await benchXs({ growthTicks: 2_000, measuredTicks: 50 });
  const get = (rows: typeof a, prefix: string) => rows.find((r) => r.name.startsWith(prefix))!;
  const tick = get(a, "XS control tick, steady state charging (median)");
  t.true(tick.value > 0);
  t.is(tick.unit, "compute");
  t.is(get(a, "XS interlock trips").value, 0);
  // compute and heap meters are deterministic: two runs agree exactly (wall-clock rows excluded)
  const det = (rows: typeof a) => rows.filter((r) => r.unit !== "ms");
  t.deepEqual(det(a), det(b));
});
