/**
 * XSD -> schema model for the EXI grammar generator: global element declarations, named and anonymous complex
 * types (sequence/choice/element/any particles, attributes, simple content, extension), simple types resolved to
 * their EXI datatype (with facets: enumeration, min/max inclusive/exclusive).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parseXml, resolveQName, type XmlElement } from "./xml.js";

export const XSD = "http://www.w3.org/2001/XMLSchema";

export interface QName {
  ns: string;
  local: string;
}

/** EXI datatype of a simple type (the part of the type that decides its encoding). */
export type SimpleType =
  | { kind: "string"; name: string }
  | { kind: "binary"; name: string; base64: boolean }
  | { kind: "boolean"; name: string }
  | { kind: "integer"; name: string; min: number; max: number }
  | { kind: "enum"; name: string; values: string[]; numeric: boolean }
  | { kind: "unsupported"; name: string; what: string };

export interface AttrUse {
  name: QName;
  type: SimpleType;
  required: boolean;
}

export type Particle =
  | { kind: "elem"; decl: ElemDecl; min: number; max: number }
  | { kind: "any"; min: number; max: number }
  | { kind: "seq" | "choice"; items: Particle[]; min: number; max: number };

export interface ComplexType {
  name: string;
  ns: string;
  attrs: AttrUse[];
  content: Particle | null;
  simple: SimpleType | null;
  mixed: boolean;
}

export interface ElemDecl {
  name: QName;
  global: boolean;
  abstract: boolean;
  substitutionGroup?: QName;
  /** Resolved lazily (types may be recursive). */
  type: () => ComplexType | SimpleType;
}

const key = (q: QName): string => `{${q.ns}}${q.local}`;

export class SchemaSet {
  readonly globals = new Map<string, ElemDecl>();
  private readonly complexXml = new Map<string, { el: XmlElement; tns: string; schema: XmlElement }>();
  private readonly simpleXml = new Map<string, { el: XmlElement; tns: string }>();
  private readonly complexCache = new Map<XmlElement, ComplexType>();
  private readonly simpleCache = new Map<XmlElement | string, SimpleType>();
  private readonly loaded = new Set<string>();
  readonly namespaces = new Set<string>();

  load(file: string): void {
    let abs = path.resolve(file);
    // a schemaLocation that is not there (DIN's header names xmldsig next to itself): look one folder up
    if (!existsSync(abs) && existsSync(path.join(path.dirname(abs), "..", path.basename(abs)))) abs = path.resolve(path.dirname(abs), "..", path.basename(abs));
    if (this.loaded.has(abs)) return;
    this.loaded.add(abs);
    const schema = parseXml(readFileSync(abs, "utf8"));
    const tns = schema.attrs.targetNamespace ?? "";
    this.namespaces.add(tns);
    for (const c of schema.children) {
      if (c.ns !== XSD) continue;
      if ((c.local === "import" || c.local === "include") && c.attrs.schemaLocation) this.load(path.join(path.dirname(abs), c.attrs.schemaLocation));
    }
    for (const c of schema.children) {
      if (c.ns !== XSD) continue;
      const name = c.attrs.name;
      if (c.local === "element" && name) this.globals.set(key({ ns: tns, local: name }), this.elemDecl(c, tns, schema, true));
      else if (c.local === "complexType" && name) this.complexXml.set(key({ ns: tns, local: name }), { el: c, tns, schema });
      else if (c.local === "simpleType" && name) this.simpleXml.set(key({ ns: tns, local: name }), { el: c, tns });
    }
  }

  private elemDecl(el: XmlElement, tns: string, schema: XmlElement, global: boolean): ElemDecl {
    if (el.attrs.ref) {
      const q = resolveQName(el, el.attrs.ref);
      const self = this;
      const lazy: ElemDecl = {
        get name() {
          return self.globalDecl(q).name;
        },
        global: true,
        get abstract() {
          return self.globalDecl(q).abstract;
        },
        get substitutionGroup() {
          return self.globalDecl(q).substitutionGroup;
        },
        type: () => self.globalDecl(q).type(),
      } as ElemDecl;
      return lazy;
    }
    const qualified = global || (schema.attrs.elementFormDefault ?? "unqualified") === "qualified" || el.attrs.form === "qualified";
    const name: QName = { ns: qualified ? tns : "", local: el.attrs.name! };
    let cached: ComplexType | SimpleType | undefined;
    const type = (): ComplexType | SimpleType => {
      if (cached) return cached;
      if (el.attrs.type) cached = this.typeByName(resolveQName(el, el.attrs.type));
      else {
        const inline = el.children.find((c) => c.ns === XSD && (c.local === "complexType" || c.local === "simpleType"));
        if (!inline) cached = this.builtin("anyType");
        else if (inline.local === "complexType") cached = this.complex(inline, tns, schema, `${name.local}(anonymous)`);
        else cached = this.simple(inline, tns, `${name.local}(anonymous)`);
      }
      return cached;
    };
    const decl: ElemDecl = { name, global, abstract: el.attrs.abstract === "true", type };
    if (el.attrs.substitutionGroup) decl.substitutionGroup = resolveQName(el, el.attrs.substitutionGroup);
    return decl;
  }

