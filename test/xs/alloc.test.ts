/**
 * Zero heap growth of the steady-state control loop, inside the real XS engine: firmware + simulated devices
 * charge offline (MeterValues every second, so the bounded offline transaction queue fills during the warm-up),
 * then 100,000 control ticks run and XS's live heap is read after a full GC every 10,000 ticks. None of those
 * checkpoints may exceed the one taken after the warm-up: no tolerance, the loop allocates nothing that survives.
 */
import test from "ava";
import { allocXs } from "../../tools/xs/bench-xs.js";

test("XS: 100,000 steady charging ticks do not grow the live heap (after GC)", async (t) => {
  const r = await allocXs({ ticks: 100_000, every: 10_000 });
  t.is(r.checkpoints.length, 11);
  t.is(r.contactor, 1, "still charging at the end");
  t.is(r.interlockTrips, 0);
  // The warm-up filled the offline queue to its bound (100 messages): its growth is over before we measure.
  t.is(r.queued, 100);
  const first = r.checkpoints[0]!;
  for (let i = 1; i < r.checkpoints.length; i++) {
    t.true(r.checkpoints[i]! <= first, `live slots after ${i * r.every} ticks: ${r.checkpoints[i]} > ${first} after the warm-up`);
  }
  t.log(`live slots after GC: ${r.checkpoints.join(", ")}`);
});
