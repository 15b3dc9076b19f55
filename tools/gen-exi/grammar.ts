/**
 * Schema model -> EXI 1.0 schema-informed grammars (the normalized element grammars of EXI 1.0 section 8.5.4,
 * with strict=false event-code widths as the V2G profile streams use), serialized as compact number tables for
 * the runtime codec in firmware/iso15118/exi/.
 *
 * Construction: each complex type's grammar is the Glushkov automaton of the regular expression
 *   (attribute uses, sorted by qname, optional unless required) . (content particle | typed CH)
 * whose states are the positions (one per attribute use, element particle, wildcard, typed CH) plus the start
 * state; a state's productions are the positions that may follow it plus EE when the rest is nullable. This is
 * the grammar the spec's concatenation + epsilon elimination yields for UPA-valid schemas. Event codes are
 * assigned in the spec's order: AT(qname) sorted, SE(qname) in schema order (substitution group members sorted
 * by qname), SE(*), EE, CH. Bounded repetitions (maxOccurs = n > 1) are kept as one state with an occurrence
 * counter and an "exhausted" twin (the state reached after the n-th occurrence, without the repeat production),
 * which is exactly the spec's n copies without n states.
 * Widths: every element-grammar state has a second level in non-strict mode (xsi:type, xsi:nil, AT(*), SE(*),
 * CH untyped...), so its first-level code width is ceil(log2(n + 1)) for n declared productions; DocContent is
 * ceil(log2(globals + 1)) (SE(G_i)..., SE(*)).
 */
import { cmpQName, type AttrUse, type ComplexType, type ElemDecl, type Particle, type QName, type SchemaSet, type SimpleType } from "./xsd.js";

/** Production kinds (low 4 bits of the kind word), mirrored in firmware/iso15118/exi/grammar.ts. */
export const K = { EE: 0, SE: 1, SE_SIMPLE: 2, AT: 3, CH: 4, SE_ANY: 5, CH_MIXED: 6 } as const;
export const F_ARRAY = 16;
export const F_LOOP = 32;
export const F_ENTRY = 64;
/** Datatype kinds, mirrored in the runtime. */
export const D = { STRING: 0, BINARY: 1, BOOLEAN: 2, NBIT: 3, UINT: 4, INT: 5, ENUM: 6, UNSUPPORTED: 7 } as const;

interface Pos {
  id: number;
  kind: "at" | "se" | "any" | "ch";
  order: number;
  decls?: ElemDecl[];
  attr?: AttrUse;
  dt?: SimpleType;
  array: boolean;
  group: number; // counted repetition group, -1 if none
}

type Node =
  | { t: "pos"; p: Pos }
  | { t: "seq" | "alt"; items: Node[] }
  | { t: "opt" | "star" | "plus"; item: Node }
  | { t: "count"; item: Node; gid: number; max: number }
  | { t: "eps" };

interface Edge {
  to: Pos;
  flags: number;
}

interface Info {
  nullable: boolean;
  first: Pos[];
  last: Pos[];
}

export interface GenState {
  label: string;
  prods: GenProd[];
  escape: boolean;
  cntMax: number;
  exhausted: GenState | null;
  offset: number;
}

export interface GenProd {
  kind: number;
  flags: number;
  qname: number;
  /** SE: child start state; SE_SIMPLE/AT/CH: datatype index. */
  child: GenState | null;
  dt: number;
  next: GenState | null;
}

export const bitsFor = (n: number): number => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));

export class GrammarBuilder {
  readonly qnames: QName[] = [];
  private readonly qnameIdx = new Map<string, number>();
  readonly dts: number[][] = [];
  private readonly dtIdx = new Map<string, number>();
  readonly enums: string[][] = [];
  private readonly enumIdx = new Map<string, number>();
  readonly states: GenState[] = [];
  private readonly typeStart = new Map<ComplexType, GenState>();
  private readonly pending: Array<{ type: ComplexType; start: GenState }> = [];
  private posId = 0;
  private gid = 0;
  private readonly orderOf = new Map<object, number>();
  private orderNext = 0;
  private readonly warnings: string[] = [];

  constructor(private readonly schemas: SchemaSet) {}

  qname(q: QName): number {
    const k = `${q.ns}|${q.local}`;
    let i = this.qnameIdx.get(k);
    if (i === undefined) {
      i = this.qnames.length;
      this.qnames.push(q);
      this.qnameIdx.set(k, i);
    }
    return i;
  }

