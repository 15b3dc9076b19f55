/**
 * `npm run build` (after tsc): the firmware as ES modules for mcconfig (dist/mc), the single-file
 * platform-neutral ES module bundle (dist/firmware.js) and the XS guest used by CI (dist/xs-guest.js).
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { buildModdable } from "./build-mc.js";
import { bundleFirmware, bundleXsGuest } from "./bundle.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function main(): Promise<void> {
  const mc = await buildModdable(root);
  const fw = await bundleFirmware(root);
  const guest = await bundleXsGuest(root);
  if (!process.env["BUILD_QUIET"] && process.argv.includes("--verbose")) {
    process.stdout.write(`dist/mc: ${mc.modules} modules; dist/firmware.js: ${fw.bytes} bytes; dist/xs-guest.js: ${guest.bytes} bytes\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
