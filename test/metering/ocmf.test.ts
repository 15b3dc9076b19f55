/**
 * OCMF signed meter values, verified by an independent implementation from the npm registry
 * (@road-labs/ocmf with its @noble/curves backend), plus tamper tests; and end to end: the demo's StopTransaction
 * carries the signed Begin/End datasets and the public key is the read-only configuration key MeterPublicKey.
 */
import test from "ava";
import * as ocmfModule from "@road-labs/ocmf";
import * as nobleModule from "@road-labs/ocmf-crypto-noble";
import { OcmfSigner, ocmfPayload, ocmfTime, rawSignatureToDer, spkiFromRaw, toHex } from "../../firmware/metering/ocmf.js";
import { start } from "../../firmware/main.js";
import { SimCrypto } from "../../simulator/crypto.js";
import { parseScenario } from "../../simulator/scenario.js";
import { DEMO_SCENARIO, Simulation } from "../../simulator/simulation.js";

// CommonJS packages: take the named exports from the default export when Node's ESM interop cannot see them.
const ocmfLib = ((ocmfModule as unknown as { default?: typeof ocmfModule }).default ?? ocmfModule) as typeof ocmfModule;
const nobleLib = ((nobleModule as unknown as { default?: typeof nobleModule }).default ?? nobleModule) as typeof nobleModule;
const Verifier = ocmfLib.Verifier;
const NobleCrypto = nobleLib.Crypto;
const EcPublicKey = nobleLib.EcPublicKey;

const ID = { GI: "SimWallbox-22", GS: "SIM-1", GV: "0.1.0", MV: "Analog Devices", MM: "ADE9000", MS: "SIM-1-M1", MF: "" };

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

async function verify(text: string, spkiHex: string): Promise<boolean> {
  const key = EcPublicKey.fromEncoded(hexBytes(spkiHex), "spki-der");
  try {
    return (await new Verifier(new NobleCrypto()).parseAndVerify(text, key)).verified;
  } catch {
    return false;
  }
}

function signer(seed = 1): OcmfSigner {
  return new OcmfSigner(new SimCrypto({ seed }), "ocmf");
}

const B = { timeMs: Date.UTC(2026, 0, 15, 8, 0, 8), synced: true, reason: "B" as const, wh: 1234.9, status: "G" as const };
const E = { timeMs: Date.UTC(2026, 0, 15, 8, 20, 0, 2), synced: true, reason: "E" as const, wh: 8448.2, status: "G" as const };

test("a signed dataset verifies with the independent OCMF implementation", async (t) => {
  const s = signer();
  const text = s.sign(ocmfPayload("T7", ID, { IS: true, IL: "VERIFIED", IF: ["RFID_PLAIN", "OCPP_AUTH"], IT: "ISO14443", ID: "DEMO-CARD-01" }, [B, E]));
  t.true(text.startsWith("OCMF|{"));
  t.true(await verify(text, s.publicKeyHex));
  const parsed = (await new Verifier(new NobleCrypto()).parseAndVerify(text, EcPublicKey.fromEncoded(hexBytes(s.publicKeyHex), "spki-der"))).value!;
  t.is(parsed.payloadData.PG, "T7");
  t.is(parsed.payloadData.RD.length, 2);
  t.is(parsed.payloadData.RD[0]!.TX, "B");
  t.is(parsed.payloadData.RD[0]!.RV, 1.234);
  t.is(parsed.payloadData.RD[1]!.RV, 8.448);
  t.is(parsed.payloadData.RD[1]!.RU, "kWh");
  t.is(parsed.signature.SA, "ECDSA-secp256r1-SHA256");
});

test("tamper: a changed digit in a reading, the id, or the signature fails verification", async (t) => {
  const s = signer(2);
  const text = s.sign(ocmfPayload("T1", ID, { IS: true, IT: "ISO14443", ID: "CARD1" }, [B, E]));
  t.true(await verify(text, s.publicKeyHex));
  t.false(await verify(text.replace('"RV":8.448', '"RV":8.449'), s.publicKeyHex), "energy digit");
  t.false(await verify(text.replace('"RV":1.234', '"RV":1.284'), s.publicKeyHex), "begin digit");
  t.false(await verify(text.replace("CARD1", "CARD2"), s.publicKeyHex), "identification");
  t.false(await verify(text.replace('"PG":"T1"', '"PG":"T2"'), s.publicKeyHex), "page");
  const sd = /"SD":"([0-9a-f]+)"/.exec(text)![1]!;
  const flipped = sd.slice(0, 20) + (sd[20] === "0" ? "1" : "0") + sd.slice(21);
  t.false(await verify(text.replace(sd, flipped), s.publicKeyHex), "signature digit");
  t.false(await verify(text, signer(3).publicKeyHex), "another meter's key");
});