  dt(t: SimpleType): number {
    let row: number[];
    switch (t.kind) {
      case "string": row = [D.STRING, 0, 0, 0]; break;
      case "binary": row = [D.BINARY, t.base64 ? 1 : 0, 0, 0]; break;
      case "boolean": row = [D.BOOLEAN, 0, 0, 0]; break;
      case "integer":
        if (Number.isFinite(t.min) && Number.isFinite(t.max) && t.max - t.min < 4096) row = [D.NBIT, bitsFor(t.max - t.min + 1), t.min, t.max];
        else if (t.min >= 0) row = [D.UINT, 0, 0, 0];
        else row = [D.INT, 0, 0, 0];
        break;
      case "enum": {
        const k = JSON.stringify(t.values) + t.numeric;
        let e = this.enumIdx.get(k);
        if (e === undefined) {
          e = this.enums.length;
          this.enums.push(t.values);
          this.enumIdx.set(k, e);
        }
        row = [D.ENUM, e, t.numeric ? 1 : 0, 0];
        break;
      }
      default:
        this.warnings.push(`unsupported datatype ${t.name} (${t.what})`);
        row = [D.UNSUPPORTED, 0, 0, 0];
    }
    const k = row.join(",");
    let i = this.dtIdx.get(k);
    if (i === undefined) {
      i = this.dts.length;
      this.dts.push(row);
      this.dtIdx.set(k, i);
    }
    return i;
  }

  private newState(label: string): GenState {
    const s: GenState = { label, prods: [], escape: true, cntMax: 0, exhausted: null, offset: -1 };
    this.states.push(s);
    return s;
  }

  /** Start state of a complex type's grammar (built on demand). */
  typeGrammar(t: ComplexType): GenState {
    let s = this.typeStart.get(t);
    if (!s) {
      s = this.newState(`${t.name}: start`);
      this.typeStart.set(t, s);
      this.pending.push({ type: t, start: s });
    }
    return s;
  }

  /** Builds every pending type grammar. */
  drain(): void {
    while (this.pending.length) {
      const { type, start } = this.pending.shift()!;
      this.build(type, start);
    }
  }

  docContent(globals: ElemDecl[]): GenState {
    const s = this.newState("DocContent");
    s.escape = false;
    for (const g of globals) s.prods.push(this.seProd(g, 0, null));
    s.prods.push({ kind: K.SE_ANY, flags: 0, qname: 0, child: null, dt: 0, next: null });
    return s;
  }

  private seProd(d: ElemDecl, flags: number, next: GenState | null): GenProd {
    const t = d.type();
    const q = this.qname(d.name);
    if (this.schemas.isComplex(t)) return { kind: K.SE, flags, qname: q, child: this.typeGrammar(t), dt: 0, next };
    return { kind: K.SE_SIMPLE, flags, qname: q, child: null, dt: this.dt(t), next };
  }

  private pos(kind: Pos["kind"], key: object, sub: number, array: boolean, group: number): Pos {
    let o = this.orderOf.get(key);
    if (o === undefined) {
      o = this.orderNext;
      this.orderNext += 1024;
      this.orderOf.set(key, o);
    }
    return { id: this.posId++, kind, order: o + sub, array, group };
  }

  private particleNode(p: Particle, array: boolean, group: number): Node {
    const rep = p.max > 1;
    const once = (g: number): Node => {
      switch (p.kind) {
        case "elem": {
          const decls = p.decl.global ? this.schemas.substitutes(p.decl) : [p.decl];
          decls.sort((a, b) => cmpQName(a.name, b.name));
          const pos = this.pos("se", p, 0, array || rep, g);
          pos.decls = decls;
          return { t: "pos", p: pos };
        }
        case "any":
          return { t: "pos", p: this.pos("any", p, 0, array || rep, g) };
        default: {
          const items = p.items.map((c) => this.particleNode(c, array || rep, g));
          return { t: p.kind === "seq" ? "seq" : "alt", items };
        }
      }
    };
    if (p.max === 1) return p.min === 0 ? { t: "opt", item: once(group) } : once(group);
    const copies: Node[] = [];
    for (let i = 1; i < p.min; i++) copies.push(once(group));
    let loop: Node;
    if (p.max === Infinity) loop = p.min === 0 ? { t: "star", item: once(group) } : { t: "plus", item: once(group) };
    else {
      if (group >= 0) throw new Error("nested bounded repetitions are not supported");
      const gid = this.gid++;
      const c: Node = { t: "count", item: once(gid), gid, max: p.max - Math.max(0, p.min - 1) };
      loop = p.min === 0 ? { t: "opt", item: c } : c;
    }
    return copies.length ? { t: "seq", items: [...copies, loop] } : loop;
  }

