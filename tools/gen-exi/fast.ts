/**
 * Specialised straight-line EXI codecs for the hot V2G messages, generated from the same grammar tables as the
 * generic codec (tools/gen-exi/main.ts): one decode and one encode function per complex type reachable from the
 * document root, each state of the type's grammar a block of constant-width reads/writes and constant event codes.
 *
 * The fast path covers what the hot messages use: acyclic type grammars (no repeated elements, no occurrence
 * counters), no wildcards, the root element only. Anything else (another message, a Signature, a profile array,
 * a string-table hit, a truncated stream, a value the fast path does not handle, a limit) throws BAIL and the
 * generic, table-driven codec redoes the whole message: it then produces the result or the exact ExiError.
 * So the fast path may only ever succeed where the generic codec would succeed with the same result.
 */
import { bitsFor } from "./grammar.js";

export interface GrammarData {
  id: string;
  doc: number;
  names: string[];
  dts: number[];
  enums: string[][];
  table: number[];
}

// mirrored from firmware/iso15118/exi/grammar.ts
const P_EE = 0, P_SE = 1, P_SE_SIMPLE = 2, P_AT = 3, P_CH = 4;
const P_KIND = 15, F_ANYFLAG = 16 | 32 | 64;
const D_STRING = 0, D_BINARY = 1, D_BOOLEAN = 2, D_NBIT = 3, D_UINT = 4, D_INT = 5, D_ENUM = 6;
const S_HEADER = 5;

/** The hot messages per grammar (Body children): the request/response pairs of the charging loop. */
export const HOT_MESSAGES: Readonly<Record<string, readonly string[]>> = {
  din: ["CurrentDemandReq", "CurrentDemandRes", "ChargingStatusReq", "ChargingStatusRes", "PowerDeliveryReq", "PowerDeliveryRes"],
  iso2: ["CurrentDemandReq", "CurrentDemandRes", "ChargingStatusReq", "ChargingStatusRes", "PowerDeliveryReq", "PowerDeliveryRes"],
};

/**
 * The SessionID length the message prefix is generated for (DIN and ISO-2 SessionSetupRes give 8 bytes; a shorter
 * one, e.g. "00" before the session exists, just never takes the prefix).
 */
export const SESSION_ID_BYTES = 8;

