/**
 * The XS bench runs (child process) and reports deterministic meters: the control tick split into the firmware's
 * own compute and the (simulated) device layer's, their total, the heap; the in-XS session charges without
 * interlock trips.
 */
import test from "ava";
import { benchXs, type BenchRow } from "../../tools/xs/bench-xs.js";

const get = (rows: BenchRow[], prefix: string): BenchRow => {
  const r = rows.find((x) => x.name.startsWith(prefix));
  if (!r) throw new Error(`no row starting with "${prefix}"`);
  return r;
};

test("benchXs: firmware / device / total tick rows, heap and bridge; deterministic across runs", async (t) => {
  const a = await benchXs({ growthTicks: 2_000, measuredTicks: 50 });
  const b = await benchXs({ growthTicks: 2_000, measuredTicks: 50 });
  const fw = get(a, "XS tick, steady charging: FIRMWARE only (tick minus device-layer compute), median");
  const dev = get(a, "XS tick, steady charging: DEVICE layer (simulated HAL calls; native drivers on the board), median");
  const total = get(a, "XS tick, steady charging: TOTAL (firmware + device layer, measured unsplit), median");
  for (const r of [fw, dev, total]) {
    t.is(r.unit, "compute");
    t.true(r.value > 0, r.name);
  }
  t.true(fw.value < total.value && dev.value < total.value);
  // The two ways of getting the firmware's share agree: tick minus device layer (paired ticks of two lockstep
  // sessions) vs metered directly with the device calls rewound (wrapper cost subtracted): within 3 %.
  const direct = get(a, "XS tick split cross-check: FIRMWARE metered directly in the split session, median");
  t.true(Math.abs(direct.value - fw.value) <= 0.03 * fw.value, `${direct.value} vs ${fw.value}`);
  t.true(get(a, "XS tick, steady charging: HAL calls per tick, median").value >= 5);
  t.is(get(a, "XS heap growth over 2,000 steady charging ticks").value, 0);
  t.is(get(a, "XS interlock trips").value, 0);
  // compute and heap meters are deterministic: two runs agree exactly (wall-clock rows excluded)
  const det = (rows: typeof a) => rows.filter((r) => r.unit !== "ms");
  t.deepEqual(det(a), det(b));
});