  private build(t: ComplexType, start: GenState): void {
    const items: Node[] = [];
    for (const a of t.attrs) {
      const p = this.pos("at", a, 0, false, -1);
      p.attr = a;
      items.push(a.required ? { t: "pos", p } : { t: "opt", item: { t: "pos", p } });
    }
    const attrCount = items.length;
    if (t.simple) {
      const p = this.pos("ch", t, 0, false, -1);
      p.dt = t.simple;
      items.push({ t: "pos", p });
    } else if (t.content) items.push(this.particleNode(t.content, false, -1));
    const root: Node = { t: "seq", items };

    const follow = new Map<Pos, Edge[]>();
    const groups = new Map<number, { max: number; first: Set<Pos>; last: Set<Pos>; all: Set<Pos> }>();
    const addEdge = (from: Pos, to: Pos, flags: number): void => {
      let l = follow.get(from);
      if (!l) follow.set(from, (l = []));
      const e = l.find((x) => x.to === to);
      if (e) e.flags |= flags;
      else l.push({ to, flags });
    };
    const positions: Pos[] = [];
    const info = (n: Node): Info => {
      switch (n.t) {
        case "eps":
          return { nullable: true, first: [], last: [] };
        case "pos":
          positions.push(n.p);
          return { nullable: false, first: [n.p], last: [n.p] };
        case "seq": {
          const infos = n.items.map(info);
          for (let i = 0; i < infos.length; i++) {
            for (let j = i + 1; j < infos.length; j++) {
              for (const p of infos[i]!.last) for (const q of infos[j]!.first) addEdge(p, q, 0);
              if (!infos[j]!.nullable) break;
            }
          }
          const first: Pos[] = [];
          for (const x of infos) {
            first.push(...x.first);
            if (!x.nullable) break;
          }
          const last: Pos[] = [];
          for (let i = infos.length - 1; i >= 0; i--) {
            last.push(...infos[i]!.last);
            if (!infos[i]!.nullable) break;
          }
          return { nullable: infos.every((x) => x.nullable), first, last };
        }
        case "alt": {
          const infos = n.items.map(info);
          return { nullable: infos.some((x) => x.nullable), first: infos.flatMap((x) => x.first), last: infos.flatMap((x) => x.last) };
        }
        case "opt": {
          const x = info(n.item);
          return { ...x, nullable: true };
        }
        case "star":
        case "plus": {
          const x = info(n.item);
          for (const p of x.last) for (const q of x.first) addEdge(p, q, 0);
          return { ...x, nullable: n.t === "star" || x.nullable };
        }
        case "count": {
          const before = positions.length;
          const x = info(n.item);
          for (const p of x.last) for (const q of x.first) addEdge(p, q, F_LOOP);
          groups.set(n.gid, { max: n.max, first: new Set(x.first), last: new Set(x.last), all: new Set(positions.slice(before)) });
          return x;
        }
      }
    };
    const ri = info(root);

    const stateOf = new Map<Pos, GenState>();
    const label = (p: Pos): string => {
      const what = p.kind === "at" ? `@${p.attr!.name.local}` : p.kind === "se" ? p.decls!.map((d) => d.name.local).join("|") : p.kind === "any" ? "*" : "CH";
      return `${t.name}: after ${what}`;
    };
    const stateFor = (p: Pos): GenState => {
      let s = stateOf.get(p);
      if (!s) {
        s = this.newState(label(p));
        stateOf.set(p, s);
      }
      return s;
    };
    const contentStart: GenState | null = t.mixed ? this.newState(`${t.name}: content`) : null;
    const attrPositions = new Set(positions.slice(0, attrCount));
    const rank = (p: Pos): number => (p.kind === "at" ? 0 : p.kind === "se" ? 1 : p.kind === "any" ? 2 : 4);
    const fill = (s: GenState, from: Pos | null, edges: Edge[], ee: boolean, dropLoop: number): void => {
      const sorted = edges.filter((e) => !(dropLoop >= 0 && e.flags & F_LOOP && e.to.group === dropLoop)).sort((a, b) => rank(a.to) - rank(b.to) || a.to.order - b.to.order);
      const seen = new Set<string>();
      const prods: Array<GenProd & { r: number }> = [];
      for (const e of sorted) {
        const q = e.to;
        let flags = e.flags & F_LOOP;
        if (q.group >= 0 && !(e.flags & F_LOOP) && !(from && groups.get(q.group)!.all.has(from))) flags |= F_ENTRY;
        if (q.array) flags |= F_ARRAY;
        const next = stateFor(q);
        const check = (k: string): void => {
          if (seen.has(k)) throw new Error(`${t.name}: non-deterministic content model at ${k}`);
          seen.add(k);
        };
        if (q.kind === "at") {
          check(`@${q.attr!.name.local}`);
          prods.push({ r: 0, kind: K.AT, flags, qname: this.qname(q.attr!.name), child: null, dt: this.dt(q.attr!.type), next });
        } else if (q.kind === "se") {
          for (const d of q.decls!) {
            check(`${d.name.ns}|${d.name.local}`);
            prods.push({ r: 1, ...this.seProd(d, flags, next) });
          }
        } else if (q.kind === "any") {
          check("*");
          prods.push({ r: 2, kind: K.SE_ANY, flags, qname: 0, child: null, dt: 0, next });
        } else {
          check("CH");
          prods.push({ r: 4, kind: K.CH, flags, qname: 0, child: null, dt: this.dt(q.dt!), next });
        }
      }
      if (ee) prods.push({ r: 3, kind: K.EE, flags: 0, qname: 0, child: null, dt: 0, next: null });
      if (contentStart) {
        // mixed content: CH [untyped] in every state from which the content has begun or may begin
        const inContent = from !== null && !attrPositions.has(from);
        const remainingAttrsOptional = !inContent && t.attrs.every((a, i) => !a.required || (from !== null && i <= [...attrPositions].indexOf(from)));
        if (inContent) prods.push({ r: 5, kind: K.CH_MIXED, flags: 0, qname: 0, child: null, dt: 0, next: s });
        else if (remainingAttrsOptional) prods.push({ r: 5, kind: K.CH_MIXED, flags: 0, qname: 0, child: null, dt: 0, next: contentStart });
      }
      prods.sort((a, b) => a.r - b.r);
      s.prods = prods.map(({ r: _r, ...p }) => p);
    };
    // initial edges: first(root)
    fill(start, null, ri.first.map((to) => ({ to, flags: 0 })), ri.nullable, -1);
    const lastSet = new Set(ri.last);
    const done = new Set<Pos>();
    const queue = [...ri.first];
    const visit = (p: Pos): void => {
      if (done.has(p)) return;
      done.add(p);
      const s = stateFor(p);
      const edges = follow.get(p) ?? [];
      fill(s, p, edges, lastSet.has(p), -1);
      if (p.group >= 0) {
        const g = groups.get(p.group)!;
        if (g.last.has(p)) {
          s.cntMax = g.max;
          s.exhausted = this.newState(`${s.label} (maxOccurs reached)`);
          fill(s.exhausted, p, edges, lastSet.has(p), p.group);
        }
      }
      for (const e of edges) queue.push(e.to);
    };
    while (queue.length) visit(queue.shift()!);
    if (contentStart) {
      const cs = contentStart;
      const contentFirst = t.content ? ri.first.filter((p) => !attrPositions.has(p)) : [];
      // content start = the state after the last attribute with no attribute left
      const contentNullable = positions.slice(attrCount).length === 0 || ri.nullable || ri.last.some((p) => attrPositions.has(p));
      fill(cs, { id: -1, kind: "ch", order: 0, array: false, group: -1 }, contentFirst.length ? contentFirst.map((to) => ({ to, flags: 0 })) : this.contentFirstAfterAttrs(follow, attrPositions, positions, attrCount), contentNullable, -1);
      // the synthetic "from" above is not an attribute position, so fill() added CH -> cs itself
    }
  }

  private contentFirstAfterAttrs(follow: Map<Pos, Edge[]>, attrs: Set<Pos>, positions: Pos[], attrCount: number): Edge[] {
    // first(content) = the non-attribute successors of any attribute position (content follows every attribute)
    const out = new Map<Pos, Edge>();
    for (const p of positions.slice(0, attrCount)) for (const e of follow.get(p) ?? []) if (!attrs.has(e.to)) out.set(e.to, { to: e.to, flags: 0 });
    return [...out.values()];
  }

  warningsList(): string[] {
    return [...new Set(this.warnings)];
  }
}
