/**
 * OCA coverage of the OCPP 1.6 stack: every charge-point test case of the OCA compliance tool is either the
 * prefix of at least one scenario test title (a literal `test("TC_..._CS ...` in test/**\/*.test.ts) or listed,
 * with its reason, in fixtures/oca-not-applicable.json. The case list is /work/shared/ocpp/test-cases-1.6.json
 * when present, else the committed copy of its ids and titles (fixtures/oca-1.6-ids.json; the product never
 * reads either).
 */
import test from "ava";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { SHARED_DIR } from "../../tools/shared-dir.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHARED = `${SHARED_DIR}/ocpp/test-cases-1.6.json`;
const COPY = path.join(root, "test/ocpp16/fixtures/oca-1.6-ids.json");
const TABLE = path.join(root, "test/ocpp16/fixtures/oca-not-applicable.json");

interface OcaCase {
  id: string;
  title: string;
}
interface NotCovered {
  id: string;
  title: string;
  /** not-applicable: the case's precondition cannot hold for this product; not-implemented: a known gap. */
  kind: "not-applicable" | "not-implemented";
  reason: string;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

function cases(): { list: OcaCase[]; from: string } {
  const from = existsSync(SHARED) ? SHARED : COPY;
  const raw = JSON.parse(readFileSync(from, "utf8")) as Array<Record<string, unknown>>;
  return { list: raw.map((c) => ({ id: String(c["id"]), title: String(c["title"]) })), from };
}

/** Case id -> the test files whose literal titles start with it (`test("TC_010_CS ...` / test.serial / '...' / `...`). */
function titled(): Map<string, Set<string>> {
  const re = /\btest(?:\.serial)?\(\s*["'`](TC_[0-9_]+_CS)(?=[\s"'`])/g;
  const out = new Map<string, Set<string>>();
  for (const f of walk(path.join(root, "test"))) {
    const src = readFileSync(f, "utf8");
    for (const m of src.matchAll(re)) {
      const id = m[1]!;
      if (!out.has(id)) out.set(id, new Set());
      out.get(id)!.add(path.relative(root, f));
    }
  }
  return out;
}

test("the committed copy of the OCA 1.6 case list matches the shared one (when present)", (t) => {
  const copy = JSON.parse(readFileSync(COPY, "utf8")) as OcaCase[];
  t.is(copy.length, 107);
  t.is(new Set(copy.map((c) => c.id)).size, 107);
  if (!existsSync(SHARED)) {
    t.log(`${SHARED} absent: the committed copy is the list`);
    return;
  }
  const shared = (JSON.parse(readFileSync(SHARED, "utf8")) as Array<Record<string, unknown>>).map((c) => ({ id: c["id"], title: c["title"] }));
  t.deepEqual(copy, shared);
});

test("every OCA 1.6 case is covered by a test titled after it, or listed as not applicable with a reason", (t) => {
  const { list, from } = cases();
  const table = JSON.parse(readFileSync(TABLE, "utf8")) as NotCovered[];
  const byId = new Map(list.map((c) => [c.id, c]));
  const covered = titled();
  const listed = new Map<string, NotCovered>();
  const problems: string[] = [];
  for (const n of table) {
    if (listed.has(n.id)) problems.push(`${n.id} listed twice`);
    listed.set(n.id, n);
    const c = byId.get(n.id);
    if (!c) problems.push(`${n.id} listed but not an OCA 1.6 case`);
    else if (c.title !== n.title) problems.push(`${n.id}: title "${n.title}" differs from the OCA title "${c.title}"`);
    if (n.kind !== "not-applicable" && n.kind !== "not-implemented") problems.push(`${n.id}: kind must be not-applicable or not-implemented`);
    if (typeof n.reason !== "string" || n.reason.trim().length < 20) problems.push(`${n.id}: no precise reason`);
    if (covered.has(n.id)) problems.push(`${n.id} is listed as ${n.kind} but ${[...covered.get(n.id)!].join(", ")} has a test titled after it`);
  }
  for (const id of covered.keys()) if (!byId.has(id)) problems.push(`a test is titled after ${id}, which is not an OCA 1.6 case`);
  const missing = list.filter((c) => !covered.has(c.id) && !listed.has(c.id));
  for (const c of missing) problems.push(`${c.id} ${c.title}: neither tested nor listed`);
  const n = (kind: string) => table.filter((x) => x.kind === kind).length;
  const testedCount = list.filter((c) => covered.has(c.id)).length;
  t.log(`OCA 1.6 (${path.basename(from)}): ${list.length} cases; covered by a test: ${testedCount}; not applicable: ${n("not-applicable")}; not implemented: ${n("not-implemented")}`);
  for (const x of table) t.log(`  ${x.id} [${x.kind}] ${x.reason}`);
  t.deepEqual(problems, []);
  t.is(testedCount + table.length, list.length);
});
