/**
 * The message prefix of the generated fast codec (tools/gen-exi/fast.ts `prefix`): a hot message after a header
 * with only an 8-byte SessionID is decoded / encoded from the remembered prefix words of the last such message.
 * Sequences that take it (the same SessionID again and again) and that must leave it (another SessionID, a
 * Notification, extra keys at each level, arrays, null, other limits, a flipped bit in the prefix) agree with the
 * generic codec, bit for bit and error for error.
 */
import test from "ava";
import { ExiDecoder, ExiEncoder, ExiError, type ExiGrammar, type ExiObject } from "../../firmware/iso15118/exi/index.js";
import { grammar as din } from "../../firmware/iso15118/exi/grammars/din.js";
import { grammar as iso2 } from "../../firmware/iso15118/exi/grammars/iso2.js";
import { HOT_MESSAGES } from "../../tools/gen-exi/fast.js";
import { loadVectors } from "../../tools/exi-fuzz.js";

const GR: Record<string, ExiGrammar> = { din, iso2 };
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
const SID = "0A1B2C3D4E5F6071";

function run(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    if (!(e instanceof ExiError)) return { notExiError: String(e) };
    return { error: `${e.message} | bit ${e.bit} | ${e.state}` };
  }
}

function codecs(limits?: ConstructorParameters<typeof ExiDecoder>[0]) {
  const gd = new ExiDecoder(limits);
  gd.useFast = false;
  const ge = new ExiEncoder(limits);
  ge.useFast = false;
  return { fd: new ExiDecoder(limits), gd, fe: new ExiEncoder(limits), ge };
}

/** The hot messages of a grammar from the reference vectors, with the SessionID set to SID. */
function hotDocs(id: string): ExiObject[] {
  const g = GR[id]!;
  const gd = new ExiDecoder();
  gd.useFast = false;
  const out: ExiObject[] = [];
  for (const v of loadVectors()) {
    if (v.protocol !== id || !HOT_MESSAGES[id]!.includes(v.message)) continue;
    const doc = gd.decode(g, unhex(v.hex));
    if (JSON.stringify(doc).includes("ProfileEntry")) continue;
    ((doc.V2G_Message as ExiObject).Header as ExiObject).SessionID = SID;
    out.push(doc);
  }
  return out;
}

const copy = (o: ExiObject): ExiObject => JSON.parse(JSON.stringify(o)) as ExiObject;
const msg = (d: ExiObject): ExiObject => d.V2G_Message as ExiObject;

/** Variants of a hot document: the same prefix, and every way of leaving it. */
function variants(doc: ExiObject, other: ExiObject): [string, ExiObject][] {
  const v: [string, ExiObject][] = [["same", copy(doc)], ["same again", copy(doc)]];
  const add = (what: string, f: (d: ExiObject) => void): void => {
    const d = copy(doc);
    f(d);
    v.push([what, d], ["same after " + what, copy(doc)]);
  };
  add("other message", (d) => (msg(d).Body = msg(copy(other)).Body!));
  add("other SessionID", (d) => ((msg(d).Header as ExiObject).SessionID = "0A1B2C3D4E5F6072"));
  add("lower-case SessionID", (d) => ((msg(d).Header as ExiObject).SessionID = SID.toLowerCase()));
  add("short SessionID", (d) => ((msg(d).Header as ExiObject).SessionID = "0A1B"));
  add("Notification", (d) => ((msg(d).Header as ExiObject).Notification = { FaultCode: "ParsingError" }));
  add("Header extra key", (d) => ((msg(d).Header as ExiObject).Extra = 1));
  add("Header array", (d) => (msg(d).Header = Object.assign([], msg(d).Header as ExiObject) as unknown as ExiObject));
  add("Header null", (d) => (msg(d).Header = null as unknown as ExiObject));
  add("no Header", (d) => delete msg(d).Header);
  add("Body extra key", (d) => ((msg(d).Body as ExiObject).SessionStopReq = {}));
  add("Body array", (d) => (msg(d).Body = Object.assign([], msg(d).Body as ExiObject) as unknown as ExiObject));
  add("Body string", (d) => (msg(d).Body = "x"));
  add("empty Body", (d) => (msg(d).Body = {}));
  add("V2G_Message extra key", (d) => (msg(d).Extra = {}));
  add("V2G_Message array", (d) => (d.V2G_Message = Object.assign([], msg(d)) as unknown as ExiObject));
  add("message value wrong", (d) => {
    const b = msg(d).Body as ExiObject;
    const k = Object.keys(b)[0]!;
    (b[k] as ExiObject).ResponseCode = "NoSuchCode";
  });
  return v;
}

