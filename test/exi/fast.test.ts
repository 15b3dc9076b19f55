/**
 * The generated straight-line codec of the hot messages (grammars/<id>.fast.ts) against the generic table-driven
 * codec: the same decoded JSON (or the same ExiError) and the same bytes (or the same encoder error) for every
 * reference vector, for mutated streams and for seeded random documents of the hot messages; and the hot vectors
 * really take the fast path.
 */
import test from "ava";
import { ExiDecoder, ExiEncoder, ExiError, type ExiGrammar, type ExiObject } from "../../firmware/iso15118/exi/index.js";
import { grammar as din } from "../../firmware/iso15118/exi/grammars/din.js";
import { grammar as iso2 } from "../../firmware/iso15118/exi/grammars/iso2.js";
import { Prng } from "../../firmware/util/prng.js";
import { HOT_MESSAGES } from "../../tools/gen-exi/fast.js";
import { loadVectors, randomExiDocument } from "../../tools/exi-fuzz.js";

const GR: Record<string, ExiGrammar> = { din, iso2 };
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));

type Outcome = { ok: true; value: unknown; consumed?: number } | { ok: false; error: string };

function run(f: () => unknown, consumed?: () => number): Outcome {
  try {
    const value = f();
    return consumed ? { ok: true, value, consumed: consumed() } : { ok: true, value };
  } catch (e) {
    if (!(e instanceof ExiError)) return { ok: false, error: `NOT AN ExiError: ${String(e)}` };
    return { ok: false, error: `${e.message} | bit ${e.bit} | ${e.state}` };
  }
}

function pair(): { fd: ExiDecoder; gd: ExiDecoder; fe: ExiEncoder; ge: ExiEncoder } {
  const gd = new ExiDecoder();
  gd.useFast = false;
  const ge = new ExiEncoder();
  ge.useFast = false;
  return { fd: new ExiDecoder(), gd, fe: new ExiEncoder(), ge };
}

function sameDecode(t: import("ava").ExecutionContext, g: ExiGrammar, b: Uint8Array, c: ReturnType<typeof pair>, what: string): boolean {
  const a = run(() => c.fd.decode(g, b), () => c.fd.consumed);
  const z = run(() => c.gd.decode(g, b), () => c.gd.consumed);
  t.deepEqual(a, z, what);
  return c.fd.fastHit;
}

function sameEncode(t: import("ava").ExecutionContext, g: ExiGrammar, doc: ExiObject, c: ReturnType<typeof pair>, what: string): boolean {
  const a = run(() => c.fe.encode(g, doc));
  const z = run(() => c.ge.encode(g, doc));
  t.deepEqual(a, z, what);
  return c.fe.fastHit;
}

test("hot reference vectors take the fast path and agree with the generic codec", (t) => {
  const c = pair();
  let hot = 0;
  for (const v of loadVectors()) {
    const g = GR[v.protocol];
    if (!g) continue;
    const b = unhex(v.hex);
    const fastD = sameDecode(t, g, b, c, `${v.protocol} ${v.message} decode`);
    const doc = c.gd.decode(g, b);
    const fastE = sameEncode(t, g, doc, c, `${v.protocol} ${v.message} encode`);
    if (HOT_MESSAGES[v.protocol]!.includes(v.message)) {
      hot++;
      // a hot message without a charging profile (the only repeated element in them) is covered
      if (!JSON.stringify(doc).includes("ProfileEntry")) {
        t.true(fastD, `${v.protocol} ${v.message} decoded by the fast path`);
        t.true(fastE, `${v.protocol} ${v.message} encoded by the fast path`);
      }
    } else {
      t.false(fastD, `${v.protocol} ${v.message} is not a hot message`);
    }
  }
  if (hot === 0) {
    // no shared vectors: the inline DIN CurrentDemandReq
    const b = unhex("809a0223e95ff78afebf9e10d1400780c0c00404050320000c203e804080e1807c00018103200c0814010140b800");
    t.true(sameDecode(t, din, b, c, "inline CurrentDemandReq"));
  }
});

test("mutated hot streams: fast and generic decoders agree (seed 11)", (t) => {
  const r = new Prng(11);
  const c = pair();
  const seeds = loadVectors().filter((v) => GR[v.protocol] && HOT_MESSAGES[v.protocol]!.includes(v.message));
  if (seeds.length === 0) seeds.push({ protocol: "din", message: "CurrentDemandReq", hex: "809a0223e95ff78afebf9e10d1400780c0c00404050320000c203e804080e1807c00018103200c0814010140b800" } as (typeof seeds)[number]);
  let fastHits = 0;
  for (let i = 0; i < 20_000; i++) {
    const s = seeds[Math.floor(r.float() * seeds.length)]!;
    let b = unhex(s.hex);
    const op = Math.floor(r.float() * 4);
    const at = Math.floor(r.float() * b.length);
    if (op === 0) b[at] = b[at]! ^ (1 << Math.floor(r.float() * 8));
    else if (op === 1) b[at] = Math.floor(r.float() * 256);
    else if (op === 2) b = b.slice(0, at);
    else {
      b[at] = b[at]! ^ (1 << Math.floor(r.float() * 8));
      const at2 = Math.floor(r.float() * b.length);
      b[at2] = b[at2]! ^ (1 << Math.floor(r.float() * 8));
    }
    if (sameDecode(t, GR[s.protocol]!, b, c, `seed 11 #${i} ${s.protocol} ${Buffer.from(b).toString("hex")}`)) fastHits++;
  }
  t.true(fastHits > 1000, `fast path taken ${fastHits} times`);
});

