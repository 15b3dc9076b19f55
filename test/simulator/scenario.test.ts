import test from "ava";
import { parseDuration, parseScenario, ScenarioError } from "../../simulator/scenario.js";

test("durations", (t) => {
  t.is(parseDuration(250), 250);
  t.is(parseDuration("5s"), 5000);
  t.is(parseDuration("10min"), 600_000);
  t.is(parseDuration("1h30m"), 5_400_000);
  t.is(parseDuration("2h"), 7_200_000);
  t.true(Number.isNaN(parseDuration("soon")));
  t.true(Number.isNaN(parseDuration("5 parsecs")));
  t.true(Number.isNaN(parseDuration(-1)));
});

test("a good scenario parses, events sorted, defaults filled", (t) => {
  const s = parseScenario(`{
    "name": "x", "seed": 3, "duration": "1h",
    "events": [ { "at": "10s", "do": "unplug" }, { "at": "1s", "do": "plug", "ev": { "maxCurrent": 16 } }, { "at": 2000, "do": "rcd", "dcMa": 7 } ]
  }`);
  t.is(s.seed, 3);
  t.is(s.durationMs, 3_600_000);
  t.deepEqual(s.events.map((e) => e.do), ["plug", "rcd", "unplug"]);
  t.deepEqual(s.events[1], { at: 2000, do: "rcd", acMa: 0, dcMa: 7 });
  t.is(s.board.phases, 3);
});

const bad: Array<[string, string, number, RegExp]> = [
  ["syntax", '{\n  "seed": 1,\n  "events": [\n    { "at": 1 "do": "plug" }\n  ]\n}', 4, /not valid JSON: column \d+: expected ',' or '}'/],
  ["trailing comma", '{\n  "seed": 1,\n}', 3, /not valid JSON/],
  ["unknown top key", '{\n  "seed": 1,\n  "evnts": []\n}', 3, /evnts: unknown key/],
  ["unknown action", '{\n "events": [\n  { "at": "1s", "do": "plug" },\n  { "at": "2s", "do": "explode" }\n ]\n}', 4, /events\[1\]\.do: unknown action "explode"; allowed: plug, unplug/],
  ["bad time", '{\n "events": [\n  { "at": "soon", "do": "plug" }\n ]\n}', 3, /events\[0\]\.at: must be a time/],
  ["missing field", '{\n "events": [\n  { "at": "1s",\n    "do": "swipe" }\n ]\n}', 3, /events\[0\]: "swipe" needs "idTag"/],
  ["unknown field", '{\n "events": [\n  { "at": "1s", "do": "unplug",\n    "force": true }\n ]\n}', 4, /events\[0\]\.force: unknown field for "unplug"/],
  ["bad board", '{\n "board": {\n   "phases": 2\n }\n}', 3, /board\.phases: must be 1 or 3/],
  ["bad seed", '{ "seed": -4 }', 1, /seed: must be an integer/],
  ["duplicate key", '{\n "seed": 1,\n "seed": 2\n}', 3, /duplicate key "seed"/],
];
for (const [name, text, line, reason] of bad) {
  test(`a bad scenario names its line and the reason: ${name}`, (t) => {
    const e = t.throws(() => parseScenario(text, "s.json"), { instanceOf: ScenarioError });
    t.is(e!.line, line, e!.message);
    t.true(e!.message.startsWith(`s.json:${line}: `), e!.message);
    t.regex(e!.message, reason);
  });
}

test("model parameters are checked at load time, with the line", (t) => {
  const e = t.throws(() => parseScenario('{\n "ev": {\n  "maxCurrent": -3\n }\n}', "s.json"), { instanceOf: ScenarioError });
  t.is(e!.line, 2);
  t.regex(e!.message, /ev: EvConfig: bad maxCurrent/);
  const w = t.throws(() => parseScenario('{\n "world": { "ambientC": "hot" }\n}', "s.json"), { instanceOf: ScenarioError });
  t.regex(w!.message, /world: WorldConfig: bad ambientC/);
});
