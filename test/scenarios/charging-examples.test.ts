/**
 * Every example scenario in simulator/scenarios/ parses and runs with result.ok (no interlock trip, no forbidden
 * close, no firmware exception, no OCPP validation failure), with the per-tick invariants checked, and shows the
 * fault its description documents ("Expected fault: ...").
 */
import test from "ava";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadScenario } from "../../simulator/scenario.js";
import { firstAfter, mainClose, ofKind, runScenario } from "./fixtures/charging.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const dir = path.join(root, "simulator/scenarios");
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();

test("there are example scenarios", (t) => {
  t.true(files.length >= 4, files.join(", "));
});

for (const f of files) {
  test(`simulator/scenarios/${f} parses, runs ok and shows its documented fault`, async (t) => {
    const file = path.join(dir, f);
    const text = (await import("node:fs")).readFileSync(file, "utf8");
    const description = String((JSON.parse(text) as Record<string, unknown>)["description"] ?? "");
    const m = /Expected fault: (\w+)\./.exec(description);
    t.truthy(m, "the description documents the expected fault");
    const expected = m![1] === "none" ? "" : m![1]!;
    const r = await runScenario(loadScenario(file));
    t.deepEqual(r.result.problems, []);
    t.true(r.result.ok);
    t.deepEqual(r.violations, []);
    t.truthy(firstAfter(r.trace, 0, "contactor", mainClose), "it charged");
    const faults = ofKind(r.trace, "fault", (e) => e["fault"] !== "").map((e) => e["fault"]);
    if (expected) t.true(faults.includes(expected), `faults seen: ${faults.join(", ")}`);
    else t.deepEqual(faults, []);
    if (f === "thermal-derating.json") {
      const lim = ofKind(r.trace, "limit", (e) => e["source"] === "thermal");
      t.true(lim.some((e) => (e["amps"] as number) < 20), "derated well below 32 A");
      t.is(ofKind(r.trace, "limit").at(-1)!["amps"], 32, "full current again at the end");
    }
  });
}
