/** The V2GTP channel and the SDP responder against fake sockets, in virtual time. */
import test from "ava";
import type { TimerId, Timers } from "../../hal/clock.js";
import type { TCP, UDP, UDPOptions, UDPPacket } from "../../hal/network.js";
import { V2gChannel, defaultSeccTimings, type ChannelCloseReason } from "../../firmware/iso15118/index.js";
import { SdpServer } from "../../firmware/iso15118/secc/sdp-server.js";
import { SDP_SECURITY_NONE, SDP_SECURITY_TLS, SDP_TRANSPORT_TCP, encodeSdpRequest, parseSdpResponse } from "../../firmware/iso15118/sdp/sdp.js";
import { PAYLOAD_EXI, PAYLOAD_SDP_REQ, v2gtpMessage, writeV2gtpHeader } from "../../firmware/iso15118/v2gtp/header.js";

class VirtualTimers implements Timers {
  now = 0;
  #seq = 1;
  #q = new Map<number, { at: number; fn: (id: TimerId) => void }>();
  set(fn: (id: TimerId) => void, delay: number): TimerId {
    const id = this.#seq++;
    this.#q.set(id, { at: this.now + delay, fn });
    return id;
  }
  clear(id: TimerId): void {
    this.#q.delete(id);
  }
  get pending(): number {
    return this.#q.size;
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let best: [number, { at: number; fn: (id: TimerId) => void }] | undefined;
      for (const e of this.#q) if (e[1].at <= end && (!best || e[1].at < best[1].at)) best = e;
      if (!best) break;
      this.#q.delete(best[0]);
      this.now = best[1].at;
      best[1].fn(best[0]);
    }
    this.now = end;
  }
}

/** A fake TCP: read() hands out what the test fed; write() records. */
class FakeTcp implements TCP {
  written: Uint8Array[] = [];
  inbox: Uint8Array[] = [];
  closed = false;
  remoteAddress = "::1";
  remotePort = 1;
  read(): ArrayBuffer {
    const b = this.inbox.shift() ?? new Uint8Array(0);
    return b.slice().buffer as ArrayBuffer;
  }
  write(buffer: ArrayBuffer | Uint8Array | DataView): void {
    if (this.closed) throw new Error("closed");
    this.written.push(new Uint8Array(buffer instanceof Uint8Array ? buffer.slice() : (buffer as ArrayBuffer).slice(0)));
  }
  close(): void {
    this.closed = true;
  }
  get out(): Uint8Array {
    const n = this.written.reduce((a, b) => a + b.length, 0);
    const o = new Uint8Array(n);
    let at = 0;
    for (const w of this.written) {
      o.set(w, at);
      at += w.length;
    }
    return o;
  }
}

function rig(o: { setup?: number; maxPayload?: number } = {}) {
  const timers = new VirtualTimers();
  const closes: ChannelCloseReason[] = [];
  const msgs: [number, string][] = [];
  const ch = new V2gChannel({
    timers,
    now: () => timers.now,
    timings: { ...defaultSeccTimings(), communicationSetup: o.setup ?? 18_000 },
    maxPayload: o.maxPayload ?? 64,
    secure: false,
    closed: (r) => closes.push(r),
  });
  const sock = new FakeTcp();
  ch.bind(sock);
  const feed = (b: Uint8Array) => {
    sock.inbox.push(b);
    ch.readable();
  };
  return { timers, ch, sock, closes, msgs, feed };
}

