/**
 * Build-time generator: OCPP 1.6 and 2.0.1 JSON schemas (package `ocpp-messages`) → standalone validator
 * modules for the device, produced with ajv's standalone code generation and minified with esbuild.
 *
 *   npm run gen:ocpp      (= node build/tools/gen-ocpp-validators.js, after `tsc -p tsconfig.json`)
 *
 * Output (committed; the device build has no generator):
 *   firmware/ocpp/schemas/ocpp16.gen.ts    every OCPP 1.6 request and response (28 actions × 2)
 *   firmware/ocpp/schemas/ocpp201.gen.ts   every OCPP 2.0.1 request and response (64 actions × 2)
 *
 * The generated modules are self-contained ES modules: no import, no require, no eval/Function, no RegExp
 * built at call time. Everything ajv would normally pull from its runtime is inlined as small helpers:
 *   - `maxLength` counts Unicode code points (JSON Schema "length" and OCPP's "characters"), as ajv's own
 *     ucs2length does: a surrogate pair counts as one character. (`unicode: false` would count UTF-16
 *     code units and reject e.g. 20-emoji idTags that are legal — we keep code points.)
 *   - `format: "date-time"` is a strict RFC 3339 §5.6 date-time (see HELPERS below);
 *   - `format: "uri"` (1.6 GetDiagnostics/UpdateFirmware location) is an RFC 3986 absolute-URI lexical check.
 *
 * Schema normalisation (also exported for the tests, which cross-check against ajv's runtime compiler):
 *   - `$schema` is dropped (ajv 8 speaks draft-07; the OCPP schemas use draft-04 (1.6) / draft-06 (2.0.1)
 *     and none of the keywords whose meaning changed between those drafts: no boolean exclusiveMaximum,
 *     no `id`, no `const`/`contains`/`if`);
 *   - annotations (description, javaType, comment, title, default, $id) are dropped;
 *   - 1.6 SendLocalList: the published schema puts `expiryDate`/`parentIdTag` beside `properties` of
 *     `idTagInfo` instead of inside it, so validators silently ignored them; we move them into
 *     `properties` (an errata fix, so `parentIdTag` maxLength 20 and `expiryDate` date-time are enforced
 *     as in Authorize.conf / StartTransaction.conf).
 *   - `multipleOf: 0.1` (1.6 charging schedules) is evaluated with multipleOfPrecision 9, otherwise binary
 *     floating point rejects legal limits like 6.3 (6.3 / 0.1 = 62.99999999999999).
 *   - 2.0.1 only (size): the 470 `definitions` repeated across the 128 files collapse to the distinct ones
 *     (structurally equal after stripping annotations, following nested $refs); each becomes its own schema
 *     and is compiled once. Semantics are unchanged (the cross-check test compares against ajv compiling
 *     the original per-file schemas).
 */
import { createRequire } from "node:module";
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import AjvModule, { _ } from "ajv";
import standaloneModule from "ajv/dist/standalone/index.js";
import { transformSync } from "esbuild";

const Ajv = AjvModule.default;
const standaloneCode = standaloneModule.default;

export type Version = "1.6" | "2.0.1";
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** One OCPP action: its request (CALL payload) and response (CALLRESULT payload) schemas. */
export interface ActionSchemas {
  action: string;
  req: JsonObject;
  conf: JsonObject;
}

const ANNOTATIONS = new Set(["$schema", "$id", "id", "description", "javaType", "comment", "title", "default"]);

/** ajv options shared by the generator and the test's runtime cross-check. */
export const AJV_OPTIONS = {
  allErrors: false,
  messages: false,
  strict: false,
  multipleOfPrecision: 9, // unicode (code-point maxLength) is ajv 8's default
} as const;

function schemaDir(version: Version): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve("ocpp-messages/package.json"));
  return join(pkg, "schema", version === "1.6" ? "v1.6" : "v2.0");
}

function stripAnnotations(v: Json, underProperties = false): Json {
  if (Array.isArray(v)) return v.map((x) => stripAnnotations(x));
  if (v === null || typeof v !== "object") return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v)) {
    // Inside `properties`/`definitions` the keys are names, not keywords: keep them all.
    if (!underProperties && ANNOTATIONS.has(k)) continue;
    out[k] = stripAnnotations(v[k], !underProperties && (k === "properties" || k === "definitions"));
  }
  return out;
}

