/**
 * Signed meter values in MeterValues (config signedMeterValues): the periodic (Sample.Periodic) and clock-aligned
 * (Sample.Clock) MeterValues of a transaction carry the OCMF fiscal reading as a "SignedData" sampledValue; each
 * verifies with the independent @road-labs/ocmf implementation against the public key (MeterPublicKey), and a
 * changed digit does not.
 */
import test from "ava";
import * as ocmfModule from "@road-labs/ocmf";
import * as nobleModule from "@road-labs/ocmf-crypto-noble";
import { spkiFromRaw, toHex } from "../../firmware/metering/ocmf.js";
import { start } from "../../firmware/main.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";
import { presetKeys } from "../ocpp16/auth-support.js";

const ocmfLib = ((ocmfModule as unknown as { default?: typeof ocmfModule }).default ?? ocmfModule) as typeof ocmfModule;
const nobleLib = ((nobleModule as unknown as { default?: typeof nobleModule }).default ?? nobleModule) as typeof nobleModule;

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

async function verify(text: string, spkiHex: string): Promise<boolean> {
  const key = nobleLib.EcPublicKey.fromEncoded(hexBytes(spkiHex), "spki-der");
  try {
    return (await new ocmfLib.Verifier(new nobleLib.Crypto()).parseAndVerify(text, key)).verified;
  } catch {
    return false;
  }
}

type Sv = Record<string, string>;

async function run(signed: boolean) {
  const sim = await Simulation.create({
    scenario: parseScenario(
      JSON.stringify({
        name: "signed meter values",
        seed: 5,
        duration: "6min",
        config: { signedMeterValues: signed, meterValueSampleIntervalS: 30 },
        ev: { maxCurrent: 16 },
        events: [
          { at: "2s", do: "plug" },
          { at: "3s", do: "swipe", idTag: "CARD-1" },
          { at: "4min", do: "unplug" },
        ],
      }),
    ),
  });
  presetKeys(sim, { ClockAlignedDataInterval: "60" });
  try {
    const res = await sim.run((hal, c) => start(hal, c));
    const frames = sim.trace.events.filter((e) => e.kind === "ocpp").map((e) => e["frame"] as unknown[]);
    const mvs = frames
      .filter((f) => f[0] === 2 && f[2] === "MeterValues" && (f[3] as Record<string, unknown>)["transactionId"] !== undefined)
      .map((f) => (f[3] as { meterValue: Array<{ sampledValue: Sv[] }> }).meterValue[0]!.sampledValue);
    return { sim, res, mvs, spki: toHex(spkiFromRaw(new Uint8Array(sim.crypto.publicKey("ocmf")))) };
  } finally {
    await sim.close();
  }
}

test("periodic and clock-aligned MeterValues of a transaction carry an OCMF reading that verifies; a changed digit fails", async (t) => {
  const { sim, res, mvs, spki } = await run(true);
  t.true(res.ok, res.problems.join("; "));
  t.deepEqual(sim.csms!.validationFailures, []);
  const contexts = new Set<string>();
  let pages = 0;
  let lastPage = 0;
  for (const svs of mvs) {
    const signed = svs.filter((v) => v["format"] === "SignedData");
    t.is(signed.length, 1, "one signed reading per MeterValues");
    const sv = signed[0]!;
    const energy = svs.find((v) => v["measurand"] === "Energy.Active.Import.Register" && v["format"] === undefined)!;
    t.is(sv["context"], energy["context"], "the signed reading has the message's context");
    t.is(sv["measurand"], "Energy.Active.Import.Register");
    contexts.add(sv["context"]!);
    const text = sv["value"]!;
    t.true(await verify(text, spki), `${sv["context"]} reading verifies`);
    const payload = JSON.parse(text.split("|")[1]!) as { PG: string; RD: Array<{ TX: string; RV: number; ST: string }> };
    t.regex(payload.PG, /^T\d+$/);
    const page = Number(payload.PG.slice(1));
    t.true(page > lastPage, "pages increase");
    lastPage = page;
    const reading = payload.RD[payload.RD.length - 1]!;
    t.is(reading.TX, "T");
    t.is(reading.ST, "G");
    t.is(Math.round(reading.RV * 1000), Number(energy["value"]), "the signed reading is the register the message reports");
    // a changed digit in the reading fails
    const rv = `"RV":${reading.RV}`;
    t.true(text.includes(rv));
    const d = String(reading.RV);
    const last = d[d.length - 1]!;
    const tampered = text.replace(rv, `"RV":${d.slice(0, -1)}${last === "9" ? "8" : String(Number(last) + 1)}`);
    t.false(await verify(tampered, spki), "tampered reading rejected");
    pages++;
  }
  t.deepEqual([...contexts].sort(), ["Sample.Clock", "Sample.Periodic"]);
  t.true(pages >= 8, `${pages} signed MeterValues`);
});

test("signed meter values off: MeterValues carry no SignedData", async (t) => {
  const { sim, mvs } = await run(false);
  t.deepEqual(sim.csms!.validationFailures, []);
  t.true(mvs.length >= 4);
  for (const svs of mvs) t.false(svs.some((v) => v["format"] === "SignedData"));
});