interface Prod {
  kf: number;
  kind: number;
  q: number;
  arg: number;
  next: number;
  code: number;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const prop = (o: string, k: string): string => (IDENT.test(k) ? `${o}.${k}` : `${o}[${JSON.stringify(k)}]`);
const mask = (n: number): number => (n >= 31 ? 0x7fffffff : (1 << n) - 1);

export function generateFast(g: GrammarData, root: string, hot: readonly string[]): string {
  const t = g.table;
  const width = (s: number): number => t[s]!;
  const prods = (s: number): Prod[] => {
    const out: Prod[] = [];
    for (let c = 0; c < t[s + 1]!; c++) {
      const p = s + S_HEADER + c * 4;
      out.push({ kf: t[p]!, kind: t[p]! & P_KIND, q: t[p + 1]!, arg: t[p + 2]!, next: t[p + 3]!, code: c });
    }
    return out;
  };
  const excluded = (q: number): boolean => {
    const n = g.names[q]!;
    return /(Req|Res)$/.test(n) && !hot.includes(n);
  };

  // ---- which type grammars get functions
  interface TypeFn {
    start: number;
    states: number[];
    ok: boolean;
  }
  const types = new Map<number, TypeFn>();
  const analyse = (start: number): TypeFn => {
    let tf = types.get(start);
    if (tf) return tf;
    tf = { start, states: [], ok: true };
    types.set(start, tf);
    // states of this type grammar, topological order (fails on cycles)
    const mark = new Map<number, number>(); // 1 = on stack, 2 = done
    const post: number[] = [];
    const visit = (s: number): void => {
      const m = mark.get(s);
      if (m === 1) {
        tf!.ok = false;
        return;
      }
      if (m === 2) return;
      mark.set(s, 1);
      if (t[s + 2] !== 0) tf!.ok = false;
      for (const p of prods(s)) {
        if (p.kf & F_ANYFLAG) tf!.ok = false;
        if (p.kind !== P_EE) visit(p.next);
      }
      mark.set(s, 2);
      post.push(s);
    };
    visit(start);
    tf.states = post.reverse();
    if (!tf.ok) return tf;
    for (const s of tf.states)
      for (const p of prods(s)) if (p.kind === P_SE && !excluded(p.q)) analyse(p.arg);
    return tf;
  };
  const docProds = prods(g.doc);
  const rootProd = docProds.find((p) => g.names[p.q] === root && p.kind === P_SE);
  if (!rootProd) throw new Error(`${g.id}: no complex root ${root}`);
  const rootType = analyse(rootProd.arg);
  if (!rootType.ok) throw new Error(`${g.id}: root type not acyclic`);
  const supported = (start: number): boolean => types.get(start)?.ok === true;

  // ---- static bounds: depth, values (nodes), fixed bits of an encoding
  const memo = new Map<number, { depth: number; nodes: number; bits: number }>();
  const dtBits = (dt: number): number => {
    const k = g.dts[dt * 4]!;
    if (k === D_NBIT) return g.dts[dt * 4 + 1]!;
    if (k === D_BOOLEAN) return 1;
    if (k === D_ENUM) return bitsFor(g.enums[g.dts[dt * 4 + 1]!]!.length);
    return 65; // sign + uint (8 groups); binary/string length (their data is checked by the helpers)
  };
  const bounds = (start: number): { depth: number; nodes: number; bits: number } => {
    const m = memo.get(start);
    if (m) return m;
    const tf = types.get(start)!;
    let depth = 1;
    const best = new Map<number, { nodes: number; bits: number }>();
    for (const s of [...tf.states].reverse()) {
      let nodes = 0;
      let bits = 0;
      for (const p of prods(s)) {
        let pn = 0;
        let pb = width(s);
        if (p.kind !== P_EE) {
          const after = best.get(p.next)!;
          pn = 1 + after.nodes;
          pb += after.bits;
          if (p.kind === P_SE) {
            if (supported(p.arg) && !excluded(p.q)) {
              const c = bounds(p.arg);
              pn += c.nodes;
              pb += c.bits;
              depth = Math.max(depth, 1 + c.depth);
            }
          } else pb += dtBits(p.arg) + (p.kind === P_SE_SIMPLE ? 2 : 0);
        }
        nodes = Math.max(nodes, pn);
        bits = Math.max(bits, pb);
      }
      best.set(s, { nodes, bits });
    }
    const r = { depth, nodes: best.get(start)!.nodes, bits: best.get(start)!.bits };
    memo.set(start, r);
    return r;
  };
  const rb = bounds(rootType.start);
  const reserve = Math.ceil((rb.bits + 8 + width(g.doc)) / 8) + 16;

  // ---- the message prefix: the EXI header, the root's code, the header element with only its SessionID (of
  // SESSION_ID_BYTES bytes), the body's code and the hot message's code. In a session's charge loop these bits are
  // the same in every message (the SessionID repeats, no Notification, no Signature), so the codec remembers them:
  // decode compares them as 32-bit words with the last stream's (then only the message itself is decoded), encode
  // stores the last message's words (then only the message itself is encoded). Null when the root's grammar is not
  // [header][body][EE] with header = [binary][EE] and body = [the hot messages][EE].
  interface Prefix {
    /** Bits of the prefix (up to the hot message's content). */
    bits: number;
    /** The body type's start state (where the hot messages' codes are). */
    body: number;
    /** The element names: header, its binary field, body. */
    names: [string, string, string];
    hot: { name: string; code: number; type: number; k: number }[];
    /** The codes after the message (the body's EE, the root's EE) and their bits. */
    tail: number;
    tailBits: number;
  }
  const prefix = ((): Prefix | null => {
    const s0 = rootType.start;
    const ph = prods(s0)[0]!;
    if (ph.kind !== P_SE || !supported(ph.arg)) return null;
    const h0 = ph.arg;
    const sid = prods(h0)[0]!;
    if (sid.kind !== P_SE_SIMPLE || g.dts[sid.arg * 4] !== D_BINARY) return null;
    const hee = prods(sid.next).find((p) => p.kind === P_EE);
    const pb = prods(ph.next)[0]!;
    if (!hee || pb.kind !== P_SE || !supported(pb.arg)) return null;
    const ree = prods(pb.next).find((p) => p.kind === P_EE);
    const b0 = pb.arg;
    const ms = prods(b0)
      .filter((p) => p.kind === P_SE && hot.includes(g.names[p.q]!) && supported(p.arg))
      .map((p) => ({ name: g.names[p.q]!, code: p.code, type: p.arg, k: hot.indexOf(g.names[p.q]!), next: p.next }))
      // the tests in the order of the hot list (the charge loop's messages first)
      .sort((a, b) => a.k - b.k);
    if (!ree || ms.length === 0 || ms.some((p) => p.next !== ms[0]!.next)) return null;
    const bee = prods(ms[0]!.next).find((p) => p.kind === P_EE);
    if (!bee) return null;
    // header byte, root code, [Header], [SessionID][CH][length][bytes][EE], [header's EE], [Body], [message]
    const bits = 8 + width(g.doc) + width(s0) + width(h0) + 1 + 8 + 8 * SESSION_ID_BYTES + 1 + width(sid.next) + width(ph.next) + width(b0);
    const tailBits = width(ms[0]!.next) + width(pb.next);
    return { bits, body: b0, names: [g.names[ph.q]!, g.names[sid.q]!, g.names[pb.q]!], hot: ms.map(({ name, code, type, k }) => ({ name, code, type, k })), tail: (bee.code << width(pb.next)) | ree.code, tailBits };
  })();
  /** The statement that marks which hot message a body holds and where it starts (the prefix's end). */
  const hotMark = (s: number, p: Prod, cursor: "P" | "Q"): string => {
    if (prefix === null || s !== prefix.body) return "";
    const h = prefix.hot.find((x) => x.code === p.code);
    return h ? `HN = ${h.k}; H${cursor} = ${cursor}; ` : "";
  };

  // ---- enumerations used
  const enumLists = new Set<number>();
  const out: string[] = [];
  const emit = (s: string): void => {
    out.push(s);
  };

  // inline reads / writes of n constant bits at the module cursor
  // Reads go through the DataView R on the runtime's zero-padded copy of the stream (fast-runtime.ts beginRead):
  // 2 or 4 bytes in one call, ~10 units on XS against ~10 per byte read.
  const rd = (dst: string, n: number): string => {
    if (n === 0) return `${dst} = 0;`;
    if (n > 25) throw new Error(`read of ${n} bits`);
    if (n <= 9) return `${dst} = (R.getUint16(P >> 3) >>> (${16 - n} - (P & 7))) & ${mask(n)}; P += ${n};`;
    return `${dst} = (R.getUint32(P >> 3) >>> (${32 - n} - (P & 7))) & ${mask(n)}; P += ${n};`;
  };
  // Writes: the writer's buffer is zero from the byte after the cursor's on (BitWriter.reset clears what the last
  // message used, and every write puts zeros past its last bit), so only the cursor's own byte is ORed and the
  // bytes after it are stored whole: ~4 units less per byte on XS (no read-back), and two or more of them through
  // the DataView D on the same buffer in one call (~19 units for up to 4 bytes against ~14 per byte store). A
  // 32-bit store may put zeros one byte past the last one written (RESERVE leaves room; past the buffer it throws,
  // and the generic codec redoes the message).
  const wr = (expr: string, n: number): string => {
    if (n === 0) return "";
    if (expr === "0") return `Q += ${n};`;
    if (n > 25) throw new Error(`write of ${n} bits`);
    if (n <= 9) return `i = Q >> 3; y = (${expr}) << (${16 - n} - (Q & 7)); W[i] |= y >>> 8; W[i + 1] = y; Q += ${n};`;
    if (n <= 17) return `i = Q >> 3; y = (${expr}) << (${24 - n} - (Q & 7)); W[i] |= y >>> 16; D.setUint16(i + 1, y); Q += ${n};`;
    return `i = Q >> 3; y = (${expr}) << (${32 - n} - (Q & 7)); W[i] |= y >>> 24; D.setUint32(i + 1, y << 8); Q += ${n};`;
  };
  const fixedDt = (dt: number): boolean => {
    const k = g.dts[dt * 4]!;
    return k === D_NBIT || k === D_BOOLEAN || k === D_ENUM;
  };

  /** Decoding of a fixed-width value already in x at bit offset `sh` (n bits): an expression, or a check + expression. */
  const decFixed = (dt: number, raw: string): { check: string; value: string } => {
    const k = g.dts[dt * 4]!;
    const a = g.dts[dt * 4 + 1]!;
    const b = g.dts[dt * 4 + 2]!;
    const c = g.dts[dt * 4 + 3]!;
    if (k === D_BOOLEAN) return { check: "", value: raw };
    if (k === D_NBIT) {
      const check = c - b < mask(a) ? `if (${raw} > ${c - b}) throw BAIL; ` : "";
      return { check, value: b === 0 ? raw : `${raw} + ${b}` };
    }
    // enum
    enumLists.add(a * 2 + (b ? 1 : 0));
    const len = g.enums[a]!.length;
    const check = len < 1 << bitsFor(len) ? `if (${raw} >= ${len}) throw BAIL; ` : "";
    return { check, value: `EN${a}${b ? "n" : ""}[${raw}]!` };
  };

  // ---- chains: a fixed-width field followed by states with one (mandatory) fixed-width production each are read
  // or written as one bit group (codes of the chained states are 0, CH and EE bits 0)
  const fieldBits = (p: Prod): number => dtBits(p.arg) + (p.kind === P_SE_SIMPLE ? 2 : 0);
  const singleFixed = (st: number): Prod | null => {
    const ps = prods(st);
    if (ps.length !== 1) return null;
    const q = ps[0]!;
    return (q.kind === P_SE_SIMPLE || q.kind === P_AT) && fixedDt(q.arg) ? q : null;
  };
  /** The chain starting with production p (prefix bits before it): the productions and the state it ends in. */
  const chain = (p: Prod, prefix: number, withNextCode: boolean): { ps: Prod[]; end: number; total: number } => {
    const ps = [p];
    let total = prefix + fieldBits(p);
    let cur = p.next;
    for (;;) {
      const q = singleFixed(cur);
      if (!q || total + width(cur) + fieldBits(q) + (withNextCode ? width(q.next) : 0) > 25) break;
      total += width(cur) + fieldBits(q);
      ps.push(q);
      cur = q.next;
    }
    return { ps, end: cur, total: total + (withNextCode ? width(cur) : 0) };
  };
  /** Decoding statements of a chain read into x (total bits, prefix zero bits first); sets c and s. */
  const decChain = (ch: { ps: Prod[]; end: number; total: number }, prefix: number, idx: Map<number, number>): string => {
    let pos = ch.total - prefix;
    let zero = prefix ? mask(prefix) << pos : 0;
    const parts: string[] = [rd("x", ch.total)];
    const fields: string[] = [];
    ch.ps.forEach((q, k) => {
      if (k > 0) {
        const wk = width(stateOf(ch, k));
        pos -= wk;
        zero |= mask(wk) << pos;
      }
      const se = q.kind === P_SE_SIMPLE ? 1 : 0;
      const n = dtBits(q.arg);
      if (se) {
        pos -= 1;
        zero |= 1 << pos;
      }
      pos -= n;
      const f = decFixed(q.arg, "y");
      const dst = prop("o", g.names[q.q]!);
      fields.push(`y = (x >>> ${pos}) & ${mask(n)}; ${f.check}${dst} = ${f.value};`);
      if (se) {
        pos -= 1;
        zero |= 1 << pos;
      }
    });
    if (zero) parts.push(`if ((x & ${zero >>> 0}) !== 0) throw BAIL;`);
    parts.push(...fields);
    parts.push(`c = x & ${mask(pos)}; s = ${idx.get(ch.end)!};`);
    return parts.join(" ");
  };
  /** The state a chained production (k > 0) belongs to. */
  const stateOf = (ch: { ps: Prod[] }, k: number): number => {
    const prev = ch.ps[k - 1]!;
    return prev.next;
  };


  // ---- the expected path: from the start state, production 0 in every state (all event codes 0), simple fields
  // only (fixed-width values, integers before the last field as one 7-bit group, the last one of up to three), up to an EE. Decoded from one 32-bit window
  // with constant shifts and one mask compare for all event codes, CH and EE bits; encoded with one or two writes.
  // Anything else (another production, an integer of more than three 7-bit groups) falls back to the state blocks.
  interface Spec {
    /**
     * Fixed-width fields, and integers before the last field as one 7-bit group (`mid`: n = sign + 8 bits, the
     * group's continuation bit in `zero`, so a value of 128 or more leaves the path).
     */
    fields: { p: Prod; w: number; se: number; n: number; off: number; mid?: { sign: number } }[];
    /** The integer field (last), if any. */
    int: { p: Prod; w: number; se: number; sign: number; off: number } | null;
    /** Bits before the integer's first group (or all bits when there is none). */
    pre: number;
    /** Bits after the integer's last group: its EE and the final state's code. */
    tail: number;
    /** Structural bits (codes, CH, EE) of the prefix, as a mask over the 32-bit window. */
    zero: number;
  }
  const specOf = (start: number): Spec | null => {
    const fields: Spec["fields"] = [];
    let int: Spec["int"] = null;
    let s = start;
    let off = 0;
    let zero = 0;
    const z = (at: number, n: number): void => {
      if (n > 0) zero |= mask(n) << (32 - at - n);
    };
    for (let guard = 0; guard < 32; guard++) {
      const p = prods(s)[0]!;
      const w = width(s);
      if (p.kind === P_EE) {
        if (!int && fields.length < 2) return null;
        if (int) return { fields, int, pre: int.off, tail: int.se + w, zero };
        z(off, w);
        off += w;
        return off <= 32 ? { fields, int, pre: off, tail: 0, zero } : null;
      }
      if (int || (p.kind !== P_SE_SIMPLE && p.kind !== P_AT) || (p.kf & F_ANYFLAG) !== 0) return null;
      const se = p.kind === P_SE_SIMPLE ? 1 : 0;
      const dk = g.dts[p.arg * 4]!;
      z(off, w + se);
      off += w + se;
      if (fixedDt(p.arg)) {
        const n = dtBits(p.arg);
        fields.push({ p, w, se, n, off });
        off += n;
        z(off, se);
        off += se;
      } else if ((dk === D_INT || dk === D_UINT) && prods(p.next)[0]!.kind !== P_EE) {
        // an integer in the middle of the path: one 7-bit group on it (DC_EVSEStatus's NotificationMaxDelay, 0);
        // DIN DC_EVSEStatus on XS: the type's own function ~450 units, inline on the path ~200
        const sign = dk === D_INT ? 1 : 0;
        fields.push({ p, w, se, n: sign + 8, off, mid: { sign } });
        z(off + sign, 1);
        off += sign + 8;
        z(off, se);
        off += se;
      } else if (dk === D_INT || dk === D_UINT) {
        const sign = dk === D_INT ? 1 : 0;
        int = { p, w, se, sign, off: off + sign };
        off += sign;
        if (off + 8 > 32) return null;
      } else return null;
      if (off > 32) return null;
      s = p.next;
    }
    return null;
  };
  /** x := 32 bits at P (zeros past the end: the final P > E check rejects such a stream). */
  const rd32 = (dst: string): string => `i = P >> 3; y = P & 7; ${dst} = (R.getUint32(i) << y) | (B[i + 4]! >>> (8 - y));`;
  /** A write of n <= 32 bits (any alignment). */
  const wrAny = (expr: string, n: number): string => {
    if (n <= 25) return wr(expr, n);
    return `i = Q >> 3; y = (${expr}) << ${32 - n}; z = Q & 7; W[i] |= y >>> (24 + z); D.setUint32(i + 1, y << (8 - z)); Q += ${n};`;
  };
  /**
   * The function's locals, only those its body uses: a declared `let` costs ~4 units per call on XS whether used or
   * not (the PhysicalValue encoder uses 5 of 7).
   */
  const locals = (L: string[], at: number, names: string[]): void => {
    const body = L.slice(at + 1).join("\n");
    const used = names.filter((n) => new RegExp(`\\b${n}\\b`).test(body));
    if (used.length > 0) L[at] = `  let ${used.map((n) => `${n} = 0`).join(", ")};`;
    else L.splice(at, 1);
  };
  const litKey = (k: string): string => (IDENT.test(k) ? k : JSON.stringify(k));
  /**
   * The expected-path decode of a type. `at` undefined: the block in front of the type's own function (returns the
   * object). Otherwise inlined into a parent's state block: the object goes to `at.dst`, and the parent's next
   * event code (`at.wn` bits) is read with the last bits of the path into c, so the parent's own read after the
   * child goes too (PhysicalValue on XS: ~240 -> ~120 units per value, see ../README.md). `break sp` leaves the
   * block with P unchanged (the caller's fallback then reads the same bits the generic way).
   */
  const decSpec = (sp: Spec, at?: { dst: string; wn: number; ind: string }): string => {
    const L: string[] = [];
    const I = at ? at.ind : "  ";
    const wn = at ? at.wn : 0;
    L.push(`${I}sp: {`);
    L.push(`${I}  ${rd32("x")}`);
    L.push(`${I}  if ((x & ${sp.zero | 0}) !== 0) break sp;`);
    const vals: string[] = [];
    sp.fields.forEach((f, k) => {
      // a middle integer: its group's continuation bit is in the zero mask; signed: sign bit, then the group
      const d = f.mid ? { check: "", value: f.mid.sign ? `f${k} > 255 ? 255 - f${k} : f${k}` : `f${k}` } : decFixed(f.p.arg, `f${k}`);
      L.push(`${I}  const f${k} = (x >>> ${32 - f.off - f.n}) & ${mask(f.n)}; ${d.check}`);
      vals.push(`${litKey(g.names[f.p.q]!)}: ${d.value}`);
    });
    const it = sp.int;
    // T: the bits read after the integer's last group: its EE, the type's EE, the parent's next code
    const T = sp.tail + wn;
    const nextCode = wn > 0 ? ` c &= ${mask(wn)};` : "";
    if (it) {
      const g1 = 32 - sp.pre - 8;
      const val = it.sign ? `(x & ${(1 << (32 - sp.pre)) | 0}) !== 0 ? -y - 1 : y` : "y";
      L.push(`${I}  y = (x >>> ${g1}) & 255;`);
      L.push(`${I}  if (y < 128) {`);
      if (sp.pre + 8 + T <= 32) {
        if (sp.tail) L.push(`${I}    if ((x & ${mask(sp.tail) << (g1 - sp.tail)}) !== 0) break sp;`);
        if (wn > 0) L.push(`${I}    c = (x >>> ${g1 - T}) & ${mask(wn)};`);
        L.push(`${I}    P += ${sp.pre + 8 + T};`);
      } else {
        L.push(`${I}    P += ${sp.pre + 8}; ${rd("c", T)} if (${wn > 0 ? `c >>> ${wn}` : "c"} !== 0) { P -= ${sp.pre + 8 + T}; break sp; }${nextCode}`);
      }
      L.push(`${I}  } else {`);
      // second group and the tail in one read; a third group: one more read
      const chk = (128 << T) | (mask(sp.tail) << wn);
      L.push(`${I}    P += ${sp.pre + 8}; ${rd("c", 8 + T)}`);
      L.push(`${I}    if ((c & ${chk}) === 0) { y = (y & 127) + ((c >>> ${T}) << 7);${nextCode} }`);
      L.push(`${I}    else if (c < ${128 << T}) { P -= ${sp.pre + 16 + T}; break sp; }`);
      L.push(`${I}    else {`);
      L.push(`${I}      y = (y & 127) + (((c >>> ${T}) & 127) << 7); P -= ${T}; ${rd("c", 8 + T)}`);
      L.push(`${I}      if ((c & ${chk}) !== 0) { P -= ${sp.pre + 24 + T}; break sp; }`);
      L.push(`${I}      y += (c >>> ${T}) << 14;${nextCode}`);
      L.push(`${I}    }`);
      L.push(`${I}  }`);
      vals.push(`${litKey(g.names[it.p.q]!)}: ${val}`);
    } else if (sp.pre + wn <= 32) {
      if (wn > 0) L.push(`${I}  c = (x >>> ${32 - sp.pre - wn}) & ${mask(wn)};`);
      L.push(`${I}  P += ${sp.pre + wn};`);
    } else L.push(`${I}  P += ${sp.pre}; ${rd("c", wn)}`);
    if (at) L.push(`${I}  ${at.dst} = { ${vals.join(", ")} }; break ok;`);
    else L.push(`${I}  return { ${vals.join(", ")} };`);
    L.push(`${I}}`);
    return L.join("\n");
  };

  // ---- decoder functions
  const decodeType = (tf: TypeFn): void => {
    const idx = new Map(tf.states.map((s, k) => [s, k]));
    const L: string[] = [];
    L.push(`function d${tf.start}(): ExiObject {`);
    const decl = L.length;
    L.push("");
    const sp = specOf(tf.start);
    if (sp) L.push(decSpec(sp));
    L.push(`  const o: ExiObject = {};`);
    const sf = singleFixed(tf.start);
    const startChain = sf ? chain(sf, width(tf.start), true) : null;
    if (startChain && startChain.total <= 25) L.push(`  ${decChain(startChain, width(tf.start), idx)}`);
    else L.push(`  ${rd("c", width(tf.start))}`);
    const chained = startChain !== null && startChain.total <= 25;
    L.push(`  out: {`);
    tf.states.forEach((s, k) => {
      const ps = prods(s);
      L.push(`    ${k === 0 && !chained ? "" : `if (s === ${k}) `}{`);
      let first = true;
      for (const p of ps) {
        // A production the fast path does not take (an element of a type it does not cover, a message that is not
        // hot) gets no test of its own: the final else bails for it. In the Body, the hot messages' tests are then
        // the only ones (the Body's choice of ~35 messages: ~150-200 units less per message on XS).
        if (p.kind === P_SE && (!supported(p.arg) || excluded(p.q))) continue;
        if (p.kind !== P_EE && p.kind !== P_SE && p.kind !== P_SE_SIMPLE && p.kind !== P_AT && p.kind !== P_CH) continue;
        const cond = `${first ? "" : "else "}if (c === ${p.code})`;
        first = false;
        if (p.kind === P_EE) {
          L.push(`      ${cond} break out;`);
          continue;
        }
        const key = g.names[p.q]!;
        const wn = width(p.next);
        const to = `s = ${idx.get(p.next)!};`;
        let body: string;
        if (p.kind === P_SE) {
          if (!supported(p.arg) || excluded(p.q)) body = "throw BAIL;";
          else {
            const csp = specOf(p.arg);
            const dst = prop("o", key);
            // the child's expected path inline (its function stays the fallback)
            if (csp) body = `ok: {\n${decSpec(csp, { dst, wn, ind: "        " })}\n        ${dst} = d${p.arg}(); ${rd("c", wn)}\n      } ${to}`;
            else body = `${hotMark(s, p, "P")}${dst} = d${p.arg}(); ${rd("c", wn)} ${to}`;
          }
        } else if (p.kind === P_SE_SIMPLE || p.kind === P_AT || p.kind === P_CH) {
          const dst = p.kind === P_CH ? prop("o", "CONTENT") : prop("o", key);
          const se = p.kind === P_SE_SIMPLE ? 1 : 0;
          const dk = g.dts[p.arg * 4]!;
          if (p.kind !== P_CH && fixedDt(p.arg) && se + dtBits(p.arg) + se + wn <= 25) {
            body = decChain(chain(p, 0, true), 0, idx);
          } else if (se && (dk === D_INT || dk === D_UINT)) {
            // [CH][sign?][first 7-bit group][EE][next code] in one read; a longer varint rewinds
            const sg = dk === D_INT ? 1 : 0;
            const total = 1 + sg + 8 + 1 + wn;
            const val = sg ? `(x & ${1 << (total - 2)}) !== 0 ? -y - 1 : y` : "y";
            body =
              `${rd("x", total)} if (x >= ${1 << (total - 1)}) throw BAIL; y = (x >>> ${wn + 1}) & 255; ` +
              `if (y < 128) { if ((x & ${1 << wn}) !== 0) throw BAIL; c = x & ${mask(wn)}; } ` +
              `else { P -= ${1 + wn}; y = ruc(y, P); P = RP; ${rd("c", 1 + wn)} if (c >>> ${wn} !== 0) throw BAIL; c &= ${mask(wn)}; } ` +
              `${dst} = ${val}; ${to}`;
          } else {
            const parts: string[] = [];
            if (dk === D_INT) {
              parts.push(rd("x", se + 1));
              if (se) parts.push(`if (x > 1) throw BAIL;`);
              parts.push(`${dst} = x === 1 ? -ru(P) - 1 : ru(P); P = RP;`);
            } else {
              if (se) parts.push(`${rd("x", 1)} if (x !== 0) throw BAIL;`);
              if (dk === D_UINT) parts.push(`${dst} = ru(P); P = RP;`);
              else if (dk === D_BINARY) parts.push(`${dst} = rhex(P); P = RP;`);
              else if (dk === D_STRING) parts.push(`${dst} = rstr(P); P = RP;`);
              else if (fixedDt(p.arg)) {
                const f = decFixed(p.arg, "x");
                parts.push(`${rd("x", dtBits(p.arg))} ${f.check}${dst} = ${f.value};`);
              } else parts.push("throw BAIL;");
            }
            if (se) parts.push(`${rd("c", 1 + wn)} if (c >>> ${wn} !== 0) throw BAIL; c &= ${mask(wn)};`);
            else parts.push(rd("c", wn));
            parts.push(to);
            body = parts.join(" ");
          }
        } else body = "throw BAIL;";
        L.push(`      ${cond} { ${body} }`);
      }
      L.push(`      ${first ? "" : "else "}throw BAIL;`);
      L.push(`    }`);
    });
    L.push(`    throw BAIL;`);
    L.push(`  }`);
    L.push(`  return o;`);
    L.push(`}`);
    locals(L, decl, ["s", "c", "i", "x", "y"]);
    emit(L.join("\n"));
  };

  // ---- encoder functions
  const encFixed = (dt: number): { conv: string } => {
    // x := the raw field value from v, or throw BAIL
    const k = g.dts[dt * 4]!;
    const a = g.dts[dt * 4 + 1]!;
    const b = g.dts[dt * 4 + 2]!;
    const c = g.dts[dt * 4 + 3]!;
    if (k === D_BOOLEAN) return { conv: `x = v === 1 || (v as unknown) === true ? 1 : v === 0 || (v as unknown) === false ? 0 : -1; if (x < 0) throw BAIL;` };
    if (k === D_NBIT) return { conv: `x = v as number; if ((x | 0) !== x || x < ${b} || x > ${c}) throw BAIL;${b === 0 ? "" : ` x -= ${b};`}` };
    enumLists.add(a * 2 + (b ? 1 : 0));
    return { conv: `x = typeof v === "${b ? "number" : "string"}" ? EM${a}[v as string] ?? -1 : -1; if (x < 0) throw BAIL;` };
  };

  /**
   * The expected-path encode of a type. `at` undefined: the block in front of the type's own function. Otherwise
   * inlined into a parent's state block for the value in v: the parent's event code (`at.code`, `at.w` bits) goes
   * into the path's first write. `break sp` leaves the block with nothing written (the caller's fallback writes
   * the code and calls the function). Null when the code does not fit the first write.
   */
  const encSpec = (sp: Spec, at?: { w: number; code: number; ind: string }): string | null => {
    const L: string[] = [];
    const I = at ? at.ind : "  ";
    const o = at ? "r" : "o";
    const w = at ? at.w : 0;
    const pre = w + sp.pre;
    if (sp.int ? pre + 8 > 32 : pre > 32) return null;
    const n = sp.fields.length + (sp.int ? 1 : 0);
    L.push(`${I}sp: {`);
    // Inline, the value's type is not tested first: a non-object has no such keys (and null throws: the caller of
    // the fast path catches it, then the generic codec reports it), as the function's own test would bail.
    if (at) L.push(`${I}  const r = v as ExiObject;`);
    L.push(`${I}  if (Object.keys(${o}).length !== ${n}${at ? ` || Array.isArray(r)` : ""}) break sp;`);
    const parts: string[] = [];
    if (at && at.code !== 0) parts.push(String((at.code * 2 ** sp.pre) | 0));
    sp.fields.forEach((f, k) => {
      L.push(`${I}  if ((v = ${prop(o, g.names[f.p.q]!)}) === undefined) break sp;`);
      if (f.mid && f.mid.sign) L.push(`${I}  x = v as number; if ((x | 0) !== x) throw BAIL; if (x < -128 || x >= 128) break sp; const f${k} = x < 0 ? 255 - x : x;`);
      else if (f.mid) L.push(`${I}  x = v as number; if (x >>> 0 !== x) throw BAIL; if (x >= 128) break sp; const f${k} = x;`);
      else L.push(`${I}  ${encFixed(f.p.arg).conv} const f${k} = x;`);
      parts.push(`(f${k} << ${sp.pre - f.off - f.n})`);
    });
    const it = sp.int;
    if (!it) {
      L.push(`${I}  ${wrAny(parts.join(" | ") || "0", pre)}`);
    } else {
      L.push(`${I}  if ((v = ${prop(o, g.names[it.p.q]!)}) === undefined) break sp;`);
      if (it.sign) {
        L.push(`${I}  x = v as number; if ((x | 0) !== x) throw BAIL; if (x < -2097152 || x >= 2097152) break sp;`);
        L.push(`${I}  a = x < 0 ? -x - 1 : x;`);
        parts.push(`(x < 0 ? 1 : 0)`);
      } else {
        L.push(`${I}  x = v as number; if (x >>> 0 !== x) throw BAIL; if (x >= 2097152) break sp;`);
        L.push(`${I}  a = x;`);
      }
      const head = parts.join(" | ") || "0";
      L.push(`${I}  if (a < 128) {`);
      if (pre + 8 + sp.tail <= 32) L.push(`${I}    ${wrAny(`((${head}) << ${8 + sp.tail}) | (a << ${sp.tail})`, pre + 8 + sp.tail)}`);
      else L.push(`${I}    ${wrAny(`((${head}) << 8) | a`, pre + 8)} Q += ${sp.tail};`);
      L.push(`${I}  } else {`);
      L.push(`${I}    ${wrAny(`((${head}) << 8) | (a & 127) | 128`, pre + 8)}`);
      L.push(`${I}    if (a < 16384) { ${wr(`(a >>> 7) << ${sp.tail}`, 8 + sp.tail)} }`);
      L.push(`${I}    else { ${wr(`((((a >>> 7) & 127) | 128) << ${8 + sp.tail}) | ((a >>> 14) << ${sp.tail})`, 16 + sp.tail)} }`);
      L.push(`${I}  }`);
    }
    L.push(`${I}  ${at ? "break ok;" : "return;"}`);
    L.push(`${I}}`);
    return L.join("\n");
  };
  const encodeType = (tf: TypeFn): void => {
    const idx = new Map(tf.states.map((s, k) => [s, k]));
    const L: string[] = [];
    L.push(`function e${tf.start}(ov: ExiValue): void {`);
    L.push(`  if (typeof ov !== "object" || ov === null || Array.isArray(ov)) throw BAIL;`);
    L.push(`  const o = ov;`);
    const decl = L.length;
    L.push("");
    L.push(`  let v: ExiValue | undefined;`);
    const esp = specOf(tf.start);
    if (esp) L.push(encSpec(esp)!);
    L.push(`  out: {`);
    tf.states.forEach((s, k) => {
      const ps = prods(s);
      const w = width(s);
      L.push(`    ${k === 0 ? "" : `if (s === ${k}) `}{`);
      let first = true;
      let ee: Prod | undefined;
      for (const p of ps) {
        if (p.kind === P_EE) {
          ee = p;
          continue;
        }
        if (p.kind !== P_SE && p.kind !== P_SE_SIMPLE && p.kind !== P_AT && p.kind !== P_CH) continue;
        // A message that is not hot gets no test of its own: an object holding it bails anyway (its key is never
        // consumed, so the final key count differs, or no production is left), whatever else it holds. In the Body,
        // the hot messages' tests are then the only ones (~250-300 units less per message on XS).
        if (p.kind === P_SE && excluded(p.q)) continue;
        const key = p.kind === P_CH ? "CONTENT" : g.names[p.q]!;
        const cond = `${first ? "" : "else "}if ((v = ${prop("o", key)}) !== undefined)`;
        first = false;
        const to = `u++; s = ${idx.get(p.next)!};`;
        let body: string;
        if (p.kind === P_SE) {
          if (!supported(p.arg) || excluded(p.q)) body = "throw BAIL;";
          else {
            // the child's expected path inline, with this state's event code in its first write (its function stays
            // the fallback)
            const csp = specOf(p.arg);
            const inl = csp ? encSpec(csp, { w, code: p.code, ind: "        " }) : null;
            // (the inline block reuses v for the fields: the fallback reads the value again)
            if (inl) body = `ok: {\n${inl}\n        ${wr(String(p.code), w)} e${p.arg}(${prop("o", key)});\n      } ${to}`;
            else body = `${wr(String(p.code), w)} ${hotMark(s, p, "Q")}e${p.arg}(v); ${to}`;
          }
        } else {
          const se = p.kind === P_SE_SIMPLE ? 1 : 0;
          const dk = g.dts[p.arg * 4]!;
          if (p.kind !== P_CH && fixedDt(p.arg) && w + se + dtBits(p.arg) + se <= 25) {
            const ch = chain(p, w, false);
            let pos = ch.total - w;
            const parts: string[] = [];
            ch.ps.forEach((q, k) => {
              if (k > 0) {
                parts.push(`if ((v = ${prop("o", g.names[q.q]!)}) === undefined) throw BAIL;`);
                pos -= width(stateOf(ch, k));
              }
              const qse = q.kind === P_SE_SIMPLE ? 1 : 0;
              pos -= qse + dtBits(q.arg);
              parts.push(encFixed(q.arg).conv);
              parts.push(k === 0 ? `a = ${(p.code * 2 ** (ch.total - w)) >>> 0} | (x << ${pos});` : `a |= x << ${pos};`);
              pos -= qse;
            });
            body = `${parts.join(" ")} ${wr("a", ch.total)} u += ${ch.ps.length}; s = ${idx.get(ch.end)!};`;
          } else if (se && dk === D_INT) {
            body =
              `x = v as number; if ((x | 0) !== x) throw BAIL; ` +
              `if (x >= -128 && x < 128) { ${wr(`${p.code << 11} | (x < 0 ? 512 | ((-x - 1) << 1) : x << 1)`, w + 11)} } ` +
              `else { ${wr(`${p.code << 2} | (x < 0 ? 1 : 0)`, w + 2)} Q = wu(Q, x < 0 ? -x - 1 : x) + 1; } ${to}`;
          } else if (se && dk === D_UINT) {
            body =
              `x = v as number; if (x >>> 0 !== x) throw BAIL; ` +
              `if (x < 128) { ${wr(`${p.code << 10} | (x << 1)`, w + 10)} } ` +
              `else { ${wr(String(p.code << 1), w + 1)} Q = wu(Q, x) + 1; } ${to}`;
          } else if (dk === D_INT) {
            body = `x = v as number; if ((x | 0) !== x) throw BAIL; ${wr(`${p.code << (se + 1)} | (x < 0 ? 1 : 0)`, w + se + 1)} Q = wu(Q, x < 0 ? -x - 1 : x)${se ? " + 1" : ""}; ${to}`;
          } else {
            const helper =
              dk === D_UINT ? `x = v as number; if (x >>> 0 !== x) throw BAIL;` : dk === D_BINARY ? `if (typeof v !== "string") throw BAIL;` : dk === D_STRING ? `if (typeof v !== "string") throw BAIL;` : "throw BAIL;";
            const call = dk === D_UINT ? "wu(Q, x)" : dk === D_BINARY ? "whex(Q, v)" : dk === D_STRING ? "wstr(Q, v)" : "";
            body = `${helper} ${wr(String(p.code << se), w + se)} ${call ? `Q = ${call}${se ? " + 1" : ""}; ` : ""}${to}`;
          }
        }
        L.push(`      ${cond} { ${body} }`);
      }
      if (ee) L.push(`      ${first ? "" : "else "}{ ${wr(String(ee.code), w)} break out; }`);
      else L.push(`      ${first ? "" : "else "}throw BAIL;`);
      L.push(`    }`);
    });
    L.push(`    throw BAIL;`);
    L.push(`  }`);
    L.push(`  if (Object.keys(o).length !== u) throw BAIL;`);
    L.push(`}`);
    locals(L, decl, ["s", "u", "i", "x", "y", "a", "z"]);
    emit(L.join("\n"));
  };

  const fns = [...types.values()].filter((x) => x.ok).sort((a, b) => a.start - b.start);
  for (const tf of fns) decodeType(tf);
  for (const tf of fns) encodeType(tf);

  const wd = width(g.doc);
  const head = `// GENERATED by tools/gen-exi (npm run gen:exi) from the ${g.id} grammar tables. Do not edit.
// Straight-line codec of the hot messages (${hot.join(", ")}): ${fns.length} type grammars.
// Anything outside it throws BAIL and the generic codec (../codec.ts) redoes the message.
/* eslint-disable */
import type { BitWriter } from "../bits.js";
import type { ExiLimits, ExiObject, ExiValue } from "../codec.js";
import { BAIL, beginRead, beginWrite, em, RB, RD, RP, rhex, rstr, ru, ruc, whex, wstr, wu } from "../fast-runtime.js";
import type { ExiFast } from "../grammar.js";

/** The stream (the runtime's zero-padded copy) and the same bytes as a DataView. */
let B: Uint8Array = new Uint8Array(0);
let R: DataView = new DataView(B.buffer);
let P = 0;
let E = 0;
let W: Uint8Array = new Uint8Array(0);
/** W as a DataView (multi-byte stores). */
let D: DataView = new DataView(W.buffer);
let Q = 0;
/** Bits the fixed part of a hot message may take at most, in bytes, plus slack: the writer must hold it. */
const RESERVE = ${reserve};
`;
  const enums: string[] = [];
  for (const e of [...enumLists].sort((a, b) => a - b)) {
    const a = e >> 1;
    const numeric = (e & 1) === 1;
    const list = g.enums[a]!;
    const lit = numeric ? JSON.stringify(list.map(Number)) : JSON.stringify(list);
    if (numeric) enums.push(`const EN${a}n: number[] = ${lit};`);
    else enums.push(`const EN${a}: string[] = ${lit};`);
    if (!enums.includes(`const EM${a} = em(${JSON.stringify(list)});`)) enums.push(`const EM${a} = em(${JSON.stringify(list)});`);
  }
  const rootKey = prop("doc", root);
  // The message prefix (see `prefix`): its words as module variables, the decode test and record, the encode
  // stores and record.
  let pfxVars = "";
  let decPfx = "";
  let decRec = "";
  let encPfx = "";
  let encRec = "";
  if (prefix !== null) {
    const K = prefix.bits;
    const nw = K >> 5;
    const rem = K & 31;
    const words = nw + (rem > 0 ? 1 : 0);
    const [hn, sn, bn] = prefix.names;
    // the last partial word: its rem high bits (read as a byte, 16 or 32 bits)
    const rn = rem <= 8 ? 8 : rem <= 16 ? 16 : 32;
    const rget = (dv: string, bytes: string): string =>
      rn === 8 ? `${bytes}[${4 * nw}]! >>> ${8 - rem}` : `${dv}.getUint${rn}(${4 * nw}) >>> ${rn - rem}`;
    const pw = (v: string): string => Array.from({ length: words }, (_, k) => `${v}${k} = 0`).join(", ");
    pfxVars = `
// The message prefix (${K} bits: EXI header, root, ${hn} with only a ${SESSION_ID_BYTES}-byte ${sn}, ${bn}, the message's
// code; tools/gen-exi/fast.ts \`prefix\`): which hot message the last body held (HN, -1: none) and where it started
// (HP decoding, HQ encoding); the last decoded prefix (PN: message, -1 none; PS: the ${sn}; PL: the limits it was
// checked with; PW*: its words) and the last encoded one (EN, ES, EL, EW*).
let HN = -1, HP = 0, HQ = 0;
let PN = -1, PS = "", ${pw("PW")};
let PL: ExiLimits | null = null;
let EN = -1, ES = "", ${pw("EW")};
let EL: ExiLimits | null = null;
`;
    const cmp = [...Array.from({ length: nw }, (_, k) => `R.getUint32(${4 * k}) === PW${k}`), ...(rem > 0 ? [`(${rget("R", "B")}) === PW${nw}`] : [])];
    const chainD = prefix.hot.map((h, k) => `${k === 0 ? "" : "else "}if (PN === ${h.k}) b = { ${litKey(h.name)}: d${h.type}() };`).join(" ");
    // On XS (session host, both directions together): DIN 9,149 -> 7,978, ISO-2 DC 9,540 -> 8,369, ISO-2 AC 5,098 ->
    // 3,989 units: the root, Header and Body functions (and rhex / whex) no longer run in the charge loop.
    decPfx = `
  // The prefix equal to the last one recorded (same limits): the ${sn} and the message are known, the stream goes on
  // with the message's content (the bits read the same way the functions below would read them).
  if (PN >= 0 && limits === PL && ${cmp.join(" && ")}) {
    P = ${K};
    let b: ExiObject;
    ${chainD} else throw BAIL;
    ${rd("x", prefix.tailBits)}
    if (x !== ${prefix.tail} || P > E) throw BAIL;
    return { ${litKey(root)}: { ${litKey(hn)}: { ${litKey(sn)}: PS }, ${litKey(bn)}: b } };
  }
  HN = -1;`;
    decRec = `
  // a hot message after a header with only a ${SESSION_ID_BYTES}-byte ${sn}: its prefix is recorded
  if (HN >= 0 && HP === ${K}) {
    const h = (${rootKey} as ExiObject).${hn} as ExiObject;
    if (Object.keys(h).length === 1) {
      ${Array.from({ length: nw }, (_, k) => `PW${k} = R.getUint32(${4 * k});`).join(" ")}${rem > 0 ? ` PW${nw} = ${rget("R", "B")};` : ""}
      PS = h.${sn} as string;
      PN = HN;
      PL = limits;
    }
  }`;
    const chainE = prefix.hot.map((h, k) => `${k === 0 ? "" : "else "}if (EN === ${h.k}) r = b.${h.name};`).join(" ");
    const callE = prefix.hot.map((h, k) => `${k === 0 ? "" : "else "}if (EN === ${h.k}) e${h.type}(r);`).join(" ");
    const remMask = rem > 0 ? (mask(rem) << (rn - rem)) >>> 0 : 0;
    const rstore = rn === 8 ? `W[${4 * nw}] = EW${nw};` : `D.setUint${rn}(${4 * nw}, EW${nw});`;
    const rrec = rn === 8 ? `EW${nw} = W[${4 * nw}]! & ${remMask};` : `EW${nw} = D.getUint${rn}(${4 * nw}) & ${remMask};`;
    // only plain objects (arrays have a length, strings and numbers none of the keys; null throws: the generic
    // codec then reports it), with exactly the keys the functions below would take
    encPfx = `
    pf: if (EN >= 0 && limits === EL) {
      const m = v as ExiObject;
      const h = m.${hn} as ExiObject;
      const b = m.${bn} as ExiObject;
      if (h === undefined || b === undefined || m.length !== undefined || Object.keys(m).length !== 2) break pf;
      if (h.${sn} !== ES || h.length !== undefined || Object.keys(h).length !== 1) break pf;
      let r: ExiValue | undefined;
      ${chainE}
      if (r === undefined || b.length !== undefined || Object.keys(b).length !== 1) break pf;
      ${Array.from({ length: nw }, (_, k) => `D.setUint32(${4 * k}, EW${k});`).join(" ")}${rem > 0 ? ` ${rstore}` : ""}
      Q = ${K};
      ${callE}
      ${wr(String(prefix.tail), prefix.tailBits)}
      w.pos = Q;
      return true;
    }
    HN = -1;`;
    encRec = `
    if (HN >= 0 && HQ === ${K}) {
      const h = (v as ExiObject).${hn} as ExiObject;
      if (Object.keys(h).length === 1) {
        ${Array.from({ length: nw }, (_, k) => `EW${k} = D.getUint32(${4 * k});`).join(" ")}${rem > 0 ? ` ${rrec}` : ""}
        ES = h.${sn} as string;
        EN = HN;
        EL = limits;
      }
    }`;
  }
  const tail = `
/** Decodes a hot message, or throws BAIL. */
function decode(bytes: Uint8Array, limits: ExiLimits): ExiObject {
  beginRead(bytes, limits);
  B = RB;
  R = RD;
  P = 0;
  E = bytes.length * 8;
  let x = 0;${decPfx}
  ${rd("x", 8 + wd)}
  if (x !== ${(0x80 << wd) | rootProd.code}) throw BAIL;
  const doc: ExiObject = {};
  ${rootKey} = d${rootType.start}();
  if (P > E) throw BAIL;${decRec}
  return doc;
}

/** Encodes a hot message into w (reset by the caller) and returns true, or returns false (w.pos = bits touched). */
function encode(doc: ExiObject, w: BitWriter, limits: ExiLimits): boolean {
  W = w.buf;
  Q = 0;
  D = beginWrite(W, limits, RESERVE);
  try {
    if (W.length < RESERVE + 64) throw BAIL;
    const v = ${rootKey};
    if (v === undefined || Object.keys(doc).length !== 1) throw BAIL;
    let i = 0, y = 0;${encPfx}
    ${wr(String((0x80 << wd) | rootProd.code), 8 + wd)}
    e${rootType.start}(v);${encRec}
    w.pos = Q;
    return true;
  } catch {
    w.pos = Q;
    return false;
  }
}

export const fast: ExiFast = { decode, encode, consumed: () => (P + 7) >> 3, maxDepth: ${rb.depth}, maxNodes: ${rb.nodes + 1} };
`;
  return `${head}${pfxVars}\n${enums.join("\n")}\n\n${out.join("\n\n")}\n${tail}`;
}
