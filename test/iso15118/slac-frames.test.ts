/**
 * SLAC codecs against the recorded frames of /work/shared/iso15118/slac-frames.jsonl: every SLAC frame parses
 * to its recorded `fields`, and re-encoding the decoded fields gives the recorded bytes (the whole frame when
 * its padding is zero; the layout part otherwise).
 */
import test from "ava";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { newMmeHeader, parseMme } from "../../firmware/iso15118/link/homeplug.js";
import { MMTYPE, hexText, macText } from "../../firmware/iso15118/slac/mme.js";
import * as m from "../../firmware/iso15118/slac/messages.js";
import { nidFromNmk } from "../../firmware/iso15118/slac/nid.js";
import { SHARED_DIR } from "../../tools/shared-dir.js";

const FILE = `${SHARED_DIR}/iso15118/slac-frames.jsonl`;
interface Rec {
  message: string;
  mmtype: string;
  frame_hex: string;
  frame_len: number;
  fields: Record<string, unknown> | null;
  source: string;
}
const recs: Rec[] = existsSync(FILE)
  ? readFileSync(FILE, "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Rec)
  : [];

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
const id17 = (b: Uint8Array) => ({ hex: hexText(b), ascii: null as string | null });

/** Our decoded message, in the reference data's field names. */
function toRecorded(mmtype: number, body: Uint8Array): { fields: Record<string, unknown>; encode: (dst: Uint8Array, src: Uint8Array) => Uint8Array; len: number } | null {
  switch (mmtype) {
    case MMTYPE.CM_SET_KEY_REQ: {
      const d = m.decodeSetKeyReq(body);
      if (!d) return null;
      return {
        fields: { KeyType: d.keyType, MyNonce: hexText(d.myNonce), YourNonce: hexText(d.yourNonce), PID: d.pid, PRN: d.prn, PMN: d.pmn, CCoCapability: d.ccoCapability, NID: hexText(d.nid), NewEKS: d.newEks, NewKey: hexText(d.newKey) },
        encode: (dst, src) => m.encodeSetKeyReq(dst, src, d),
        len: m.SET_KEY_REQ_LEN,
      };
    }
    case MMTYPE.CM_SET_KEY_CNF: {
      const d = m.decodeSetKeyCnf(body);
      if (!d) return null;
      return {
        fields: { Result: d.result, MyNonce: hexText(d.myNonce), YourNonce: hexText(d.yourNonce), PID: d.pid, PRN: d.prn, PMN: d.pmn, CCoCapability: d.ccoCapability },
        encode: (dst, src) => m.encodeSetKeyCnf(dst, src, d),
        len: m.SET_KEY_CNF_LEN,
      };
    }
    case MMTYPE.CM_SLAC_PARM_REQ: {
      const d = m.decodeSlacParmReq(body);
      if (!d) return null;
      return { fields: { APPLICATION_TYPE: d.applicationType, SECURITY_TYPE: d.securityType, RunID: hexText(d.runId) }, encode: (dst, src) => m.encodeSlacParmReq(dst, src, d), len: m.SLAC_PARM_REQ_LEN };
    }
    case MMTYPE.CM_SLAC_PARM_CNF: {
      const d = m.decodeSlacParmCnf(body);
      if (!d) return null;
      return {
        fields: { M_SOUND_TARGET: macText(d.mSoundTarget), NUM_SOUNDS: d.numSounds, Time_Out_x100ms: d.timeOut, RESP_TYPE: d.respType, FORWARDING_STA: macText(d.forwardingSta), APPLICATION_TYPE: d.applicationType, SECURITY_TYPE: d.securityType, RunID: hexText(d.runId) },
        encode: (dst, src) => m.encodeSlacParmCnf(dst, src, d),
        len: m.SLAC_PARM_CNF_LEN,
      };
    }
    case MMTYPE.CM_START_ATTEN_CHAR_IND: {
      const d = m.decodeStartAttenCharInd(body);
      if (!d) return null;
      return {
        fields: { APPLICATION_TYPE: d.applicationType, SECURITY_TYPE: d.securityType, NUM_SOUNDS: d.numSounds, Time_Out_x100ms: d.timeOut, RESP_TYPE: d.respType, FORWARDING_STA: macText(d.forwardingSta), RunID: hexText(d.runId) },
        encode: (dst, src) => m.encodeStartAttenCharInd(dst, src, d),
        len: m.START_ATTEN_CHAR_IND_LEN,
      };
    }
    case MMTYPE.CM_MNBC_SOUND_IND: {
      const d = m.decodeMnbcSoundInd(body);
      if (!d) return null;
      return {
        fields: { APPLICATION_TYPE: d.applicationType, SECURITY_TYPE: d.securityType, SenderID: id17(d.senderId), Cnt: d.cnt, RunID: hexText(d.runId), RSVD: "0000000000000000", Rnd: hexText(d.rnd) },
        encode: (dst, src) => m.encodeMnbcSoundInd(dst, src, d),
        len: m.MNBC_SOUND_IND_LEN,
      };
    }
    case MMTYPE.CM_ATTEN_PROFILE_IND: {
      const d = m.decodeAttenProfileInd(body);
      if (!d) return null;
      return { fields: { PEV_MAC: macText(d.pevMac), NumGroups: d.numGroups, RSVD: 0, AAG_dB: [...d.aag] }, encode: (dst, src) => m.encodeAttenProfileInd(dst, src, d), len: m.ATTEN_PROFILE_IND_MIN + d.numGroups };
    }
    case MMTYPE.CM_ATTEN_CHAR_IND: {
      const d = m.decodeAttenCharInd(body);
      if (!d) return null;
      return {
        fields: { APPLICATION_TYPE: d.applicationType, SECURITY_TYPE: d.securityType, SOURCE_ADDRESS: macText(d.sourceAddress), RunID: hexText(d.runId), SOURCE_ID: id17(d.sourceId), RESP_ID: id17(d.respId), NUM_SOUNDS: d.numSounds, NumGroups: d.numGroups, AAG_dB: [...d.aag] },
        encode: (dst, src) => m.encodeAttenCharInd(dst, src, d),
        len: m.ATTEN_CHAR_IND_MIN + d.numGroups,
      };
    }
    case MMTYPE.CM_ATTEN_CHAR_RSP: {
      const d = m.decodeAttenCharRsp(body);
      if (!d) return null;
      return {
        fields: { APPLICATION_TYPE: d.applicationType, SECURITY_TYPE: d.securityType, SOURCE_ADDRESS: macText(d.sourceAddress), RunID: hexText(d.runId), SOURCE_ID: id17(d.sourceId), RESP_ID: id17(d.respId), Result: d.result },
        encode: (dst, src) => m.encodeAttenCharRsp(dst, src, d),
        len: m.ATTEN_CHAR_RSP_LEN,
      };
    }
    case MMTYPE.CM_SLAC_MATCH_REQ:
    case MMTYPE.CM_SLAC_MATCH_CNF: {
      const cnf = mmtype === MMTYPE.CM_SLAC_MATCH_CNF;
      const d = cnf ? m.decodeSlacMatchCnf(body) : m.decodeSlacMatchReq(body);
      if (!d) return null;
      const fields: Record<string, unknown> = {
        APPLICATION_TYPE: d.applicationType,
        SECURITY_TYPE: d.securityType,
        MVFLength: d.mvfLength,
        PEV_ID: id17(d.pevId),
        PEV_MAC: macText(d.pevMac),
        EVSE_ID: id17(d.evseId),
        EVSE_MAC: macText(d.evseMac),
        RunID: hexText(d.runId),
        RSVD: "0000000000000000",
      };
      if (cnf) {
        const c = d as m.SlacMatchCnf;
        fields.NID = hexText(c.nid);
        fields.RSVD2 = 0;
        fields.NMK = hexText(c.nmk);
        return { fields, encode: (dst, src) => m.encodeSlacMatchCnf(dst, src, c), len: m.SLAC_MATCH_CNF_LEN };
      }
      return { fields, encode: (dst, src) => m.encodeSlacMatchReq(dst, src, d), len: m.SLAC_MATCH_REQ_LEN };
    }
    default:
      return null;
  }
}

const SLAC_TYPES = new Set<number>(Object.values(MMTYPE));

test("every recorded SLAC frame parses to its recorded fields and re-encodes to its bytes", (t) => {
  if (recs.length === 0) {
    t.pass("reference data absent");
    return;
  }
  const hdr = newMmeHeader();
  let checked = 0;
  let wholeFrame = 0;
  const kinds = new Set<number>();
  for (const r of recs) {
    const frame = hex(r.frame_hex);
    t.is(frame.length, r.frame_len);
    t.true(parseMme(frame, hdr), r.message);
    if (!SLAC_TYPES.has(hdr.mmtype)) continue;
    t.is(hdr.mmtype, Number.parseInt(r.mmtype, 16));
    const body = frame.subarray(hdr.payloadOffset);
    const got = toRecorded(hdr.mmtype, body);
    t.truthy(got, `${r.message} decodes (${r.source})`);
    if (!got || !r.fields) continue;
    t.deepEqual(got.fields, r.fields, `${r.message} fields (${r.source})`);
    const out = got.encode(frame.subarray(0, 6), frame.subarray(6, 12));
    const layout = hdr.payloadOffset + got.len;
    t.is(hexText(out.subarray(0, layout)), hexText(frame.subarray(0, layout)), `${r.message} layout bytes (${r.source})`);
    if (frame.subarray(layout).every((b) => b === 0)) {
      t.is(hexText(out), hexText(frame), `${r.message} whole frame`);
      wholeFrame++;
    }
    kinds.add(hdr.mmtype);
    checked++;
  }
  t.is(kinds.size, SLAC_TYPES.size, "every SLAC message type is covered");
  t.true(checked >= 100, `checked ${checked}`);
  t.log(`${checked} SLAC frames checked, ${wholeFrame} byte-identical as whole frames`);
});

test("truncated bodies are rejected", (t) => {
  const decoders: [(b: Uint8Array) => unknown, number][] = [
    [m.decodeSetKeyReq, m.SET_KEY_REQ_LEN],
    [m.decodeSetKeyCnf, m.SET_KEY_CNF_LEN],
    [m.decodeSlacParmReq, m.SLAC_PARM_REQ_LEN],
    [m.decodeSlacParmCnf, m.SLAC_PARM_CNF_LEN],
    [m.decodeStartAttenCharInd, m.START_ATTEN_CHAR_IND_LEN],
    [m.decodeMnbcSoundInd, m.MNBC_SOUND_IND_LEN],
    [m.decodeAttenCharRsp, m.ATTEN_CHAR_RSP_LEN],
    [m.decodeSlacMatchReq, m.SLAC_MATCH_REQ_LEN],
    [m.decodeSlacMatchCnf, m.SLAC_MATCH_CNF_LEN],
  ];
  for (const [dec, len] of decoders) {
    t.is(dec(new Uint8Array(len - 1)), null);
    t.not(dec(new Uint8Array(len)), null);
  }
  // Profiles: group count 0, > 58, or more groups announced than present.
  const p = new Uint8Array(8 + 58);
  p[6] = 58;
  t.not(m.decodeAttenProfileInd(p), null);
  t.is(m.decodeAttenProfileInd(p.subarray(0, 8 + 57)), null);
  p[6] = 0;
  t.is(m.decodeAttenProfileInd(p), null);
  p[6] = 59;
  t.is(m.decodeAttenProfileInd(new Uint8Array(8 + 59).fill(59, 6, 7)), null);
  const c = new Uint8Array(52 + 58);
  c[51] = 58;
  t.not(m.decodeAttenCharInd(c), null);
  t.is(m.decodeAttenCharInd(c.subarray(0, 52 + 10)), null);
});

test("encoders refuse fields of the wrong size", (t) => {
  const mac = new Uint8Array(6);
  t.throws(() => m.encodeSlacParmReq(mac, mac, { applicationType: 0, securityType: 0, runId: new Uint8Array(7) }), { instanceOf: RangeError });
  t.throws(() => m.encodeAttenCharInd(mac, mac, { applicationType: 0, securityType: 0, sourceAddress: mac, runId: new Uint8Array(8), sourceId: new Uint8Array(17), respId: new Uint8Array(17), numSounds: 1, numGroups: 58, aag: new Uint8Array(57) }), { instanceOf: RangeError });
});

const sha = (d: Uint8Array): ArrayBuffer => {
  const b = createHash("sha256").update(d).digest();
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
};

test("NID from NMK: HomePlug AV known answers", (t) => {
  t.is(hexText(nidFromNmk(hex("50D3E4933F855B7040784DF815AA8DB7"), sha)), "B0F2E695666B03");
  t.is(hexText(nidFromNmk(hex("B59319D7E8157BA001B018669CCEE30D"), sha)), "026BCBA5354E08");
  // Security level in bits 4..5 of the last octet.
  t.is(nidFromNmk(hex("50D3E4933F855B7040784DF815AA8DB7"), sha, 1)[6], 0x13);
  t.throws(() => nidFromNmk(new Uint8Array(15), sha), { instanceOf: RangeError });
  t.throws(() => nidFromNmk(new Uint8Array(16), sha, 4), { instanceOf: RangeError });
});

test("averaging: rounded per group", (t) => {
  const sums = new Uint32Array([10, 11, 0, 2550 * 4]);
  const out = new Uint8Array(4);
  m.averageProfiles(sums, 4, out);
  t.deepEqual([...out], [3, 3, 0, 255]);
  m.averageProfiles(sums, 0, out);
  t.deepEqual([...out], [0, 0, 0, 0]);
});
