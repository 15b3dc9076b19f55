/**
 * Schema validation of OCPP payloads with the build-time generated validators (firmware/ocpp/schemas/,
 * made by tools/gen-ocpp-validators.ts). Platform-neutral; no eval, no allocation on the happy path beyond
 * what the generated code does (nested $ref calls in 2.0.1 build their instance path string).
 *
 * Linking: this module does not import the generated tables, so the device links only the version it
 * speaks. The composition root registers what it needs once at start-up:
 *
 *   import * as ocpp16 from "./schemas/ocpp16.gen.js";
 *   registerOcppValidators(ocpp16);
 *
 * Error mapping (first error only) to the OCPP-J CALLERROR codes:
 *
 * | schema failure                                  | 1.6 (OCPP-J 1.6 §4.2.3 Table 7) | 2.0.1 (OCPP-J 2.0.1 Part 4 §4.3)  |
 * |-------------------------------------------------|---------------------------------|-----------------------------------|
 * | action unknown / no schema                      | NotImplemented                  | NotImplemented                    |
 * | payload is not a JSON object                    | FormationViolation              | FormatViolation                   |
 * | property not defined by the PDU (additionalProperties) | FormationViolation       | ProtocolError                     |
 * | required property missing, minItems, maxItems   | OccurenceConstraintViolation    | OccurrenceConstraintViolation     |
 * | wrong JSON type of a field                      | TypeConstraintViolation         | TypeConstraintViolation           |
 * | enum, maxLength, minimum/maximum, multipleOf, pattern, format (date-time, uri) | PropertyConstraintViolation | PropertyConstraintViolation |
 *
 * 1.6 Table 7: FormationViolation = "Payload for Action is syntactically incorrect or not conform the PDU
 * structure for Action"; OccurenceConstraintViolation (sic, one "r"; the 1.6 errata keeps the typo).
 * 2.0.1 §4.3 splits that 1.6 code: FormatViolation = "Payload for Action is syntactically incorrect",
 * ProtocolError = "Payload for Action is not conform the PDU structure" — hence an undeclared property is
 * a ProtocolError in 2.0.1; OccurrenceConstraintViolation is spelled with "rr" there.
 */

/** A generated validator: ajv standalone calling convention (errors on the function object). */
export interface GeneratedValidator {
  (data: unknown, ctx?: object): boolean;
  errors?: ReadonlyArray<GeneratedError> | null;
}

/** The error object the generated code produces (schemaPath and messages stripped). */
export interface GeneratedError {
  instancePath: string;
  keyword: string;
  params: { readonly [k: string]: unknown };
}

/** The shape of a generated module (firmware/ocpp/schemas/*.gen.ts). */
export interface OcppValidatorTable {
  readonly version: string;
  readonly req: { readonly [action: string]: GeneratedValidator };
  readonly conf: { readonly [action: string]: GeneratedValidator };
}

export type OcppVersion = "1.6" | "2.0.1";
export type OcppMessageKind = "req" | "conf";

export interface OcppValidationError {
  /** An OCPP-J CALLERROR errorCode, spelled as the version's spec spells it. */
  code: string;
  /** Human-readable, ASCII, at most 255 characters (the 2.0.1 errorDescription limit). */
  description: string;
  /** JSON pointer of the offending value ("" = the payload itself), at most 128 characters. */
  path: string;
}

interface Codes {
  readonly structure: string;
  readonly extra: string;
  readonly occurrence: string;
  readonly type: string;
  readonly property: string;
}

const CODES: { readonly [V in OcppVersion]: Codes } = {
  "1.6": {
    structure: "FormationViolation",
    extra: "FormationViolation",
    occurrence: "OccurenceConstraintViolation",
    type: "TypeConstraintViolation",
    property: "PropertyConstraintViolation",
  },
  "2.0.1": {
    structure: "FormatViolation",
    extra: "ProtocolError",
    occurrence: "OccurrenceConstraintViolation",
    type: "TypeConstraintViolation",
    property: "PropertyConstraintViolation",
  },
};

const MAX_DESCRIPTION = 255;
const MAX_PATH = 128;
const MAX_NAME = 40;

