/**
 * The reference vectors (/work/shared/iso15118/exi-vectors.jsonl, when present): every app, DIN and ISO 15118-2
 * stream decodes to its `decoded` JSON and re-encodes bit-exactly; the -20 vectors through the generated -20
 * grammars. A few vectors are inlined so the test means something without the shared folder.
 */
import test from "ava";
import { existsSync, readFileSync } from "node:fs";
import { decodeExi, encodeExi, ExiDecoder, ExiEncoder, ExiError } from "../../firmware/iso15118/exi/index.js";
import { loadVectors, VECTOR_GRAMMARS } from "../../tools/exi-fuzz.js";
import { SHARED_DIR } from "../../tools/shared-dir.js";

const hex = (u: Uint8Array): string => Buffer.from(u).toString("hex");
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
const PADDED = "809a02004080c1014181c210b800";

const INLINE = [
  { protocol: "app", hex: "80400040", decoded: { supportedAppProtocolRes: { ResponseCode: "OK_SuccessfulNegotiation", SchemaID: 1 } } },
  {
    protocol: "app",
    hex: "8000dbab9371d3234b71d1b981899189d191818991d26b9b3a232b30020000040040",
    decoded: { supportedAppProtocolReq: { AppProtocol: [{ ProtocolNamespace: "urn:din:70121:2012:MsgDef", VersionNumberMajor: 2, VersionNumberMinor: 0, SchemaID: 1, Priority: 1 }] } },
  },
  { protocol: "din", hex: "809a004011d018038131a0007400", decoded: { V2G_Message: { Header: { SessionID: "00" }, Body: { SessionSetupReq: { EVCCID: "00E04C68001D" } } } } },
  {
    protocol: "din",
    hex: "809a0223e95ff78afebf9e10d1400780c0c00404050320000c203e804080e1807c00018103200c0814010140b800",
    decoded: {
      V2G_Message: {
        Header: { SessionID: "8FA57FDE2BFAFE78" },
        Body: {
          CurrentDemandReq: {
            DC_EVStatus: { EVReady: 1, EVErrorCode: "NO_ERROR", EVRESSSOC: 30 },
            EVTargetCurrent: { Multiplier: 0, Unit: "A", Value: 1 },
            EVMaximumVoltageLimit: { Multiplier: 1, Unit: "V", Value: 50 },
            EVMaximumCurrentLimit: { Multiplier: -3, Unit: "A", Value: 32000 },
            EVMaximumPowerLimit: { Multiplier: 1, Unit: "W", Value: 8000 },
            BulkChargingComplete: 0,
            ChargingComplete: 0,
            RemainingTimeToFullSoC: { Multiplier: 0, Unit: "s", Value: 100 },
            RemainingTimeToBulkSoC: { Multiplier: 0, Unit: "s", Value: 80 },
            EVTargetVoltage: { Multiplier: 1, Unit: "V", Value: 46 },
          },
        },
      },
    },
  },
  {
    protocol: "iso2",
    hex: "809802022669991e4a686c11c0012004820124",
    decoded: {
      V2G_Message: {
        Header: { SessionID: "0899A6647929A1B0" },
        Body: {
          ServiceDiscoveryRes: {
            ResponseCode: "OK",
            PaymentOptionList: { PaymentOption: ["ExternalPayment"] },
            ChargeService: { ServiceID: 1, ServiceCategory: "EVCharging", FreeService: 0, SupportedEnergyTransferMode: { EnergyTransferMode: ["AC_three_phase_core"] } },
          },
        },
      },
    },
  },
];

test("inline vectors: decode to the reference JSON, re-encode bit-exactly (decodeExi / encodeExi API)", (t) => {
  for (const v of INLINE) {
    const g = v.protocol as "app" | "din" | "iso2";
    t.deepEqual(decodeExi(g, unhex(v.hex)), v.decoded as never, v.hex);
    t.is(hex(encodeExi(g, v.decoded as never)), v.hex);
  }
});

const all = loadVectors();
const byProtocol = new Map<string, typeof all>();
for (const v of all) {
  if (!byProtocol.has(v.protocol)) byProtocol.set(v.protocol, []);
  byProtocol.get(v.protocol)!.push(v);
}