for (const id of ["din", "iso2"]) {
  test(`${id}: message prefix — repeated SessionID, and every way off it, agree with the generic codec`, (t) => {
    const g = GR[id]!;
    const docs = hotDocs(id);
    if (docs.length === 0) {
      t.pass("no hot vectors");
      return;
    }
    const c = codecs();
    let fastE = 0;
    let fastD = 0;
    for (let i = 0; i < docs.length; i++) {
      for (const [what, d] of variants(docs[i]!, docs[(i + 1) % docs.length]!)) {
        const label = `${id} #${i} ${what}`;
        const a = run(() => c.fe.encode(g, d));
        t.deepEqual(a, run(() => c.ge.encode(g, d)), `${label} encode`);
        if (c.fe.fastHit) fastE++;
        const r = run(() => c.ge.encode(g, d)) as { ok?: Uint8Array };
        if (!r.ok) continue;
        const bytes = r.ok;
        const dd = run(() => c.fd.decode(g, bytes));
        t.deepEqual(dd, run(() => c.gd.decode(g, bytes)), `${label} decode`);
        t.is(c.fd.consumed, c.gd.consumed, `${label} consumed`);
        if (c.fd.fastHit) fastD++;
        // one flipped bit in each of the prefix's 13 bytes, then the stream itself again
        for (let k = 0; k < 13 && k < bytes.length; k++) {
          const b = bytes.slice();
          b[k] = b[k]! ^ (1 << (k % 8));
          t.deepEqual(run(() => c.fd.decode(g, b)), run(() => c.gd.decode(g, b)), `${label} bit flip in byte ${k}`);
          t.deepEqual(run(() => c.fd.decode(g, bytes)), run(() => c.gd.decode(g, bytes)), `${label} after the flip in byte ${k}`);
        }
        // truncated after the prefix
        const cut = bytes.slice(0, 14);
        t.deepEqual(run(() => c.fd.decode(g, cut)), run(() => c.gd.decode(g, cut)), `${label} truncated`);
      }
    }
    t.true(fastE > docs.length * 10 && fastD > docs.length * 10, `fast encodes ${fastE}, fast decodes ${fastD}`);
  });

  test(`${id}: message prefix — a decoder / encoder with other limits does not use the prefix another one recorded`, (t) => {
    const g = GR[id]!;
    const docs = hotDocs(id);
    if (docs.length === 0) {
      t.pass("no hot vectors");
      return;
    }
    const c = codecs();
    const small = codecs({ maxInputBytes: 65536, maxStringLength: 4096, maxBinaryLength: 4, maxOccurrences: 1024, maxDepth: 24, maxNodes: 20000 });
    const bytes = c.ge.encode(g, docs[0]!);
    c.fd.decode(g, bytes);
    c.fd.decode(g, bytes);
    c.fe.encode(g, docs[0]!);
    c.fe.encode(g, docs[0]!);
    const a = run(() => small.fd.decode(g, bytes));
    t.deepEqual(a, run(() => small.gd.decode(g, bytes)));
    t.true(JSON.stringify(a).includes("error"), JSON.stringify(a));
    t.deepEqual(run(() => small.fe.encode(g, docs[0]!)), run(() => small.ge.encode(g, docs[0]!)));
    // and the first ones still agree afterwards
    t.deepEqual(run(() => c.fd.decode(g, bytes)), run(() => c.gd.decode(g, bytes)));
    t.deepEqual(run(() => c.fe.encode(g, docs[0]!)), run(() => c.ge.encode(g, docs[0]!)));
  });
}