  globalDecl(q: QName): ElemDecl {
    const d = this.globals.get(key(q));
    if (!d) throw new Error(`unknown element ${key(q)}`);
    return d;
  }

  /**
   * The head and the members of its substitution group, transitively. Abstract heads are kept: the streams of
   * both reference codecs carry an event code for them (ISO 15118-2's abstract BodyElement shifts every message
   * after "AuthorizationRes" by one).
   */
  substitutes(head: ElemDecl): ElemDecl[] {
    const out: ElemDecl[] = [];
    const visit = (h: ElemDecl): void => {
      out.push(h);
      for (const g of this.globals.values()) {
        const sg = g.substitutionGroup;
        if (sg && sg.ns === h.name.ns && sg.local === h.name.local) visit(g);
      }
    };
    visit(head);
    return out;
  }

  isComplex(t: ComplexType | SimpleType): t is ComplexType {
    return "attrs" in t;
  }

  typeByName(q: QName): ComplexType | SimpleType {
    if (q.ns === XSD) return this.builtin(q.local);
    const k = key(q);
    const c = this.complexXml.get(k);
    if (c) return this.complex(c.el, c.tns, c.schema, q.local);
    const s = this.simpleXml.get(k);
    if (s) return this.simple(s.el, s.tns, q.local);
    throw new Error(`unknown type ${k}`);
  }

  private simpleByName(el: XmlElement, q: string): SimpleType {
    const t = this.typeByName(resolveQName(el, q));
    if (this.isComplex(t)) {
      if (t.simple) return t.simple;
      throw new Error(`${q} is not a simple type`);
    }
    return t;
  }

  builtin(local: string): SimpleType {
    const cached = this.simpleCache.get(local);
    if (cached) return cached;
    const BIG = Number.MAX_SAFE_INTEGER;
    let t: SimpleType;
    switch (local) {
      case "string": case "normalizedString": case "token": case "language": case "Name": case "NCName": case "ID": case "IDREF":
      case "ENTITY": case "NMTOKEN": case "anyURI":
        t = { kind: "string", name: local };
        break;
      case "hexBinary":
        t = { kind: "binary", name: local, base64: false };
        break;
      case "base64Binary":
        t = { kind: "binary", name: local, base64: true };
        break;
      case "boolean":
        t = { kind: "boolean", name: local };
        break;
      case "integer": t = { kind: "integer", name: local, min: -Infinity, max: Infinity }; break;
      case "nonNegativeInteger": t = { kind: "integer", name: local, min: 0, max: Infinity }; break;
      case "positiveInteger": t = { kind: "integer", name: local, min: 1, max: Infinity }; break;
      case "nonPositiveInteger": t = { kind: "integer", name: local, min: -Infinity, max: 0 }; break;
      case "negativeInteger": t = { kind: "integer", name: local, min: -Infinity, max: -1 }; break;
      case "long": t = { kind: "integer", name: local, min: -BIG, max: BIG }; break;
      case "int": t = { kind: "integer", name: local, min: -2147483648, max: 2147483647 }; break;
      case "short": t = { kind: "integer", name: local, min: -32768, max: 32767 }; break;
      case "byte": t = { kind: "integer", name: local, min: -128, max: 127 }; break;
      case "unsignedLong": t = { kind: "integer", name: local, min: 0, max: BIG }; break;
      case "unsignedInt": t = { kind: "integer", name: local, min: 0, max: 4294967295 }; break;
      case "unsignedShort": t = { kind: "integer", name: local, min: 0, max: 65535 }; break;
      case "unsignedByte": t = { kind: "integer", name: local, min: 0, max: 255 }; break;
      default:
        t = { kind: "unsupported", name: local, what: `xs:${local}` };
    }
    this.simpleCache.set(local, t);
    return t;
  }

  simple(el: XmlElement, tns: string, name: string): SimpleType {
    const cached = this.simpleCache.get(el);
    if (cached) return cached;
    const r = el.children.find((c) => c.ns === XSD && c.local === "restriction");
    let t: SimpleType;
    if (!r) t = { kind: "unsupported", name, what: "list/union simple type" };
    else {
      let base: SimpleType;
      if (r.attrs.base) base = this.simpleByName(r, r.attrs.base);
      else {
        const inner = r.children.find((c) => c.ns === XSD && c.local === "simpleType");
        base = inner ? this.simple(inner, tns, `${name}(base)`) : this.builtin("string");
      }
      t = this.restrict(base, r, name);
    }
    this.simpleCache.set(el, t);
    return t;
  }

