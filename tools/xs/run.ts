/**
 * Child-process entry that runs a scenario with the firmware on the real XS engine:
 *
 *   node build/tools/xs/run.js --scenario simulator/scenarios/demo.json --trace out.trace.jsonl
 *        [--seed N] [--bundle dist/xs-guest.js] [--build] [--no-record-hal] [--config '{"k":v}']
 *
 * Writes the trace (JSON lines) to --trace and prints one summary JSON line on stdout.
 *
 * SES: @agoric/xsnap needs SES loaded, so '@endo/init' is imported FIRST, before the simulator: this
 * process is locked down (that is why XS runs here and not in an ava worker). Checked: `ws`, `ocpp-rpc`
 * and `mqtt` (client and server sides, over real sockets) work unchanged under @endo/init's default
 * lockdown; no taming options were needed.
 */
import "@endo/init";
import * as path from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runScenarioOnXs } from "./xs-simulation.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function parseArgs(argv: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (key === "build" || key === "no-record-hal") out[key] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`--${key} needs a value`);
      out[key] = v;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const bundle = path.resolve(root, (args.bundle as string | undefined) ?? "dist/xs-guest.js");
  if (args.build || !existsSync(bundle)) {
    const { bundleXsGuest } = await import("../bundle.js");
    await bundleXsGuest(root, { outFile: path.relative(root, bundle) });
  }
  const started = performance.now();
  const summary = await runScenarioOnXs({
    root,
    bundle,
    ...(typeof args.scenario === "string" ? { scenario: path.resolve(args.scenario) } : {}),
    ...(typeof args.seed === "string" ? { seed: Number(args.seed) } : {}),
    ...(typeof args.trace === "string" ? { traceFile: path.resolve(args.trace) } : {}),
    ...(typeof args.config === "string" ? { config: JSON.parse(args.config) as Record<string, unknown> } : {}),
    recordHal: !args["no-record-hal"],
  });
  process.stdout.write(JSON.stringify({ ...summary, wallMs: Math.round(performance.now() - started) }) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
  process.exit(1);
});
