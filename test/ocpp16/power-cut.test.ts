/**
 * A power cut before, during and after EVERY storage write of a full charging session (journal writes and
 * erases, key-value sets): the CSMS must end with exactly one StartTransaction and one StopTransaction per
 * transaction, meterStop >= meterStart, PowerLoss where a session was interrupted, no message id twice, and
 * the journal empty once everything was delivered.
 */
import test from "ava";
import type { PowerCutPlan } from "../../simulator/storage/index.js";
import { checkTransactions, simulate } from "./transactions-support.js";

// Short session: free charging (a new session starts by itself after the reboot), 20 s samples.
const SCENARIO = `{
  "name": "power cut at every write", "seed": 11, "duration": "150s",
  "config": { "freeCharging": true, "meterValueSampleIntervalS": 20, "controlPeriodMs": 50, "statusIntervalMs": 60000 },
  "events": [
    { "at": "2s", "do": "plug" },
    { "at": "75s", "do": "unplug" }
  ]
}`;

test("power cut before, during and after every storage write of a session: no transaction lost or duplicated", async (t) => {
  // The reference run: how many mutating storage operations a whole session takes.
  const ref = await simulate(SCENARIO);
  const total = ref.storage.countOps();
  const refCheck = checkTransactions(ref);
  await ref.close();
  t.deepEqual(refCheck.problems, []);
  t.is(refCheck.transactions, 1);
  t.deepEqual(refCheck.reasons, ["EVDisconnected"]);
  t.true(total >= 10, `only ${total} storage operations`);

  const plans: PowerCutPlan[] = [];
  for (let op = 1; op <= total; op++) {
    plans.push({ op, when: "before" }, { op, when: "during" }, { op, when: "during", tornBytes: 1 }, { op, when: "after" });
  }
  let cuts = 0;
  let repeats = 0;
  let powerLoss = 0;
  const failures: string[] = [];
  const BATCH = 6;
  for (let i = 0; i < plans.length; i += BATCH) {
    await Promise.all(
      plans.slice(i, i + BATCH).map(async (plan) => {
        const sim = await simulate(SCENARIO, (s) => s.storage.powerCut(plan));
        try {
          const c = checkTransactions(sim);
          const res = sim.storage.domain.cuts;
          cuts += res;
          repeats += c.repeats;
          const label = `cut ${plan.when}${plan.tornBytes !== undefined ? `(${plan.tornBytes})` : ""} op ${plan.op} (${sim.storage.domain.lastCut?.kind ?? "none"})`;
          for (const p of c.problems) failures.push(`${label}: ${p}`);
          // Every transaction ends: PowerLoss if the cut interrupted it (also when the cut hit the write of its
          // EVDisconnected stop), EVDisconnected for one that saw the unplug; one cut, at most one PowerLoss.
          const last = c.reasons.at(-1);
          if (c.transactions === 0) failures.push(`${label}: no transaction at all`);
          else if (last !== "EVDisconnected" && last !== "PowerLoss") failures.push(`${label}: last reason ${last}`);
          for (const r of c.reasons.slice(0, -1)) if (r !== "PowerLoss") failures.push(`${label}: an interrupted transaction ended with ${r}`);
          const losses = c.reasons.filter((r) => r === "PowerLoss").length;
          if (losses > 1) failures.push(`${label}: ${losses} PowerLoss stops for one cut`);
          powerLoss += losses;
          if (c.transactions > 2) failures.push(`${label}: ${c.transactions} transactions`);
        } finally {
          await sim.close();
        }
      }),
    );
  }
  t.log(`${total} storage operations per session, ${plans.length} cut plans, ${cuts} cuts fired, ${powerLoss} PowerLoss stops, ${repeats} identical re-deliveries`);
  t.deepEqual(failures, []);
  t.is(cuts, plans.length);
  t.true(powerLoss > 0);
});
