#!/usr/bin/env node
/**
 * v2g-exi: decode and encode V2G EXI messages from the command line (for engineers reading captures).
 *   npx v2g-exi decode <app|din|iso2|iso20|iso20ac|iso20dc|iso20wpt|iso20acdp> <hex>   -> JSON on stdout
 *   npx v2g-exi encode <grammar> < message.json                                           -> hex on stdout
 * The hex may contain spaces or colons, and may start with the 8-byte V2GTP header (01 FE ...), which is skipped.
 * Errors name the bit position and the grammar state; exit code 1.
 */
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ExiDecoder, ExiEncoder, ExiError, type ExiDocument, type ExiGrammar } from "../firmware/iso15118/exi/index.js";
import { grammar as app } from "../firmware/iso15118/exi/grammars/app.js";
import { grammar as din } from "../firmware/iso15118/exi/grammars/din.js";
import { grammar as iso2 } from "../firmware/iso15118/exi/grammars/iso2.js";
import { grammar as iso20 } from "../firmware/iso15118/exi/grammars/iso20.js";
import { grammar as iso20ac } from "../firmware/iso15118/exi/grammars/iso20ac.js";
import { grammar as iso20acdp } from "../firmware/iso15118/exi/grammars/iso20acdp.js";
import { grammar as iso20dc } from "../firmware/iso15118/exi/grammars/iso20dc.js";
import { grammar as iso20wpt } from "../firmware/iso15118/exi/grammars/iso20wpt.js";

export const CLI_GRAMMARS: Record<string, ExiGrammar> = { app, din, iso2, iso20, iso20ac, iso20dc, iso20wpt, iso20acdp };

const USAGE = `usage: v2g-exi decode <${Object.keys(CLI_GRAMMARS).join("|")}> <hex>
       v2g-exi encode <grammar>   (reads the message JSON on stdin, prints hex)`;

export function parseHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, "").replace(/[\s:,-]/g, "");
  if (!/^[0-9a-fA-F]*$/.test(clean) || clean.length % 2) throw new Error("not a hex string");
  let bytes = Uint8Array.from(Buffer.from(clean, "hex"));
  // V2GTP header: version 0x01, inverted 0xFE, payload type (2), length (4)
  if (bytes.length >= 8 && bytes[0] === 0x01 && bytes[1] === 0xfe) bytes = bytes.subarray(8);
  return bytes;
}

/** Runs the CLI; returns the exit code. */
export function run(args: string[], stdin: () => string, out: (s: string) => void, err: (s: string) => void): number {
  const [cmd, gname, hex] = args;
  const g = gname ? CLI_GRAMMARS[gname] : undefined;
  if ((cmd !== "decode" && cmd !== "encode") || !g || (cmd === "decode" && hex === undefined)) {
    err(`${USAGE}\n`);
    return 2;
  }
  try {
    if (cmd === "decode") {
      const doc = new ExiDecoder().decode(g, parseHex(hex!));
      out(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      const doc = JSON.parse(stdin()) as ExiDocument;
      out(`${Buffer.from(new ExiEncoder().encode(g, doc)).toString("hex")}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ExiError) err(`EXI error: ${e.message}\n  bit: ${e.bit} (byte ${e.bit >> 3}, bit ${e.bit & 7})\n  state: ${e.state || "-"}\n`);
    else err(`error: ${(e as Error).message}\n`);
    return 1;
  }
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = run(process.argv.slice(2), () => readFileSync(0, "utf8"), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
}
