/**
 * Shared host side of the XS benches (tools/bench-*.ts, tools/xs/bench-*.ts): run a bench file as a child
 * process (xsnap needs SES lockdown, which must stay out of the caller) and read its JSON answer; in the child,
 * bundle a guest, launch xsnap on it and close it afterwards.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is build/tools/xs/bench-kit.js once compiled). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

type Xs = Awaited<ReturnType<typeof import("./host.js").XsFirmware.launch>>;

/** Runs `node file ...args` from the root; resolves with the JSON on the last line of its stdout. */
export function runChild(file: string, args: string[], label: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${label} child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as unknown);
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** In the child: SES lockdown, bundle `entry` (ESM) into `outFile`, launch xsnap on it, run fn, close. */
export async function withGuest<T>(entry: string, outFile: string, name: string, fn: (xs: Xs) => Promise<T>): Promise<T> {
  await import("@endo/init");
  const { bundleFirmware } = await import("../bundle.js");
  const { XsFirmware } = await import("./host.js");
  const b = await bundleFirmware(root, { format: "esm", entry, outFile });
  const xs = await XsFirmware.launch({ bundle: b.file, name, stdout: "ignore", historyLimit: 0 });
  try {
    return await fn(xs);
  } finally {
    await xs.close();
  }
}

/** Prints what run() resolves to as one JSON line; on a failure, the stack on stderr and exit code 1. */
export function printJson(run: Promise<unknown>): void {
  run.then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}

/** True when `here` is the script node was started with and its first argument is `flag`. */
export function isMain(here: string, flag?: string): boolean {
  return !!process.argv[1] && path.resolve(process.argv[1]) === here && (flag === undefined || process.argv[2] === flag);
}
