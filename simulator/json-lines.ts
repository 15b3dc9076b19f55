/**
 * A JSON parser that remembers the line of every value, so that a scenario file with a bad value can be
 * reported as "scenario.json:12: events[3].at: ...". Strict RFC 8259 JSON.
 */

export class JsonSyntaxError extends Error {
  constructor(readonly line: number, readonly column: number, reason: string) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = "JsonSyntaxError";
  }
}

/** path ("events[3].at") -> line number */
export type LineMap = Map<string, number>;

export function parseJsonWithLines(text: string): { value: unknown; lines: LineMap } {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const lines: LineMap = new Map();
  const fail = (reason: string): never => {
    throw new JsonSyntaxError(line, i - lineStart + 1, reason);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        line++;
        i++;
        lineStart = i;
      } else if (c === 32 || c === 9 || c === 13) i++;
      else break;
    }
  };
  const value = (path: string): unknown => {
    ws();
    lines.set(path, line);
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a property name in double quotes");
        const key = str();
        ws();
        if (text[i] !== ":") fail(`expected ':' after "${key}"`);
        i++;
        if (Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate key "${key}"`);
        obj[key] = value(path ? `${path}.${key}` : key);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(`${path}[${arr.length}]`));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail(i >= text.length ? "unexpected end of file" : `unexpected character ${JSON.stringify(text[i])}`);
  };
  const str = (): string => {
    i++;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === "\n") fail("newline inside a string");
      if (c === "\\") {
        const e = text[i + 1];
        const map: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && map[e] !== undefined) {
          out += map[e];
          i += 2;
        } else fail("bad escape");
      } else {
        out += c;
        i++;
      }
    }
  };
  const v = value("");
  ws();
  if (i < text.length) fail("unexpected data after the JSON value");
  return { value: v, lines };
}
