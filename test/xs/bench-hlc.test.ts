/**
 * The ISO 15118 session-path bench on XS (tools/xs/bench-hlc.ts): the charge-loop request replayed through the
 * firmware's HlcSessionHost on its V2gChannel gets an OK response each time, the figures are deterministic XS
 * meters (two runs agree exactly), the parts add up, and the session layer's heap is measured.
 */
import test from "ava";
import { benchHlc, measureHlc } from "../../tools/xs/bench-hlc.js";

test("bench-hlc: DIN DC / ISO-2 DC CurrentDemand and ISO-2 AC ChargingStatus through the session host on XS; deterministic", async (t) => {
  const [a, b] = await Promise.all([measureHlc(), measureHlc()]);
  t.deepEqual(a, b);
  t.deepEqual(
    a.paths.map((p) => [p.protocol, p.kind, p.request, p.response, p.code, p.state]),
    [
      ["din", "dc", "CurrentDemandReq", "CurrentDemandRes", "OK", "charging"],
      ["iso2", "dc", "CurrentDemandReq", "CurrentDemandRes", "OK", "charging"],
      ["iso2", "ac", "ChargingStatusReq", "ChargingStatusRes", "OK", "charging"],
    ],
  );
  for (const p of a.paths) {
    // The host's figure holds decode + machine + encode (measured apart) and a little more (snapshot, send, actions).
    t.true(p.host.median > p.decode.median + p.handle.median + p.encode.median, JSON.stringify(p));
    // The whole path (V2GTP receive added) costs more than the host alone.
    t.true(p.full.median > p.host.median);
    t.true(p.host.p99 >= p.host.median);
  }
  // DC: the EV's SoC, its limit and the power module's setpoints are applied for every CurrentDemandReq.
  t.true(a.paths.filter((p) => p.kind === "dc").every((p) => p.actionsPerMessage >= 2));
  for (const m of a.memory) {
    t.true(m.session.slots > 100 && m.session.chunks > 1000, JSON.stringify(m));
    t.true(m.messages >= 15);
  }
});

test("bench-hlc rows: the sum with the control tick is reported when the tick's figures are given", async (t) => {
  const rows = await benchHlc({ median: 2_000, p99: 2_500 });
  const sums = rows.filter((r) => r.name.includes("path + control tick"));
  t.is(sums.length, 3);
  const full = rows.filter((r) => r.name.includes("TCP bytes in -> TCP bytes out"));
  t.deepEqual(sums.map((r) => r.value), full.map((r) => r.value + 2_000));
  t.is(rows.filter((r) => r.name.includes("heap mid-session")).length, 3);
});
