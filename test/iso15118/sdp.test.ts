import test from "ava";
import { existsSync, readFileSync } from "node:fs";
import * as sdp from "../../firmware/iso15118/sdp/sdp.js";
import { SHARED_DIR } from "../../tools/shared-dir.js";

const FILE = `${SHARED_DIR}/iso15118/sdp.jsonl`;
interface Rec {
  message: string;
  v2gtp_hex: string;
  payload_type: string;
  decoded: Record<string, string | number>;
  source: string;
}
const recs: Rec[] = existsSync(FILE) ? readFileSync(FILE, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Rec) : [];
const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const byte = (s: string | number) => Number.parseInt(String(s).slice(0, 4), 16);

test("the recorded SDP examples parse to their fields and serialize to the same bytes", (t) => {
  if (recs.length === 0) {
    t.pass("reference data absent");
    return;
  }
  let n = 0;
  for (const r of recs) {
    const bytes = hex(r.v2gtp_hex);
    if (r.message === "SDP_Req") {
      const q = sdp.parseSdpRequest(bytes);
      t.is(typeof q, "object", r.source);
      if (typeof q !== "object") continue;
      t.is(q.security, byte(r.decoded.Security!));
      t.is(q.transport, byte(r.decoded.TransportProtocol!));
      t.is(toHex(sdp.encodeSdpRequest(q)), r.v2gtp_hex);
    } else {
      const s = sdp.parseSdpResponse(bytes);
      t.is(typeof s, "object", r.source);
      if (typeof s !== "object") continue;
      t.is(sdp.formatIpv6(s.address), r.decoded.SECC_IPAddress as string);
      t.is(s.port, r.decoded.SECC_Port as number);
      t.is(s.security, byte(r.decoded.Security!));
      t.is(s.transport, byte(r.decoded.TransportProtocol!));
      t.is(toHex(sdp.encodeSdpResponse(s)), r.v2gtp_hex);
      t.is(toHex(sdp.parseIpv6(r.decoded.SECC_IPAddress as string)!), toHex(s.address));
    }
    n++;
  }
  t.is(n, recs.length);
});

test("bad SDP input is rejected with its reason", (t) => {
  const good = sdp.encodeSdpRequest({ security: 0x10, transport: 0 });
  t.deepEqual(sdp.parseSdpRequest(good), { security: 0x10, transport: 0 });
  const mut = (i: number, v: number) => {
    const b = good.slice();
    b[i] = v;
    return b;
  };
  t.is(sdp.parseSdpRequest(good.subarray(0, 7)), "header");
  t.is(sdp.parseSdpRequest(mut(0, 2)), "header");
  t.is(sdp.parseSdpRequest(mut(1, 0xff)), "header");
  t.is(sdp.parseSdpRequest(mut(3, 0x01)), "type"); // an SDP response where a request belongs
  t.is(sdp.parseSdpRequest(mut(7, 3)), "length");
  t.is(sdp.parseSdpRequest(good.subarray(0, 9)), "length");
  t.is(sdp.parseSdpRequest(new Uint8Array([...good, 0])), "length");
  t.is(sdp.parseSdpRequest(mut(8, 0x20)), "value");
  t.is(sdp.parseSdpRequest(mut(9, 0x10)), "value"); // UDP transport is not offered
  const res = sdp.encodeSdpResponse({ address: sdp.parseIpv6("fe80::1")!, port: 15118, security: 0x10, transport: 0 });
  t.is(typeof sdp.parseSdpResponse(res), "object");
  t.is(sdp.parseSdpResponse(res.subarray(0, 20)), "length");
  t.throws(() => sdp.encodeSdpResponse({ address: new Uint8Array(4), port: 1, security: 0x10, transport: 0 }), { instanceOf: RangeError });
  t.throws(() => sdp.encodeSdpResponse({ address: new Uint8Array(16), port: 0, security: 0x10, transport: 0 }), { instanceOf: RangeError });
});

test("IPv6 text", (t) => {
  t.is(sdp.formatIpv6(sdp.parseIpv6("fe80::1%eth0")!), "fe80::1");
  t.is(sdp.formatIpv6(sdp.parseIpv6("::1")!), "::1");
  t.is(sdp.formatIpv6(sdp.parseIpv6("::")!), "::");
  t.is(sdp.formatIpv6(sdp.parseIpv6("2001:db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  t.is(sdp.formatIpv6(sdp.parseIpv6("2001:DB8:0:1:1:1:1:1")!), "2001:db8:0:1:1:1:1:1");
  for (const bad of ["", "1::2::3", "fe80:::1", "12345::", "g::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1.2.3.4"]) t.is(sdp.parseIpv6(bad), null, bad);
});
