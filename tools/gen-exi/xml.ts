/**
 * A minimal XML reader for the XSD files the EXI grammar generator reads: elements, attributes, namespace
 * declarations (resolved per element), comments, processing instructions and a DOCTYPE with an internal subset
 * are skipped; text content is ignored (XSD carries no meaning in text apart from documentation).
 */
export interface XmlElement {
  /** Namespace URI of the element (resolved). */
  ns: string;
  local: string;
  attrs: Record<string, string>;
  /** In-scope prefix -> namespace map (the "" key is the default namespace). */
  scope: Record<string, string>;
  children: XmlElement[];
}

export function parseXml(text: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const n = text.length;
  while (i < n) {
    const lt = text.indexOf("<", i);
    if (lt < 0) break;
    i = lt;
    if (text.startsWith("<!--", i)) {
      const e = text.indexOf("-->", i + 4);
      if (e < 0) throw new Error("unterminated comment");
      i = e + 3;
      continue;
    }
    if (text.startsWith("<?", i)) {
      i = text.indexOf("?>", i) + 2;
      continue;
    }
    if (text.startsWith("<!DOCTYPE", i)) {
      // skip, with an optional internal subset [...]
      let depth = 0;
      let j = i;
      for (; j < n; j++) {
        const c = text[j];
        if (c === "[") depth++;
        else if (c === "]") depth--;
        else if (c === ">" && depth === 0) break;
      }
      i = j + 1;
      continue;
    }
    if (text.startsWith("<![CDATA[", i)) {
      i = text.indexOf("]]>", i) + 3;
      continue;
    }
    if (text[i + 1] === "/") {
      const e = text.indexOf(">", i);
      stack.pop();
      i = e + 1;
      continue;
    }
    // start tag
    let j = i + 1;
    while (j < n && !/[\s/>]/.test(text[j]!)) j++;
    const qname = text.slice(i + 1, j);
    const attrs: Record<string, string> = {};
    for (;;) {
      while (j < n && /\s/.test(text[j]!)) j++;
      if (text[j] === "/" || text[j] === ">") break;
      let k = j;
      while (k < n && !/[\s=]/.test(text[k]!)) k++;
      const an = text.slice(j, k);
      while (text[k] !== "=") k++;
      k++;
      while (/\s/.test(text[k]!)) k++;
      const q = text[k]!;
      const e = text.indexOf(q, k + 1);
      attrs[an] = decodeEntities(text.slice(k + 1, e));
      j = e + 1;
    }
    const selfClosing = text[j] === "/";
    i = text.indexOf(">", j) + 1;
    const parentScope = stack.length ? stack[stack.length - 1]!.scope : { xml: "http://www.w3.org/XML/1998/namespace" };
    let scope = parentScope;
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "xmlns" || k.startsWith("xmlns:")) {
        if (scope === parentScope) scope = { ...parentScope };
        scope[k === "xmlns" ? "" : k.slice(6)] = v;
      }
    }
    const colon = qname.indexOf(":");
    const prefix = colon < 0 ? "" : qname.slice(0, colon);
    const el: XmlElement = { ns: scope[prefix] ?? "", local: colon < 0 ? qname : qname.slice(colon + 1), attrs, scope, children: [] };
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (!root) throw new Error("no root element");
  return root;
}

function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_m, e: string) => ({ lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" })[e]!);
}

/** Resolves a QName attribute value (e.g. "xs:string", "ds:SignatureType") in the element's scope. */
export function resolveQName(el: XmlElement, value: string): { ns: string; local: string } {
  const colon = value.indexOf(":");
  const prefix = colon < 0 ? "" : value.slice(0, colon);
  const ns = el.scope[prefix];
  if (ns === undefined) throw new Error(`unknown prefix in ${value}`);
  return { ns, local: colon < 0 ? value : value.slice(colon + 1) };
}
