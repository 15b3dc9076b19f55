import test from "ava";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildModdable, rewriteSpecifiers } from "../../tools/build-mc.js";

/** build/test/moddable/ → repository root. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** ESP32 defaults of the Moddable SDK: chunk heap bytes, slot heap slots, stack slots. */
const ESP32 = { chunk: 78_848, heap: 4_928, stack: 512 };

type Json = Record<string, any>;
const readJson = async (path: string): Promise<Json> => JSON.parse(await readFile(path, "utf8"));
const manifestP = readJson(join(ROOT, "manifest.json"));

/** Modules that the Moddable SDK provides through the manifests the root manifest includes. */
const SDK_MODULES = new Set([
  "timer", "time", "preference", "base64", "instrumentation", "mc/config", "crypt", "rng", "ecdsa", "ecp", "curve",
]);

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

/** XS resolution of a specifier imported by module `from` (module names, no extension). */
function resolveLikeXs(from: string, spec: string): string {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return spec;
  const parts = from.split("/").slice(0, -1);
  for (const segment of spec.split("/")) {
    if (segment === "..") parts.pop();
    else if (segment !== ".") parts.push(segment);
  }
  return parts.join("/");
}

const built = (async () => {
  const outDir = await mkdtemp(join(tmpdir(), "mc-"));
  const result = await buildModdable(ROOT, { outDir });
  return { outDir, result };
})();
test.after.always(async () => rm((await built).outDir, { recursive: true, force: true }));

test("manifest.json has the required structure", async (t) => {
  const m = await manifestP;
  t.true(Array.isArray(m.include));
  t.true(m.include.includes("./dist/mc/manifest.json"), "includes the generated module list");
  t.is(typeof m.modules, "object");
  t.is(m.creation.main, "hal/moddable/main");
  t.truthy(m.platforms.esp32, "esp32 platform");
  t.truthy(m.platforms.lin, "lin platform");
  t.is(m.platforms.lin.modules["embedded:storage/flash"], "./dist/mc/hal/moddable/lin/flash");
});

test("creation sizes stay within the ESP32 defaults and cannot grow", async (t) => {
  const c = (await manifestP).creation;
  t.is(c.static, 0, "fixed pools, no static block");
  t.true(c.chunk.initial > 0 && c.chunk.initial <= ESP32.chunk, `chunk ${c.chunk.initial}`);
  t.true(c.heap.initial > 0 && c.heap.initial <= ESP32.heap, `heap ${c.heap.initial}`);
  t.true(c.stack > 0 && c.stack <= ESP32.stack, `stack ${c.stack}`);
  t.is(c.chunk.incremental, 0);
  t.is(c.heap.incremental, 0);
});

test("every module path the manifests reference exists after buildModdable()", async (t) => {
  const m = await manifestP;
  const { outDir, result } = await built;
  t.true(result.modules > 0);
  const local = (path: string) => join(outDir, path.replace(/^\.\/dist\/mc\//, ""));
  const paths: string[] = [...m.include, ...Object.values<string>(m.platforms.lin.modules)].filter((p) => p.startsWith("./dist/mc/"));
  t.true(paths.length >= 2);
  for (const p of paths) t.true(existsSync(p.endsWith(".json") ? local(p) : `${local(p)}.js`), p);
  const esp32Partitions = join(ROOT, m.platforms.esp32.build.PARTITIONS_FILE);
  t.true(existsSync(esp32Partitions), "partitions.csv");

  const generated = await readJson(join(outDir, "manifest.json"));
  for (const [target, source] of Object.entries<string>(generated.modules)) {
    t.true(target.endsWith("/*") && source === `./${target}`, target);
    const files = await readdir(join(outDir, target.slice(0, -2)));
    t.true(files.some((f) => f.endsWith(".js")), `${target} has modules`);
  }
  for (const name of generated.preload) t.true(existsSync(join(outDir, `${name}.js`)), name);
  t.false(generated.preload.includes(m.creation.main), "the entry point is not preloaded");
  t.true(existsSync(join(outDir, `${m.creation.main}.js`)), "creation.main is built");
});

test("dist/mc imports no Node built-in and every import resolves to a built or SDK module", async (t) => {
  const { outDir } = await built;
  const files = (await walk(outDir)).filter((f) => f.endsWith(".js"));
  const names = new Set(files.map((f) => f.slice(outDir.length + 1, -3).split("\\").join("/")));
  const builtins = new Set([...builtinModules, ...builtinModules.map((b) => `node:${b}`)]);
  const specifier = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"'\n]+)["']/g;
  let imports = 0;
  for (const file of files) {
    const name = file.slice(outDir.length + 1, -3).split("\\").join("/");
    for (const [, spec] of (await readFile(file, "utf8")).matchAll(specifier)) {
      imports++;
      t.false(builtins.has(spec), `${name} imports ${spec}`);
      t.false(/\.(m?js|ts)$/.test(spec), `${name}: "${spec}" keeps an extension`);
      const target = resolveLikeXs(name, spec);
      const known = names.has(target) || SDK_MODULES.has(target) || target.startsWith("embedded:");
      t.true(known, `${name}: "${spec}" resolves to unknown module "${target}"`);
    }
  }
  t.true(imports > 0);
});

test("rewriteSpecifiers drops .js from relative specifiers and rejects Node built-ins", (t) => {
  const code = `import a from "./a.js";\nexport * from "../b/c.js";\nimport T from "timer";\nconst d = import("./d.js");\n`;
  t.is(rewriteSpecifiers(code, "x.ts"), `import a from "./a";\nexport * from "../b/c";\nimport T from "timer";\nconst d = import("./d");\n`);
  t.throws(() => rewriteSpecifiers(`import fs from "node:fs";`, "x.ts"), { message: /Node built-in "node:fs"/ });
  t.throws(() => rewriteSpecifiers(`import { readFile } from "fs";`, "x.ts"), { message: /Node built-in "fs"/ });
});