test("channel: messages split across reads and several in one read; early messages wait for attach; response time recorded", (t) => {
  const r = rig();
  r.ch.writable(1024);
  const a = v2gtpMessage(PAYLOAD_EXI, Uint8Array.from([1, 2, 3]));
  const b = v2gtpMessage(PAYLOAD_EXI, Uint8Array.from([4]));
  r.feed(a.subarray(0, 5));
  r.feed(a.subarray(5));
  r.feed(b);
  t.deepEqual(r.msgs, []);
  r.ch.attach({
    onMessage(type, payload, c) {
      r.msgs.push([type, Buffer.from(payload).toString("hex")]);
      r.timers.advance(7);
      c.send(PAYLOAD_EXI, Uint8Array.from([0xaa]));
    },
  });
  t.deepEqual(r.msgs, [[PAYLOAD_EXI, "010203"], [PAYLOAD_EXI, "04"]]);
  t.deepEqual(Buffer.from(r.sock.out).toString("hex"), Buffer.from(v2gtpMessage(PAYLOAD_EXI, Uint8Array.from([0xaa]))).toString("hex").repeat(2));
  t.is(r.ch.stats.rxMessages, 2);
  t.is(r.ch.stats.txMessages, 2);
  t.is(r.ch.stats.lastResponseMs, 7);
  t.is(r.ch.stats.maxResponseMs, 7);
});

test("channel: a bad V2GTP header (version, SDP type on TCP, over-long payload) closes the connection", (t) => {
  for (const [bytes, name] of [
    [Uint8Array.from([0x02, 0xfd, 0x80, 0x01, 0, 0, 0, 0]), "version"],
    [v2gtpMessage(PAYLOAD_SDP_REQ, Uint8Array.from([0x10, 0x00])), "type"],
    [(() => { const h = new Uint8Array(8); writeV2gtpHeader(h, 0, PAYLOAD_EXI, 65); return h; })(), "length"],
  ] as const) {
    const r = rig();
    r.ch.attach({ onMessage: () => t.fail(`no message for ${name}`) });
    r.feed(bytes);
    t.deepEqual(r.closes, ["header"], name);
    t.true(r.sock.closed);
    t.false(r.ch.send(PAYLOAD_EXI, new Uint8Array(1)), "send after close is refused");
  }
});

test("channel: the sequence timeout runs from each response to the next request; the setup timer until setupDone()", (t) => {
  const r = rig({ setup: 18_000 });
  r.ch.writable(1024);
  r.ch.attach({ onMessage: (_t, _p, c) => c.send(PAYLOAD_EXI, new Uint8Array(2)) });
  r.feed(v2gtpMessage(PAYLOAD_EXI, new Uint8Array(1)));
  r.ch.setupDone();
  r.timers.advance(59_999);
  r.feed(v2gtpMessage(PAYLOAD_EXI, new Uint8Array(1))); // just in time: re-armed by the response
  r.timers.advance(59_999);
  t.deepEqual(r.closes, []);
  r.timers.advance(1);
  t.deepEqual(r.closes, ["sequence_timeout"]);
  t.true(r.sock.closed);

  const s = rig({ setup: 18_000 });
  s.ch.attach({ onMessage: () => undefined });
  s.timers.advance(17_999);
  t.deepEqual(s.closes, []);
  s.timers.advance(1);
  t.deepEqual(s.closes, ["setup_timeout"]);

  // No sequence timeout while a request is being handled (the response time limits apply instead).
  const u = rig();
  u.ch.setupDone();
  u.ch.attach({ onMessage: () => undefined });
  u.feed(v2gtpMessage(PAYLOAD_EXI, new Uint8Array(1)));
  u.timers.advance(600_000);
  t.deepEqual(u.closes, []);
});

