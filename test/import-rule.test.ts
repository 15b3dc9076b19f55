/**
 * The house rule: firmware/ (and the HAL contract and drivers) is platform-neutral. It imports only
 * firmware/ and hal/ modules, never a Node built-in or a package, and never reaches for the wall clock,
 * Node timers, console, Buffer, URL, TextEncoder, structuredClone, process or Math.random.
 */
import test from "ava";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Source without comments and string/template contents (so that words in docs don't count). */
export function codeOnly(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const n = src[i + 1];
    if (c === "/" && n === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && n === "*") {
      i = src.indexOf("*/", i + 2);
      i = i < 0 ? src.length : i + 2;
    } else if (c === '"' || c === "'" || c === "`") {
      out += c;
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === "\\") i++;
        else if (src[i] === "\n" && c !== "`") break;
        i++;
      }
      out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const platformNeutral = [
  ...walk(path.join(root, "firmware")),
  ...readdirSync(path.join(root, "hal"))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => path.join(root, "hal", f)),
  ...(statSync(path.join(root, "hal"), { throwIfNoEntry: false }) && readdirSync(path.join(root, "hal")).includes("drivers") ? walk(path.join(root, "hal/drivers")) : []),
];

const FORBIDDEN: Array<[RegExp, string]> = [
  [/\bDate\.now\b/, "Date.now (use hal.clock)"],
  [/\bperformance\s*\./, "performance (use hal.clock)"],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bclearTimeout\b|\bclearInterval\b/, "Node/browser timers (use hal.timers)"],
  [/\bqueueMicrotask\b/, "queueMicrotask (XS has none)"],
  [/\bconsole\s*\./, "console (use hal.log)"],
  [/\bBuffer\b/, "Buffer (use Uint8Array)"],
  [/\bstructuredClone\b/, "structuredClone (XS has none)"],
  [/\bnew\s+URL\b|\bURL\s*\(|\bURLSearchParams\b/, "URL (XS has none)"],
  [/\bTextEncoder\b|\bTextDecoder\b/, "TextEncoder/TextDecoder (use firmware/util/utf8)"],
  [/\bprocess\s*\./, "process"],
  [/\brequire\s*\(/, "require"],
  [/\bMath\.random\b/, "Math.random (use the seeded PRNG or hal.crypto)"],
  [/\bglobalThis\b/, "globalThis"],
];

test("firmware/ and the HAL contract import only firmware/ and hal/ modules", (t) => {
  const problems: string[] = [];
  const importRe = /\b(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']/g;
  for (const file of platformNeutral) {
    const src = readFileSync(file, "utf8");
    for (const m of src.matchAll(importRe)) {
      const spec = m[1] ?? m[2]!;
      const rel = path.relative(root, file);
      if (!spec.startsWith(".")) {
        problems.push(`${rel}: imports "${spec}" (only relative imports inside firmware/ and hal/)`);
        continue;
      }
      const target = path.relative(root, path.resolve(path.dirname(file), spec));
      const ok = target.startsWith("firmware" + path.sep) || (target.startsWith("hal" + path.sep) && !target.startsWith(path.join("hal", "moddable")));
      if (!ok) problems.push(`${rel}: imports ${target} (outside firmware/ and hal/)`);
    }
  }
  t.deepEqual(problems, []);
  t.true(platformNeutral.length > 10, "the scan found the firmware sources");
});

test("firmware/ never reaches for the wall clock, Node timers or Node-only globals", (t) => {
  const problems: string[] = [];
  for (const file of platformNeutral) {
    const code = codeOnly(readFileSync(file, "utf8"));
    const lines = code.split("\n");
    lines.forEach((line, i) => {
      for (const [re, what] of FORBIDDEN) if (re.test(line)) problems.push(`${path.relative(root, file)}:${i + 1}: ${what}`);
    });
  }
  t.deepEqual(problems, []);
});

test("firmware/ uses no promises or async functions (event order must match on XS and Node)", (t) => {
  const problems: string[] = [];
  for (const file of walk(path.join(root, "firmware"))) {
    const lines = codeOnly(readFileSync(file, "utf8")).split("\n");
    lines.forEach((line, i) => {
      if (/\basync\s+(function\b|\(|[A-Za-z_$][\w$]*\s*\()|\bawait\b|\bPromise\b/.test(line)) problems.push(`${path.relative(root, file)}:${i + 1}`);
    });
  }
  t.deepEqual(problems, []);
});

test("the checker itself catches a violation", (t) => {
  const sample = codeOnly('// Date.now() in a comment is fine\nconst s = "setTimeout in a string is fine";\nconst t = Date.now();\n');
  const hits = sample.split("\n").filter((l) => FORBIDDEN.some(([re]) => re.test(l)));
  t.is(hits.length, 1);
});
