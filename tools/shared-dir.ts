/**
 * Where the project's read-only reference data (../shared: OCA lists, EXI/SLAC/SDP vectors, XSDs) is: beside the
 * repository (how CI and every checkout lay it out), or SHARED_DIR. The product never needs it; tests use it when
 * present.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is compiled to build/tools/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const SHARED_DIR: string = (() => {
  const candidates = [process.env["SHARED_DIR"], path.resolve(REPO_ROOT, "../shared"), "/work/shared"].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
})();