test("channel: sends wait for write budget, in order; session timers are cleared on close", (t) => {
  const r = rig({ maxPayload: 4096 });
  const closes: string[] = [];
  r.ch.attach({ onMessage: () => undefined, onClose: (reason) => closes.push(reason) });
  r.ch.writable(10);
  r.ch.send(PAYLOAD_EXI, new Uint8Array(100).fill(1));
  r.ch.send(PAYLOAD_EXI, new Uint8Array(3).fill(2));
  t.is(r.sock.out.length, 10);
  r.ch.writable(1000);
  const out = r.sock.out;
  t.is(out.length, 108 + 11);
  t.is(out[108 + 8], 2);
  let fired = 0;
  r.ch.timer(100, () => fired++);
  const id = r.ch.timer(50, () => fired++);
  r.ch.clearTimer(id);
  r.ch.close("stopped");
  r.ch.close("again");
  r.timers.advance(1_000);
  t.is(fired, 0);
  t.deepEqual(closes, ["stopped"]);
  t.deepEqual(r.closes, ["stopped"]);
  t.is(r.timers.pending, 0);
  t.throws(() => r.ch.setSequenceTimeout(0), { instanceOf: RangeError });
});

/** A fake UDP class recording writes; `deliver` feeds datagrams. */
function fakeUdp() {
  const writes: { data: Uint8Array; address: string; port: number }[] = [];
  let inst: (UDP & { deliver(p: UDPPacket): void }) | null = null;
  const UDPClass = class implements UDP {
    #q: UDPPacket[] = [];
    closed = false;
    constructor(readonly o: UDPOptions) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      inst = this as unknown as UDP & { deliver(p: UDPPacket): void };
    }
    deliver(p: UDPPacket): void {
      this.#q.push(p);
      this.o.onReadable?.call(this, this.#q.length);
    }
    read(): UDPPacket | undefined {
      return this.#q.shift();
    }
    write(b: ArrayBuffer | Uint8Array | DataView, address: string, port: number): void {
      writes.push({ data: new Uint8Array(b as Uint8Array), address, port });
    }
    close(): void {
      this.closed = true;
    }
  };
  return { UDPClass, writes, get inst() { return inst!; } };
}

test("SDP responder: a valid request is answered to its sender; malformed ones are counted and ignored; TLS only when offered", (t) => {
  const u = fakeUdp();
  const address = new Uint8Array(16);
  address[15] = 1;
  let tlsAvailable = false;
  const server = new SdpServer({
    UDP: u.UDPClass,
    port: 15118,
    answer: (req) => ({ address, port: 50000, security: req.security === SDP_SECURITY_TLS && tlsAvailable ? SDP_SECURITY_TLS : SDP_SECURITY_NONE, transport: SDP_TRANSPORT_TCP }),
  });
  const send = (b: Uint8Array) => u.inst.deliver({ data: b.slice().buffer as ArrayBuffer, address: "fe80::2", port: 49152 });
  send(encodeSdpRequest({ security: SDP_SECURITY_NONE, transport: SDP_TRANSPORT_TCP }));
  send(Uint8Array.from([1, 0xfe, 0x90, 0x00, 0, 0, 0, 2, 0x42, 0x00])); // unknown security value
  send(Uint8Array.from([1, 0xfe, 0x90, 0x00, 0, 0, 0, 3, 0x10, 0x00, 0])); // wrong length
  send(Uint8Array.from([2, 0xfd, 0x90, 0x00, 0, 0, 0, 2, 0x10, 0x00])); // bad version
  send(encodeSdpRequest({ security: SDP_SECURITY_TLS, transport: SDP_TRANSPORT_TCP }));
  tlsAvailable = true;
  send(encodeSdpRequest({ security: SDP_SECURITY_TLS, transport: SDP_TRANSPORT_TCP }));
  t.deepEqual(server.stats, { requests: 3, responses: 3, invalid: 3, unanswered: 0 });
  const res = u.writes.map((w) => {
    const p = parseSdpResponse(w.data);
    if (typeof p === "string") throw new Error(p);
    return [w.address, w.port, p.port, p.security];
  });
  t.deepEqual(res, [
    ["fe80::2", 49152, 50000, SDP_SECURITY_NONE],
    ["fe80::2", 49152, 50000, SDP_SECURITY_NONE],
    ["fe80::2", 49152, 50000, SDP_SECURITY_TLS],
  ]);
  server.close();
  t.true((u.inst as unknown as { closed: boolean }).closed);
});