function isObj(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Errata: 1.6 SendLocalList idTagInfo has expiryDate/parentIdTag outside `properties`. */
function fixSendLocalList(s: JsonObject): void {
  const list = (s.properties as JsonObject).localAuthorizationList as JsonObject;
  const item = list.items as JsonObject;
  const info = (item.properties as JsonObject).idTagInfo as JsonObject;
  const props = info.properties as JsonObject;
  let moved = 0;
  for (const k of ["expiryDate", "parentIdTag"]) {
    if (isObj(info[k]) && props[k] === undefined) {
      props[k] = info[k];
      delete info[k];
      moved++;
    }
  }
  if (moved !== 2) throw new Error("SendLocalList errata fix no longer applies: check the upstream schema");
}

/**
 * The normalised schemas of one version, sorted by action name. These are what the generator compiles
 * (2.0.1 then goes through definition sharing) and what the tests compile with ajv's runtime.
 */
export function loadSchemas(version: Version): ActionSchemas[] {
  const dir = schemaDir(version);
  const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  const byAction = new Map<string, Partial<ActionSchemas>>();
  for (const f of files) {
    const base = f.slice(0, -5);
    let action: string;
    let kind: "req" | "conf";
    if (base.endsWith("Response")) {
      action = base.slice(0, -8);
      kind = "conf";
    } else {
      action = version === "1.6" ? base : base.replace(/Request$/, "");
      kind = "req";
      if (version === "2.0.1" && !base.endsWith("Request")) throw new Error(`unexpected schema file ${f}`);
    }
    const schema = stripAnnotations(JSON.parse(readFileSync(join(dir, f), "utf8")) as Json) as JsonObject;
    if (version === "1.6" && base === "SendLocalList") fixSendLocalList(schema);
    const e = byAction.get(action) ?? { action };
    e[kind] = schema;
    byAction.set(action, e);
  }
  const out: ActionSchemas[] = [];
  for (const a of [...byAction.keys()].sort()) {
    const e = byAction.get(a)!;
    if (!e.req || !e.conf) throw new Error(`${version} ${a}: request or response schema missing`);
    out.push(e as ActionSchemas);
  }
  return out;
}

/** Canonical JSON (sorted keys) for structural comparison. */
function canon(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`;
  return JSON.stringify(v);
}

const DEF_PREFIX = "urn:ocpp201:def:";

/**
 * 2.0.1: share identical definitions across files. Returns the shared definition schemas (id → schema)
 * and, per action, the rewritten req/conf schemas with `$ref`s pointing at the shared ids.
 */
function shareDefinitions(actions: ActionSchemas[]): { defs: Map<string, JsonObject>; actions: ActionSchemas[] } {
  const keyToName = new Map<string, string>();
  const usedNames = new Set<string>();
  const defs = new Map<string, JsonObject>();

  function localDefs(s: JsonObject): JsonObject {
    return isObj(s.definitions) ? s.definitions : {};
  }
  function refName(ref: string): string {
    if (!ref.startsWith("#/definitions/")) throw new Error(`unsupported $ref ${ref}`);
    return ref.slice("#/definitions/".length);
  }
  // Deep key of a local definition: its content with nested refs replaced by their deep keys.
  function deepKey(s: JsonObject, name: string, stack: string[], memo: Map<string, string>): string {
    const hit = memo.get(name);
    if (hit) return hit;
    if (stack.includes(name)) throw new Error(`recursive definition ${name}`);
    const def = localDefs(s)[name];
    if (!isObj(def)) throw new Error(`missing definition ${name}`);
    const rw = (v: Json): Json => {
      if (Array.isArray(v)) return v.map(rw);
      if (!isObj(v)) return v;
      const o: JsonObject = {};
      for (const k of Object.keys(v)) {
        const x = v[k];
        o[k] = k === "$ref" && typeof x === "string" ? `@${deepKey(s, refName(x), [...stack, name], memo)}` : rw(x);
      }
      return o;
    };
    const key = canon({ name, def: rw(def) });
    memo.set(name, key);
    return key;
  }
  function globalId(s: JsonObject, name: string, memo: Map<string, string>): string {
    const key = deepKey(s, name, [], memo);
    let g = keyToName.get(key);
    if (!g) {
      g = name;
      for (let i = 2; usedNames.has(g); i++) g = `${name}_${i}`;
      usedNames.add(g);
      keyToName.set(key, g);
    }
    return DEF_PREFIX + g;
  }
  function rewrite(s: JsonObject, v: Json, memo: Map<string, string>): Json {
    if (Array.isArray(v)) return v.map((x) => rewrite(s, x, memo));
    if (!isObj(v)) return v;
    const o: JsonObject = {};
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (k === "definitions") continue;
      o[k] = k === "$ref" && typeof x === "string" ? globalId(s, refName(x), memo) : rewrite(s, x, memo);
    }
    return o;
  }
  const out: ActionSchemas[] = [];
  for (const a of actions) {
    const r: Partial<ActionSchemas> = { action: a.action };
    for (const kind of ["req", "conf"] as const) {
      const s = a[kind];
      const memo = new Map<string, string>();
      for (const name of Object.keys(localDefs(s)).sort()) {
        const id = globalId(s, name, memo);
        if (!defs.has(id)) defs.set(id, rewrite(s, localDefs(s)[name], memo) as JsonObject);
      }
      r[kind] = rewrite(s, s, memo) as JsonObject;
    }
    out.push(r as ActionSchemas);
  }
  return { defs, actions: out };
}

/**
 * Inlined runtime helpers (plain ES2022, no host APIs). Exported from each generated module so tests can
 * give ajv's runtime compiler exactly the same format functions.
 *
 * ocpp_isDateTime — RFC 3339 §5.6 `date-time`, strictly:
 *   full-date "T" partial-time time-offset; 4-digit year, month 01-12, day valid for the month (Gregorian
 *   leap years), hour 00-23, minute 00-59, second 00-59 or 60 only at 23:59 UTC (leap second),
 *   optional fraction of 1+ digits, offset "Z" or ±hh:mm (hh 00-23, mm 00-59). "T"/"Z" may be lower case
 *   (RFC 3339 §5.6 note). Rejected: a space instead of "T", missing seconds, missing offset, basic
 *   (colon-less) forms, ±hhmm offsets, non-ASCII digits.
 * ocpp_isUri — RFC 3986 `URI` lexical check: scheme ":" then only RFC 3986 characters (unreserved,
 *   reserved, "%" HEXDIG HEXDIG); no spaces, controls or non-ASCII. The authority/path grammar is not
 *   parsed further (an upload/download location is handed to the transfer client, which parses it).
 * ocpp_ucs2length — number of Unicode code points (surrogate pair = 1), as ajv's runtime ucs2length.
 */
const HELPERS = `
const OCPP_SURROGATE = /[\\uD800-\\uDFFF]/;
const OCPP_PAIRS = /[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]/g;
function ocpp_ucs2length(s) {
  if (!OCPP_SURROGATE.test(s)) return s.length;
  const pairs = s.match(OCPP_PAIRS);
  return s.length - (pairs === null ? 0 : pairs.length);
}
const OCPP_DT = /^\\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\\d|3[01])[Tt](?:[01]\\d|2[0-3]):[0-5]\\d:(?:[0-5]\\d|60)(?:\\.\\d+)?(?:[Zz]|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)$/;
const OCPP_DT_RARE = /^.{8}(?:29|3)|^.{17}60/;
const OCPP_DT_PARTS = /^(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(?:\\.\\d+)?(?:Z|([+-])(\\d{2}):(\\d{2}))$/i;
function ocpp_isDateTime(s) {
  if (typeof s !== "string" || !OCPP_DT.test(s)) return false;
  if (!OCPP_DT_RARE.test(s)) return true; // day 01-28 and second 00-59: the grammar was enough
  const m = OCPP_DT_PARTS.exec(s);
  const y = +m[1], mo = +m[2], d = +m[3], h = +m[4], mi = +m[5], sec = +m[6];
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const dim = mo === 2 ? (leap ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
  if (d > dim) return false;
  if (sec !== 60) return true;
  // A leap second is only possible at 23:59 UTC.
  const off = m[7] === undefined ? 0 : (m[7] === "-" ? -1 : 1) * (+m[8] * 60 + +m[9]);
  return (((h * 60 + mi - off) % 1440) + 1440) % 1440 === 1439;
}
const OCPP_URI = /^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\\-._~:/?#[\\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
function ocpp_isUri(s) {
  return typeof s === "string" && OCPP_URI.test(s);
}
const OCPP_FORMATS = { "date-time": ocpp_isDateTime, uri: ocpp_isUri };
`;

const UCS2_REQUIRE = /const (func\d+) = require\("ajv\/dist\/runtime\/ucs2length"\)\.default;/g;

/** Generates the module source for one version. Deterministic for a given input. */
export function generateModule(version: Version): { source: string; actions: number; schemas: number } {
  let actions = loadSchemas(version);
  const ajv = new Ajv({
    ...AJV_OPTIONS,
    inlineRefs: 4,
    code: { source: true, esm: true, lines: false, optimize: true, formats: _`OCPP_FORMATS` },
  });
  ajv.addFormat("date-time", () => true); // code is taken from OCPP_FORMATS; these only satisfy the compiler
  ajv.addFormat("uri", () => true);
  if (version === "2.0.1") {
    const shared = shareDefinitions(actions);
    for (const [id, s] of shared.defs) ajv.addSchema({ ...s, $id: id });
    actions = shared.actions;
  }
  const prefix = version === "1.6" ? "urn:ocpp16:" : "urn:ocpp201:";
  const exportsMap: Record<string, string> = {};
  const reqEntries: string[] = [];
  const confEntries: string[] = [];
  for (const a of actions) {
    for (const kind of ["req", "conf"] as const) {
      const id = `${prefix}${kind}:${a.action}`;
      ajv.addSchema({ ...a[kind], $id: id });
      const exportName = `${a.action}_${kind}`;
      exportsMap[exportName] = id;
      (kind === "req" ? reqEntries : confEntries).push(`${a.action}: ${exportName}`);
    }
  }
  let code = standaloneCode(ajv, exportsMap);
  code = code.replace(UCS2_REQUIRE, "const $1 = ocpp_ucs2length;");
  if (/\brequire\s*\(/.test(code)) throw new Error(`ajv emitted a runtime require the generator does not inline`);
  code = code.replace(/^"use strict";/, "");
  // Error objects: validate.ts maps errors by keyword + instancePath + params; the schema paths and the
  // enum's allowed values (which keep a copy of every schema alive only for the error report) go.
  code = code.replace(/schemaPath:"(?:[^"\\]|\\.)*",/g, "");
  code = code.replace(/allowedValues: schema\d+(?:\.[A-Za-z_$][\w$]*|\["(?:[^"\\]|\\.)*"\])*/g, "allowedValues: null");
  if (/schemaPath:/.test(code)) throw new Error("a schemaPath the generator does not strip");
  // The exported validators stay reachable only through the two tables (smaller, and one name per function).
  code = code.replace(/export const (\w+) = (validate\d+);/g, "const $1 = $2;");
  const body =
    `${HELPERS}\n${code}\n` +
    `export const version = ${JSON.stringify(version)};\n` +
    `export const req = { ${reqEntries.join(", ")} };\n` +
    `export const conf = { ${confEntries.join(", ")} };\n` +
    `export { ocpp_isDateTime as isDateTime, ocpp_isUri as isUri, ocpp_ucs2length as ucs2length };\n`;
  const min = transformSync(body, { loader: "js", format: "esm", target: "es2022", minify: true, treeShaking: true, legalComments: "none" });
  const header =
    `// @ts-nocheck\n` +
    `// GENERATED by tools/gen-ocpp-validators.ts from ocpp-messages ${ocppMessagesVersion()} (OCPP ${version}` +
    ` JSON schemas) with ajv ${ajvVersion()} standalone code. Do not edit: run \`npm run gen:ocpp\`.\n` +
    `// Self-contained: no imports. Exports: version, req/conf (action -> validator), isDateTime, isUri, ucs2length.\n`;
  return { source: header + min.code, actions: actions.length, schemas: actions.length * 2 };
}

function pkgVersion(name: string): string {
  const require = createRequire(import.meta.url);
  return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version: string }).version;
}
function ocppMessagesVersion(): string {
  return pkgVersion("ocpp-messages");
}
function ajvVersion(): string {
  return pkgVersion("ajv");
}

export const OUTPUTS: Record<Version, string> = {
  "1.6": "firmware/ocpp/schemas/ocpp16.gen.ts",
  "2.0.1": "firmware/ocpp/schemas/ocpp201.gen.ts",
};

function main(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  for (const version of ["1.6", "2.0.1"] as const) {
    const { source, actions, schemas } = generateModule(version);
    const file = join(root, OUTPUTS[version]);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, source);
    const bytes = Buffer.byteLength(source, "utf8");
    process.stdout.write(`OCPP ${version}: ${actions} actions, ${schemas} schemas -> ${OUTPUTS[version]} (${bytes} bytes)\n`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