const hasOwn = Object.prototype.hasOwnProperty;
const NO_CTX = Object.freeze({});

const registry: { [V in OcppVersion]?: OcppValidatorTable } = {};

/** Registers a generated table for its version (call once at start-up). Throws on a mismatch. */
export function registerOcppValidators(table: OcppValidatorTable): void {
  const v = table.version;
  if (v !== "1.6" && v !== "2.0.1") throw new Error(`unsupported OCPP validator table version ${String(v)}`);
  registry[v] = table;
}

/**
 * Validates one payload. `kind` "req" = CALL payload, "conf" = CALLRESULT payload of `action`.
 * Returns null when valid, else the CALLERROR code to answer with and a bounded description.
 * Throws (a wiring bug, not bad input) when no table is registered for `version`.
 */
export function validate(
  version: OcppVersion,
  action: string,
  kind: OcppMessageKind,
  payload: unknown,
): OcppValidationError | null {
  const table = registry[version];
  if (table === undefined) throw new Error(`no OCPP ${version} validators registered`);
  return validateWith(table, version, action, kind, payload);
}

/** As validate(), with an explicit table (no registry). */
export function validateWith(
  table: OcppValidatorTable,
  version: OcppVersion,
  action: string,
  kind: OcppMessageKind,
  payload: unknown,
): OcppValidationError | null {
  const fns = kind === "req" ? table.req : table.conf;
  if (typeof action !== "string" || !hasOwn.call(fns, action)) {
    return {
      code: "NotImplemented",
      description: clip(`unknown action "${clip(String(action), MAX_NAME)}"`, MAX_DESCRIPTION),
      path: "",
    };
  }
  const fn = fns[action]!;
  if (fn(payload, NO_CTX)) return null;
  const err = fn.errors?.[0];
  if (err === undefined) return { code: CODES[version].structure, description: "invalid payload", path: "" };
  return describe(CODES[version], err);
}

function describe(codes: Codes, e: GeneratedError): OcppValidationError {
  const p = e.params;
  const at = e.instancePath;
  switch (e.keyword) {
    case "required": {
      const name = clip(String(p.missingProperty), MAX_NAME);
      return out(codes.occurrence, `required property "${name}" missing`, `${at}/${name}`);
    }
    case "minItems":
      return out(codes.occurrence, `fewer than ${String(p.limit)} items`, at);
    case "maxItems":
      return out(codes.occurrence, `more than ${String(p.limit)} items`, at);
    case "additionalProperties": {
      const name = clip(String(p.additionalProperty), MAX_NAME);
      return out(codes.extra, `property "${name}" is not allowed`, `${at}/${name}`);
    }
    case "type":
      if (at === "") return out(codes.structure, "payload is not a JSON object", "");
      return out(codes.type, `expected ${String(p.type)}`, at);
    case "enum":
      return out(codes.property, "value not allowed", at);
    case "maxLength":
      return out(codes.property, `longer than ${String(p.limit)} characters`, at);
    case "minLength":
      return out(codes.property, `shorter than ${String(p.limit)} characters`, at);
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return out(codes.property, `must be ${String(p.comparison)} ${String(p.limit)}`, at);
    case "multipleOf":
      return out(codes.property, `must be a multiple of ${String(p.multipleOf)}`, at);
    case "format":
      return out(codes.property, `not a valid ${String(p.format)}`, at);
    case "pattern":
    case "const":
      return out(codes.property, "value not allowed", at);
    default:
      return out(codes.structure, `schema violation (${clip(e.keyword, MAX_NAME)})`, at);
  }
}

function out(code: string, what: string, path: string): OcppValidationError {
  const p = clip(path, MAX_PATH);
  return { code, description: clip(p === "" ? what : `${p}: ${what}`, MAX_DESCRIPTION), path: p };
}

/** Truncates to `max` characters, replacing non-printable-ASCII characters with "?". */
function clip(s: string, max: number): string {
  let r = "";
  const n = s.length < max ? s.length : max;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    r += c >= 0x20 && c < 0x7f ? s[i] : "?";
  }
  return n < s.length ? `${r.slice(0, max - 3)}...` : r;
}
