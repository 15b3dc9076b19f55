/** Seeded random messages built from every generated grammar round-trip: encode -> decode -> same JSON -> same bytes. */
import test from "ava";
import { ExiDecoder, ExiEncoder, type ExiGrammar, type ExiObject } from "../../firmware/iso15118/exi/index.js";
import { P_KIND, P_SE, S_HEADER, S_N } from "../../firmware/iso15118/exi/grammar.js";
import { grammar as app } from "../../firmware/iso15118/exi/grammars/app.js";
import { grammar as din } from "../../firmware/iso15118/exi/grammars/din.js";
import { grammar as iso2 } from "../../firmware/iso15118/exi/grammars/iso2.js";
import { grammar as iso20 } from "../../firmware/iso15118/exi/grammars/iso20.js";
import { grammar as iso20ac } from "../../firmware/iso15118/exi/grammars/iso20ac.js";
import { grammar as iso20acdp } from "../../firmware/iso15118/exi/grammars/iso20acdp.js";
import { grammar as iso20dc } from "../../firmware/iso15118/exi/grammars/iso20dc.js";
import { grammar as iso20wpt } from "../../firmware/iso15118/exi/grammars/iso20wpt.js";
import { Prng } from "../../firmware/util/prng.js";
import { randomExiDocument } from "../../tools/exi-fuzz.js";

const SEED = 20240611;

function roundTrip(t: import("ava").ExecutionContext, g: ExiGrammar, seed: number, count: number, root?: string): Map<string, number> {
  const r = new Prng(seed);
  const dec = new ExiDecoder();
  const enc = new ExiEncoder();
  const seen = new Map<string, number>();
  let done = 0;
  for (let i = 0; done < count && i < count * 3; i++) {
    const doc = randomExiDocument(g, r, root);
    if (!doc) continue;
    const bytes = enc.encode(g, doc);
    let back: ExiObject;
    try {
      back = dec.decode(g, bytes);
    } catch (e) {
      t.fail(`seed ${seed} #${i}: ${(e as Error).message}\n${JSON.stringify(doc)}`);
      return seen;
    }
    t.deepEqual(back, doc, `seed ${seed} #${i}`);
    t.deepEqual(enc.encode(g, back), bytes, `seed ${seed} #${i} re-encoding`);
    const top = doc[Object.keys(doc)[0]!] as ExiObject;
    const body = (top?.Body as ExiObject | undefined) ?? {};
    for (const k of Object.keys(body)) seen.set(k, (seen.get(k) ?? 0) + 1);
    done++;
  }
  t.true(done >= count * 0.9, `seed ${seed}: only ${done} documents built`);
  return seen;
}

/** Names of the Body members (every message of the set). */
function bodyMessages(g: ExiGrammar): string[] {
  const t = g.table;
  for (let s = 0; s < t.length; s += S_HEADER + 4 * t[s + S_N]!) {
    if (g.labels[t[s + 4]!] === "BodyType: start") {
      const out: string[] = [];
      for (let c = 0; c < t[s + S_N]!; c++) {
        const p = s + S_HEADER + c * 4;
        if ((t[p]! & P_KIND) === P_SE) out.push(g.names[t[p + 1]!]!);
      }
      return out;
    }
  }
  return [];
}

for (const [g, root] of [[din, "V2G_Message"], [iso2, "V2G_Message"]] as const) {
  test(`${g.id}: random V2G_Message of every message type round-trips (seed ${SEED})`, (t) => {
    const seen = roundTrip(t, g, SEED, 3000, root);
    const messages = bodyMessages(g).filter((m) => m !== "BodyElement");
    t.true(messages.length >= 30);
    for (const m of messages) t.true((seen.get(m) ?? 0) >= 10, `${m} generated ${seen.get(m) ?? 0} times (seed ${SEED})`);
  });
}

for (const g of [app, din, iso2, iso20, iso20ac, iso20dc, iso20wpt, iso20acdp]) {
  test(`${g.id}: random documents of any global element round-trip (seed ${SEED})`, (t) => {
    roundTrip(t, g, SEED + 1, 800);
  });
}