test("every dataset of a run of 50 verifies (DER encoding of r and s with and without leading zero bytes)", async (t) => {
  const s = signer(4);
  let withPad = 0;
  for (let i = 0; i < 50; i++) {
    const text = s.sign(ocmfPayload(`T${i + 1}`, ID, { IS: false, IT: "NONE" }, [{ ...E, wh: 1000 + i }]));
    if (/"SD":"3046/.test(text)) withPad++;
    t.true(await verify(text, s.publicKeyHex), `dataset ${i}`);
  }
  t.true(withPad > 0, "some r or s had the high bit set (0x00 pad)");
});

test("DER and SPKI encoders: shapes", (t) => {
  const raw = new Uint8Array(64);
  raw[31] = 1;
  raw[32] = 0x80;
  t.is(toHex(rawSignatureToDer(raw)), "3026020101022100" + "80" + "00".repeat(31));
  t.throws(() => rawSignatureToDer(new Uint8Array(63)), { instanceOf: RangeError });
  const pub = new Uint8Array(65);
  pub[0] = 4;
  t.is(spkiFromRaw(pub).length, 91);
  t.throws(() => spkiFromRaw(new Uint8Array(64)), { instanceOf: RangeError });
  t.is(ocmfTime(Date.UTC(2026, 0, 15, 8, 0, 8, 5), true), "2026-01-15T08:00:08,005+0000 S");
  t.is(ocmfTime(0, false), "1970-01-01T00:00:00,000+0000 U");
});

test("demo (npm start): the StopTransaction carries OCMF Begin/End that verify against MeterPublicKey; strict CSMS", async (t) => {
  // The demo, plus the CSMS reading the public key with GetConfiguration while the EV charges.
  const demo = JSON.parse(DEMO_SCENARIO) as { events: unknown[] };
  demo.events.push({ at: "60s", do: "csms", action: "GetConfiguration", payload: { key: ["MeterPublicKey"] } });
  const sim = await Simulation.create({ once: true, scenario: parseScenario(JSON.stringify(demo), "demo+") });
  try {
    const res = await sim.run((hal, c) => start(hal, c));
    t.true(res.ok, res.problems.join("; "));
    t.deepEqual(sim.csms!.validationFailures, []);
    const frames = sim.trace.events.filter((e) => e.kind === "ocpp").map((e) => e["frame"] as unknown[]);
    const stops = frames.filter((f) => f[0] === 2 && f[2] === "StopTransaction");
    t.is(stops.length, 1);
    const payload = stops[0]![3] as { meterStop: number; transactionData: Array<{ sampledValue: Array<Record<string, string>> }> };
    const svs = payload.transactionData.flatMap((m) => m.sampledValue).filter((v) => v["format"] === "SignedData");
    t.deepEqual(svs.map((v) => v["context"]), ["Transaction.Begin", "Transaction.End"]);
    // The public key, as the CSMS reads it with GetConfiguration.
    const got = sim.trace.events.find((e) => e.kind === "csms" && e["action"] === "GetConfiguration");
    const key = (got?.["result"] as { configurationKey: Array<{ key: string; value: string; readonly: boolean }> }).configurationKey[0]!;
    t.is(key.key, "MeterPublicKey");
    t.true(key.readonly);
    const spki = key.value;
    t.is(spki, toHex(spkiFromRaw(new Uint8Array(sim.crypto.publicKey("ocmf")))));
    for (const v of svs) t.true(await verify(v["value"]!, spki), v["context"]!);
    const end = JSON.parse(svs[1]!["value"]!.split("|")[1]!) as { RD: Array<{ RV: number; TX: string }> };
    t.is(end.RD[1]!.TX, "E");
    t.is(end.RD[1]!.RV, payload.meterStop / 1000, "signed end reading = meterStop");
    t.true(payload.meterStop > 5000, "the EV charged");
  } finally {
    await sim.close();
  }
});