for (const protocol of ["app", "din", "iso2", "iso20-common", "iso20-ac", "iso20-dc"]) {
  test(`reference vectors ${protocol}: decode == decoded, re-encode == hex`, (t) => {
    const list = byProtocol.get(protocol) ?? [];
    if (!existsSync(`${SHARED_DIR}/iso15118/exi-vectors.jsonl`)) {
      t.is(list.length, 0, "vectors file absent");
      return;
    }
    t.true(list.length > 0);
    const g = VECTOR_GRAMMARS[protocol]!;
    const dec = new ExiDecoder();
    const enc = new ExiEncoder();
    let exact = 0;
    for (const v of list) {
      const bytes = unhex(v.hex);
      const d = dec.decode(g, bytes);
      t.deepEqual(d, v.decoded, `${v.message} ${v.hex}`);
      const re = hex(enc.encode(g, d));
      if (v.hex === PADDED) t.is(re, PADDED.slice(0, -2), "padding byte dropped on re-encoding");
      else t.is(re, v.hex, v.message);
      exact += re === v.hex ? 1 : 0;
    }
    t.log(`${protocol}: ${list.length} decoded, ${exact} re-encoded bit-exactly`);
  });
}

test("negative vectors: truncated stream rejected with bit and state; trailing padding accepted", (t) => {
  const truncated = "809a0211c1ff77aed4fdff90800000040020000405182824138550008000018180c80c1c";
  const e = t.throws(() => decodeExi("din", unhex(truncated)), { instanceOf: ExiError })!;
  t.true(e.bit > 0 && e.bit <= truncated.length * 4, e.message);
  t.true(e.state.length > 0, e.message);
  t.regex(e.message, /at bit \d+ in state /);
  const d = new ExiDecoder();
  const doc = d.decode(VECTOR_GRAMMARS.din!, unhex(PADDED));
  t.truthy((doc.V2G_Message as Record<string, Record<string, unknown>>).Body!.ContractAuthenticationReq);
  t.is(d.consumed, 13);
  t.is(hex(encodeExi("din", doc)), PADDED.slice(0, -2));
  if (existsSync(`${SHARED_DIR}/iso15118/exi-negative.jsonl`)) {
    for (const line of readFileSync(`${SHARED_DIR}/iso15118/exi-negative.jsonl`, "utf8").split("\n").filter(Boolean)) {
      const v = JSON.parse(line) as { protocol: string; hex: string; expect: string };
      const grammars = v.protocol === "other" ? (["din", "iso2"] as const) : (["din"] as const);
      for (const g of grammars) {
        if (v.expect.startsWith("reject")) t.throws(() => decodeExi(g, unhex(v.hex)), { instanceOf: ExiError }, `${g} ${v.hex}`);
        else t.notThrows(() => decodeExi(g, unhex(v.hex)));
      }
    }
  }
});

test("encoder rejects documents the grammar does not allow, naming the state", (t) => {
  const ok = INLINE[2]!.decoded as { V2G_Message: { Header: object; Body: object } };
  const bad = (doc: unknown, re: RegExp): void => {
    const e = t.throws(() => encodeExi("din", doc as never), { instanceOf: ExiError })!;
    t.regex(e.message, re);
  };
  bad({ V2G_Message: { Body: ok.V2G_Message.Body } }, /missing element/);
  bad({ V2G_Message: { ...ok.V2G_Message, Extra: 1 } }, /does not allow/);
  bad({ V2G_Message: { Header: { SessionID: "0G" }, Body: ok.V2G_Message.Body } }, /hex/);
  bad({ V2G_Message: { Header: { SessionID: "00" }, Body: { SessionSetupRes: { ResponseCode: "Nope", EVSEID: "00" } } } }, /not one of/);
  bad({ Nope: {} }, /unknown root/);
  bad({}, /empty document/);
  bad(
    { V2G_Message: { Header: { SessionID: "00" }, Body: { CurrentDemandReq: { DC_EVStatus: { EVReady: 1, EVErrorCode: "NO_ERROR", EVRESSSOC: 101 } } } } },
    /out of range/,
  );
});
