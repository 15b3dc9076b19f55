import test from "ava";
import { decodeExi, encodeExi } from "../../firmware/iso15118/exi/index.js";
import { DIN_NAMESPACE, ISO2_NAMESPACE, negotiateAppProtocol } from "../../firmware/iso15118/apphandshake/handshake.js";
import { readVectors } from "./v2g-helpers.js";

const req = (...ps: [string, number, number, number, number][]) => ({
  supportedAppProtocolReq: { AppProtocol: ps.map(([ns, maj, min, id, prio]) => ({ ProtocolNamespace: ns, VersionNumberMajor: maj, VersionNumberMinor: min, SchemaID: id, Priority: prio })) },
});

test("the EV's most preferred common protocol wins; the response encodes", (t) => {
  const r = negotiateAppProtocol(req([DIN_NAMESPACE, 2, 0, 1, 2], [ISO2_NAMESPACE, 2, 0, 2, 1]), ["din", "iso2"]);
  t.is(r.protocol, "iso2");
  t.deepEqual(r.response, { supportedAppProtocolRes: { ResponseCode: "OK_SuccessfulNegotiation", SchemaID: 2 } });
  t.true(encodeExi("app", r.response as never).length > 0);
  const dinOnly = negotiateAppProtocol(req([DIN_NAMESPACE, 2, 0, 1, 2], [ISO2_NAMESPACE, 2, 0, 2, 1]), ["din"]);
  t.is(dinOnly.protocol, "din");
  t.is(dinOnly.schemaId, 1);
});

test("minor version deviation, unknown namespaces, wrong major, bad lists", (t) => {
  const minor = negotiateAppProtocol(req([ISO2_NAMESPACE, 2, 1, 7, 1]), ["iso2"]);
  t.is(minor.response.supportedAppProtocolRes.ResponseCode, "OK_SuccessfulNegotiationWithMinorDeviation");
  const none = negotiateAppProtocol(req(["urn:iso:std:iso:15118:-20:AC", 1, 0, 1, 1], [ISO2_NAMESPACE, 1, 0, 2, 2]), ["din", "iso2"]);
  t.is(none.protocol, null);
  t.deepEqual(none.response, { supportedAppProtocolRes: { ResponseCode: "Failed_NoNegotiation" } });
  t.true(encodeExi("app", none.response as never).length > 0);
  t.is(negotiateAppProtocol({ supportedAppProtocolReq: { AppProtocol: [] } }, ["din"]).protocol, null);
  t.is(negotiateAppProtocol({ foo: 1 }, ["din"]).protocol, null);
  t.is(negotiateAppProtocol(req([DIN_NAMESPACE, 2, 0, 1, 1], [ISO2_NAMESPACE, 2, 0, 1, 2]), ["din"]).reason, "duplicate SchemaID");
});

test("recorded supportedAppProtocolReq vectors: a choice the EV offered, or Failed_NoNegotiation; responses encode", (t) => {
  const vs = readVectors().filter((v) => v.protocol === "app" && v.message === "supportedAppProtocolReq");
  const docs = vs.length > 0 ? vs.map((v) => decodeExi("app", Uint8Array.from(Buffer.from(v.hex, "hex")))) : [req([DIN_NAMESPACE, 2, 0, 1, 1])];
  let chosen = 0;
  for (const d of docs) {
    const r = negotiateAppProtocol(d, ["din", "iso2"]);
    t.true(encodeExi("app", r.response as never).length >= 3);
    if (r.protocol !== null) {
      chosen++;
      const offered = (d as { supportedAppProtocolReq: { AppProtocol: { SchemaID: number }[] } }).supportedAppProtocolReq.AppProtocol.map((a) => a.SchemaID);
      t.true(offered.includes(r.schemaId));
    }
  }
  t.true(chosen >= 1);
});