  private restrict(base: SimpleType, r: XmlElement, name: string): SimpleType {
    const enums = r.children.filter((c) => c.ns === XSD && c.local === "enumeration").map((c) => c.attrs.value!);
    if (enums.length) return { kind: "enum", name, values: enums, numeric: base.kind === "integer" };
    if (base.kind === "integer") {
      let { min, max } = base;
      for (const f of r.children) {
        const v = Number(f.attrs.value);
        if (f.local === "minInclusive") min = Math.max(min, v);
        else if (f.local === "maxInclusive") max = Math.min(max, v);
        else if (f.local === "minExclusive") min = Math.max(min, v + 1);
        else if (f.local === "maxExclusive") max = Math.min(max, v - 1);
      }
      return { kind: "integer", name, min, max };
    }
    return { ...base, name } as SimpleType;
  }

  complex(el: XmlElement, tns: string, schema: XmlElement, name: string): ComplexType {
    const cached = this.complexCache.get(el);
    if (cached) return cached;
    const t: ComplexType = { name, ns: tns, attrs: [], content: null, simple: null, mixed: el.attrs.mixed === "true" };
    this.complexCache.set(el, t);
    const attrQualified = (schema.attrs.attributeFormDefault ?? "unqualified") === "qualified";
    const addAttrs = (holder: XmlElement): void => {
      for (const a of holder.children) {
        if (a.ns !== XSD) continue;
        if (a.local === "attribute") {
          const q: QName = { ns: attrQualified || a.attrs.form === "qualified" ? tns : "", local: a.attrs.name! };
          let type: SimpleType;
          if (a.attrs.type) type = this.simpleByName(a, a.attrs.type);
          else {
            const inner = a.children.find((c) => c.ns === XSD && c.local === "simpleType");
            type = inner ? this.simple(inner, tns, `${q.local}(attribute)`) : this.builtin("string");
          }
          t.attrs.push({ name: q, type, required: a.attrs.use === "required" });
        } else if (a.local === "anyAttribute") throw new Error(`${name}: anyAttribute is not supported`);
      }
    };
    const particleOf = (holder: XmlElement): Particle | null => {
      const p = holder.children.find((c) => c.ns === XSD && (c.local === "sequence" || c.local === "choice" || c.local === "all" || c.local === "group"));
      return p ? this.particle(p, tns, schema) : null;
    };
    const cc = el.children.find((c) => c.ns === XSD && c.local === "complexContent");
    const sc = el.children.find((c) => c.ns === XSD && c.local === "simpleContent");
    if (cc) {
      if (cc.attrs.mixed === "true") t.mixed = true;
      const d = cc.children.find((c) => c.ns === XSD && (c.local === "extension" || c.local === "restriction"))!;
      const base = this.typeByName(resolveQName(d, d.attrs.base!));
      if (d.local === "extension") {
        if (this.isComplex(base)) {
          t.attrs.push(...base.attrs);
          if (base.mixed) t.mixed = true;
        }
        const own = particleOf(d);
        const baseContent = this.isComplex(base) ? base.content : null;
        if (baseContent && own) t.content = { kind: "seq", items: [baseContent, own], min: 1, max: 1 };
        else t.content = baseContent ?? own;
        addAttrs(d);
      } else {
        t.content = particleOf(d);
        addAttrs(d);
        if (this.isComplex(base)) {
          for (const a of base.attrs) if (!t.attrs.some((x) => x.name.local === a.name.local && x.name.ns === a.name.ns)) t.attrs.push(a);
        }
      }
    } else if (sc) {
      const d = sc.children.find((c) => c.ns === XSD && (c.local === "extension" || c.local === "restriction"))!;
      const base = this.typeByName(resolveQName(d, d.attrs.base!));
      if (this.isComplex(base)) {
        t.attrs.push(...base.attrs);
        t.simple = d.local === "restriction" ? this.restrict(base.simple!, d, name) : base.simple;
      } else t.simple = d.local === "restriction" ? this.restrict(base, d, name) : base;
      addAttrs(d);
    } else {
      t.content = particleOf(el);
      addAttrs(el);
    }
    t.attrs.sort((a, b) => cmpQName(a.name, b.name));
    return t;
  }

  private particle(p: XmlElement, tns: string, schema: XmlElement): Particle {
    const min = p.attrs.minOccurs === undefined ? 1 : Number(p.attrs.minOccurs);
    const max = p.attrs.maxOccurs === undefined ? 1 : p.attrs.maxOccurs === "unbounded" ? Infinity : Number(p.attrs.maxOccurs);
    switch (p.local) {
      case "element":
        return { kind: "elem", decl: this.elemDecl(p, tns, schema, false), min, max };
      case "any":
        return { kind: "any", min, max };
      case "sequence":
      case "choice": {
        const items = p.children.filter((c) => c.ns === XSD && ["element", "any", "sequence", "choice"].includes(c.local)).map((c) => this.particle(c, tns, schema));
        return { kind: p.local === "sequence" ? "seq" : "choice", items, min, max };
      }
      default:
        throw new Error(`unsupported particle xs:${p.local}`);
    }
  }
}

/** EXI qname order: local name first, then namespace URI. */
export function cmpQName(a: QName, b: QName): number {
  return a.local < b.local ? -1 : a.local > b.local ? 1 : a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0;
}
