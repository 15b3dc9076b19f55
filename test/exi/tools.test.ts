/** The generator output is in sync with the XSDs (when present), and the v2g-exi CLI decodes and encodes. */
import test from "ava";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { generate, GRAMMARS } from "../../tools/gen-exi/main.js";
import { run } from "../../tools/v2g-exi.js";
import { SHARED_DIR } from "../../tools/shared-dir.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const XSD = `${SHARED_DIR}/iso15118/xsd`;

test("committed grammars == generator output from the XSDs", (t) => {
  t.is(GRAMMARS.length, 8);
  for (const spec of GRAMMARS) {
    const file = path.join(root, "firmware/iso15118/exi/grammars", `${spec.id}.ts`);
    t.true(existsSync(file), file);
    if (!existsSync(XSD)) continue;
    const g = generate(spec, XSD);
    t.is(g.source, readFileSync(file, "utf8"), `${spec.id} is stale: npm run gen:exi`);
    if (g.fastSource !== undefined) {
      const fast = path.join(root, "firmware/iso15118/exi/grammars", `${spec.id}.fast.ts`);
      t.is(g.fastSource, readFileSync(fast, "utf8"), `${spec.id}.fast is stale: npm run gen:exi`);
    }
    t.deepEqual(g.stats.warnings, [], spec.id);
  }
});

function cli(args: string[], stdin = ""): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = run(args, () => stdin, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

test("v2g-exi decode / encode", (t) => {
  const d = cli(["decode", "app", "80 40 00 40"]);
  t.is(d.code, 0);
  t.deepEqual(JSON.parse(d.out), { supportedAppProtocolRes: { ResponseCode: "OK_SuccessfulNegotiation", SchemaID: 1 } });
  // with a V2GTP header
  t.is(cli(["decode", "app", "01fe80010000000480400040"]).code, 0);
  const e = cli(["encode", "din"], JSON.stringify({ V2G_Message: { Header: { SessionID: "00" }, Body: { SessionSetupReq: { EVCCID: "00E04C68001D" } } } }));
  t.is(e.code, 0);
  t.is(e.out.trim(), "809a004011d018038131a0007400");
  const bad = cli(["decode", "din", "809a0223e95ff78afebf9e11a0012002"]);
  t.is(bad.code, 1);
  t.regex(bad.err, /bit: \d+/);
  t.regex(bad.err, /state: ServiceTagType/);
  t.is(cli(["frobnicate"]).code, 2);
});