test("random hot documents: fast and generic codecs agree both ways (seed 20240611)", (t) => {
  const r = new Prng(20240611);
  const c = pair();
  let fastHits = 0;
  for (const id of ["din", "iso2"]) {
    const g = GR[id]!;
    for (let i = 0; i < 4000; i++) {
      const doc = randomExiDocument(g, r, "V2G_Message");
      if (!doc) continue;
      const body = (doc.V2G_Message as ExiObject).Body as ExiObject;
      if (!HOT_MESSAGES[id]!.some((m) => body[m] !== undefined)) continue;
      if (sameEncode(t, g, doc, c, `${id} seed 20240611 #${i}`)) fastHits++;
      const bytes = c.ge.encode(g, doc);
      sameDecode(t, g, bytes, c, `${id} seed 20240611 #${i} decode`);
      // the same document with a wrong value somewhere: both reject it the same way
      const bad = JSON.parse(JSON.stringify(doc)) as ExiObject;
      corrupt(bad, r);
      sameEncode(t, g, bad, c, `${id} seed 20240611 #${i} corrupted`);
    }
  }
  t.true(fastHits > 100, `fast path taken ${fastHits} times`);
});

/** Replaces one leaf (or adds an unknown key) somewhere in the document. */
function corrupt(o: ExiObject, r: Prng): void {
  const keys = Object.keys(o);
  const k = keys[Math.floor(r.float() * keys.length)];
  if (k === undefined || r.float() < 0.1) {
    o.Unknown = 1;
    return;
  }
  const v = o[k]!;
  if (typeof v === "object" && !Array.isArray(v) && r.float() < 0.7) return corrupt(v, r);
  const choices: ExiObject[string][] = ["x", -1, 1.5, 70000, "ZZ", [], {}, 2 ** 40, "0", 0];
  o[k] = choices[Math.floor(r.float() * choices.length)]!;
}

test("expected-path blocks (one 32-bit window per PhysicalValue): integer boundaries, optional fields absent, agree with the generic codec", (t) => {
  const c = pair();
  const values = [0, 1, -1, 127, 128, -128, -129, 16383, 16384, -16384, -16385, 2 ** 21, -(2 ** 21), 32767, -32768];
  let fastD = 0;
  let fastE = 0;
  let n = 0;
  for (const v of loadVectors()) {
    const g = GR[v.protocol];
    if (!g || !["CurrentDemandReq", "CurrentDemandRes"].includes(v.message)) continue;
    const base = c.gd.decode(g, unhex(v.hex));
    for (let k = 0; k < values.length; k++) {
      for (const dropUnit of [false, true]) {
        const doc = JSON.parse(JSON.stringify(base)) as ExiObject;
        let j = 0;
        const walk = (o: ExiObject): void => {
          for (const key of Object.keys(o)) {
            const x = o[key]!;
            if (typeof x !== "object" || Array.isArray(x)) continue;
            if (x.Multiplier !== undefined) {
              x.Value = values[(k + j++) % values.length]!;
              if (dropUnit && j % 2 === 0) delete x.Unit;
            } else walk(x);
          }
        };
        walk(doc);
        const what = `${v.protocol} ${v.message} values from #${k}${dropUnit ? " some Units dropped" : ""}`;
        if (sameEncode(t, g, doc, c, what)) fastE++;
        const r = run(() => c.ge.encode(g, doc));
        if (r.ok) {
          if (sameDecode(t, g, r.value as Uint8Array, c, `${what} decode`)) fastD++;
          n++;
        }
      }
    }
  }
  t.true(n > 0 && fastD > 0 && fastE > 0, `decoded ${n}, fast decode ${fastD}, fast encode ${fastE}`);
});

test("cached string encoding (the last EVSEID): empty, repeated, non-ASCII and alternating strings agree with the generic codec", (t) => {
  const c = pair();
  const v = loadVectors().find((x) => x.protocol === "iso2" && x.message === "CurrentDemandRes");
  const base = v ? c.gd.decode(iso2, unhex(v.hex)) : null;
  if (!base) {
    t.pass("no ISO-2 CurrentDemandRes vector");
    return;
  }
  let fast = 0;
  for (const id of ["ZZ00000", "ZZ00000", "", "", "DE*ABC*E1234567*1", "é€x\u00ff", "ZZ00000", "\ud800", "a".repeat(37), "a".repeat(38)]) {
    const doc = JSON.parse(JSON.stringify(base)) as ExiObject;
    (((doc.V2G_Message as ExiObject).Body as ExiObject).CurrentDemandRes as ExiObject).EVSEID = id;
    if (sameEncode(t, iso2, doc, c, `EVSEID ${JSON.stringify(id)}`)) fast++;
    const r = run(() => c.ge.encode(iso2, doc));
    if (r.ok) sameDecode(t, iso2, r.value as Uint8Array, c, `EVSEID ${JSON.stringify(id)} decode`);
  }
  t.true(fast >= 5, `fast encodes ${fast}`);
});
