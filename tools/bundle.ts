/**
 * Firmware bundles (esbuild, platform "neutral", es2022, everything inlined):
 *  - dist/firmware.js   single-file ESM exporting `start` (format "esm", the default);
 *  - dist/xs-guest.js   a script for xsnap's evaluate(): the firmware plus the XS side of the HAL bridge
 *                       (tools/xs/guest.ts), which installs the global handleCommand (format "iife").
 * Every bundle is checked to contain no import/require left: it must run in a bare XS engine.
 *
 * CLI: node build/tools/bundle.js [root]   → builds both.
 */
import * as path from "node:path";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

export interface BundleOptions {
  /** Output file, relative to root. Default dist/firmware.js (esm) or dist/xs-guest.js (iife). */
  outFile?: string;
  /** Firmware entry (exports start(hal, config)), relative to root. Default firmware/main.ts. */
  entry?: string;
  /** For iife: the global the entry's exports are assigned to (optional; the guest installs handleCommand itself). */
  globalName?: string;
  /** "esm": the firmware alone; "iife": the XS guest (firmware + bridge). Default "esm". */
  format?: "esm" | "iife";
  /** For iife: the module providing installGuest(start, extra) (default tools/xs/guest.ts; the bench uses tools/xs/bench-guest.ts). */
  guest?: string;
  /** Minify (default false: readable stack traces in XS). */
  minify?: boolean;
}

export interface BundleResult {
  bytes: number;
  file: string;
}

export async function bundleFirmware(root: string, options: BundleOptions = {}): Promise<BundleResult> {
  const format = options.format ?? "esm";
  const entry = options.entry ?? "firmware/main.ts";
  const outFile = path.resolve(root, options.outFile ?? (format === "esm" ? "dist/firmware.js" : "dist/xs-guest.js"));
  const common = {
    bundle: true,
    platform: "neutral" as const,
    target: "es2022",
    format,
    outfile: outFile,
    metafile: true,
    minify: options.minify ?? false,
    legalComments: "none" as const,
    logLevel: "silent" as const,
    absWorkingDir: path.resolve(root),
    ...(options.globalName ? { globalName: options.globalName } : {}),
  };
  const guestPath = path.resolve(root, options.guest ?? "tools/xs/guest.ts");
  const entryPath = path.resolve(root, entry);
  const result =
    format === "esm"
      ? await build({ ...common, entryPoints: [entryPath] })
      : await build({
          ...common,
          stdin: {
            contents:
              `import { start } from ${JSON.stringify(entryPath)};\n` +
              `import { installGuest } from ${JSON.stringify(guestPath)};\n` +
              `import * as firmware from ${JSON.stringify(entryPath)};\n` +
              `installGuest(start, firmware.xsCommands);\n`,
            resolveDir: path.resolve(root),
            sourcefile: "xs-guest-entry.ts",
            loader: "ts",
          },
        });
  const text = await readFile(outFile, "utf8");
  checkSelfContained(text, result.metafile, outFile);
  return { bytes: Buffer.byteLength(text), file: outFile };
}

/** The XS guest bundle (firmware + bridge), dist/xs-guest.js by default. */
export function bundleXsGuest(root: string, options: Omit<BundleOptions, "format"> = {}): Promise<BundleResult> {
  return bundleFirmware(root, { ...options, format: "iife" });
}

/** Throws when a bundle still imports anything (external modules, require shims, dynamic import). */
export function checkSelfContained(text: string, metafile: Metafile | undefined, file: string): void {
  const problems: string[] = [];
  if (metafile) {
    for (const [out, info] of Object.entries(metafile.outputs)) {
      for (const imp of info.imports) problems.push(`${out} imports ${imp.path}${imp.external ? " (external)" : ""}`);
    }
  }
  if (/\b__require\b/.test(text)) problems.push("esbuild require shim (__require) present");
  if (/(^|[^.\w$])require\s*\(/m.test(text)) problems.push("require( present");
  if (/^\s*import(?:\s+[\w{*$]|\s*["'{*])/m.test(text)) problems.push("static import statement present");
  if (/(^|[^.\w$])import\s*\(/m.test(text)) problems.push("dynamic import( present");
  if (problems.length) throw new Error(`bundle ${file} is not self-contained:\n  ${problems.join("\n  ")}`);
}

async function main(): Promise<void> {
  const root = path.resolve(process.argv[2] ?? ".");
  const esm = await bundleFirmware(root);
  const guest = await bundleXsGuest(root);
  process.stdout.write(JSON.stringify({ firmware: esm, xsGuest: guest }) + "\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
    process.exit(1);
  });
}
