/**
 * The EVSE SLAC state machine against a scripted EV (and a scripted local modem), in virtual time.
 */
import test from "ava";
import { createHash } from "node:crypto";
import type { TimerId, Timers } from "../../hal/clock.js";
import { newMmeHeader, parseMme } from "../../firmware/iso15118/link/homeplug.js";
import { SlacEvse, defaultSlacConfig, type SlacConfig, type SlacFailure, type SlacMatch } from "../../firmware/iso15118/slac/evse.js";
import * as m from "../../firmware/iso15118/slac/messages.js";
import { BROADCAST_MAC, MMTYPE, QCA_LOCAL_MAC, hexText } from "../../firmware/iso15118/slac/mme.js";
import { nidFromNmk } from "../../firmware/iso15118/slac/nid.js";
import { Rng } from "../../simulator/rng.js";

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

const sha256 = (d: Uint8Array): ArrayBuffer => {
  const b = createHash("sha256").update(d).digest();
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
};

const EVSE_MAC = new Uint8Array([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
const EV_MAC = new Uint8Array([0x00, 0xe0, 0x4c, 0x68, 0x00, 0x1d]);
const OTHER_EV = new Uint8Array([0x00, 0xe0, 0x4c, 0x68, 0x00, 0x99]);
const MODEM_MAC = new Uint8Array([0x00, 0xb0, 0x52, 0x11, 0x22, 0x33]);
const QUIRKY_MODEM = new Uint8Array([0x88, 0xfc, 0xa6, 0x1c, 0x7c, 0x88]);

interface Sent {
  t: number;
  mmtype: number;
  dst: Uint8Array;
  body: Uint8Array;
}

function rig(cfg: Partial<SlacConfig> = {}, seed = 1) {
  const timers = new VirtualTimers();
  const rng = new Rng(seed);
  const sent: Sent[] = [];
  const events: { t: number; ev: string; reason?: SlacFailure; action?: string; match?: SlacMatch }[] = [];
  const hdr = newMmeHeader();
  const slac = new SlacEvse(
    {
      timers,
      crypto: { randomBytes: (n) => rng.bytes(n).slice().buffer as ArrayBuffer, sha256 },
      link: {
        mac: EVSE_MAC,
        send(frame) {
          if (!parseMme(frame, hdr)) throw new Error("bad frame sent");
          sent.push({ t: timers.now, mmtype: hdr.mmtype, dst: frame.slice(0, 6), body: frame.slice(hdr.payloadOffset) });
          return true;
        },
      },
      events: {
        matched: (match) => events.push({ t: timers.now, ev: "matched", match }),
        joined: () => events.push({ t: timers.now, ev: "joined" }),
        failed: (reason, action) => events.push({ t: timers.now, ev: "failed", reason, action }),
      },
    },
    { ...defaultSlacConfig(), ...cfg },
  );
  const of = (type: number) => sent.filter((s) => s.mmtype === type);
  const last = (type: number) => of(type).at(-1)!;
  const runId = rng.bytes(8).slice();
  const ev = {
    parm(run = runId, from = EV_MAC) {
      slac.receive(m.encodeSlacParmReq(BROADCAST_MAC, from, { applicationType: 0, securityType: 0, runId: run }));
    },
    startAtten(run = runId, from = EV_MAC) {
      for (let i = 0; i < 3; i++) slac.receive(m.encodeStartAttenCharInd(BROADCAST_MAC, from, { applicationType: 0, securityType: 0, numSounds: 10, timeOut: 6, respType: 1, forwardingSta: from, runId: run }));
    },
    /** One sound from the EV and the modem's profile of it (all groups = db). */
    sound(cnt: number, db: number, run = runId) {
      slac.receive(m.encodeMnbcSoundInd(BROADCAST_MAC, EV_MAC, { applicationType: 0, securityType: 0, senderId: new Uint8Array(17), cnt, runId: run, rnd: new Uint8Array(16) }));
      slac.receive(m.encodeAttenProfileInd(BROADCAST_MAC, MODEM_MAC, { pevMac: EV_MAC, numGroups: 58, aag: new Uint8Array(58).fill(db) }));
    },
    rsp(result = 0, run = runId) {
      slac.receive(m.encodeAttenCharRsp(EVSE_MAC, EV_MAC, { applicationType: 0, securityType: 0, sourceAddress: EV_MAC, runId: run, sourceId: new Uint8Array(17), respId: new Uint8Array(17), result }));
    },
    match(run = runId, evseMac = EVSE_MAC) {
      slac.receive(m.encodeSlacMatchReq(EVSE_MAC, EV_MAC, { applicationType: 0, securityType: 0, mvfLength: 62, pevId: new Uint8Array(17), pevMac: EV_MAC, evseId: new Uint8Array(17), evseMac, runId: run }));
    },
  };
  const modemCnf = (result = 0, from = MODEM_MAC) =>
    slac.receive(m.encodeSetKeyCnf(EVSE_MAC, from, { result, myNonce: new Uint8Array(4), yourNonce: new Uint8Array(4), pid: 4, prn: 0, pmn: 255, ccoCapability: 0 }));
  return { slac, timers, sent, events, of, last, ev, modemCnf, runId, seed };
}

/** Start, key set, PARM exchange, START_ATTEN: the machine is sounding. */
function toSounding(r: ReturnType<typeof rig>): void {
  r.slac.start();
  r.modemCnf();
  r.timers.advance(30);
  r.ev.parm();
  r.timers.advance(20);
  r.ev.startAtten();
}

test("happy path: new NMK, NID derived, PARM.CNF per table A.2, ten sounds averaged, match with NID/NMK, join", (t) => {
  const r = rig();
  r.slac.start();
  t.is(r.slac.state, "set_key");
  const sk = m.decodeSetKeyReq(r.last(MMTYPE.CM_SET_KEY_REQ).body)!;
  t.deepEqual([...r.last(MMTYPE.CM_SET_KEY_REQ).dst], [...QCA_LOCAL_MAC]);
  t.is(sk.keyType, 1);
  t.is(sk.pid, 4);
  t.is(sk.newEks, 1);
  t.is(hexText(sk.nid), hexText(nidFromNmk(sk.newKey, sha256)));
  r.modemCnf();
  t.is(r.slac.state, "wait_parm");
  r.timers.advance(3000);
  r.ev.parm();
  const cnf = m.decodeSlacParmCnf(r.last(MMTYPE.CM_SLAC_PARM_CNF).body)!;
  t.deepEqual([...r.last(MMTYPE.CM_SLAC_PARM_CNF).dst], [...EV_MAC]);
  t.deepEqual([...cnf.mSoundTarget], [...BROADCAST_MAC]);
  t.is(cnf.numSounds, 10);
  t.is(cnf.timeOut, 6);
  t.is(cnf.respType, 1);
  t.deepEqual([...cnf.forwardingSta], [...EV_MAC]);
  t.is(hexText(cnf.runId), hexText(r.runId));
  r.timers.advance(50);
  r.ev.startAtten();
  t.is(r.slac.state, "sounding");
  for (let i = 0; i < 10; i++) r.ev.sound(9 - i, 10 + i); // 10..19 dB: mean 14.5 → 15
  t.is(r.slac.state, "wait_atten_rsp", "the tenth profile ends the window early");
  const ind = m.decodeAttenCharInd(r.last(MMTYPE.CM_ATTEN_CHAR_IND).body)!;
  t.is(ind.numSounds, 10);
  t.is(ind.numGroups, 58);
  t.deepEqual([...ind.aag], new Array(58).fill(15));
  t.deepEqual([...ind.sourceAddress], [...EV_MAC]);
  r.ev.rsp(0);
  t.is(r.slac.state, "wait_match");
  r.timers.advance(500);
  r.ev.match();
  const mc = m.decodeSlacMatchCnf(r.last(MMTYPE.CM_SLAC_MATCH_CNF).body)!;
  t.is(mc.mvfLength, 86);
  t.is(hexText(mc.nmk), hexText(sk.newKey));
  t.is(hexText(mc.nid), hexText(sk.nid));
  t.deepEqual([...mc.evseMac], [...EVSE_MAC]);
  t.is(r.slac.state, "wait_join");
  t.is(r.events[0]!.ev, "matched");
  t.is(r.events[0]!.match!.sounds, 10);
  r.timers.advance(2000);
  r.slac.linkUp();
  t.is(r.slac.state, "joined");
  t.deepEqual(r.events.map((e) => e.ev), ["matched", "joined"]);
  r.timers.advance(60_000);
  t.is(r.slac.state, "joined", "no timer left running");
  // A new session has a new key.
  r.slac.stop();
  r.slac.start();
  t.not(hexText(m.decodeSetKeyReq(r.last(MMTYPE.CM_SET_KEY_REQ).body)!.newKey), hexText(sk.newKey));
});

test("several sounds averaged when the window closes (TT_EVSE_match_MNBC) with fewer than asked", (t) => {
  const r = rig();
  toSounding(r);
  r.ev.sound(9, 10);
  r.ev.sound(8, 20);
  r.ev.sound(7, 31); // mean 20.33 → 20
  r.timers.advance(599);
  t.is(r.slac.state, "sounding");
  r.timers.advance(1);
  t.is(r.slac.state, "wait_atten_rsp");
  const ind = m.decodeAttenCharInd(r.last(MMTYPE.CM_ATTEN_CHAR_IND).body)!;
  t.is(ind.numSounds, 3);
  t.is(ind.aag[0], 20);
});

test("wrong RunID and other EVs are ignored; the step times out (TT_match_sequence) and the EV's retry matches", (t) => {
  const r = rig();
  r.slac.start();
  r.modemCnf();
  r.ev.parm();
  const ignored = r.slac.stats.ignored;
  r.ev.startAtten(new Uint8Array(8).fill(7));
  r.ev.parm(new Uint8Array(8).fill(9), OTHER_EV);
  t.is(r.slac.state, "wait_start_atten");
  t.is(r.slac.stats.ignored, ignored + 4);
  r.timers.advance(400);
  t.is(r.slac.state, "wait_parm");
  t.is(r.slac.stats.failedSteps, 1);
  // The EV retries with a new RunID and gets through.
  const run2 = new Uint8Array(8).fill(0x42);
  r.ev.parm(run2);
  r.ev.startAtten(run2);
  for (let i = 0; i < 10; i++) r.ev.sound(9 - i, 12, run2);
  t.is(r.slac.state, "wait_atten_rsp");
  r.ev.rsp(0, r.runId);
  t.is(r.slac.state, "wait_atten_rsp", "RSP of the old RunID ignored");
  r.ev.rsp(0, run2);
  r.ev.match(run2);
  t.is(r.slac.state, "wait_join");
});

test("a lost PARM.CNF: the same RunID again is answered again", (t) => {
  const r = rig();
  r.slac.start();
  r.modemCnf();
  r.ev.parm();
  r.timers.advance(100);
  r.ev.parm();
  t.is(r.of(MMTYPE.CM_SLAC_PARM_CNF).length, 2);
  t.is(r.slac.state, "wait_start_atten");
});

test("CM_ATTEN_CHAR.IND is resent after TT_match_response, C_EV_match_retry times, then the step fails", (t) => {
  const r = rig();
  toSounding(r);
  r.ev.sound(0, 30);
  r.timers.advance(600);
  t.is(r.of(MMTYPE.CM_ATTEN_CHAR_IND).length, 1);
  const t0 = r.timers.now;
  r.timers.advance(1000);
  t.deepEqual(r.of(MMTYPE.CM_ATTEN_CHAR_IND).map((s) => s.t - t0), [0, 200, 400]);
  t.is(r.slac.state, "wait_parm");
  t.is(r.slac.stats.failedSteps, 1);
});

test("no sound at all, a rejected ATTEN_CHAR and a missing MATCH.REQ each fail a step; retries exhausted → basic", (t) => {
  const r = rig({ matchRetries: 2 });
  toSounding(r);
  r.timers.advance(600);
  t.is(r.slac.state, "wait_parm");
  r.ev.parm();
  r.ev.startAtten();
  r.ev.sound(0, 30);
  r.timers.advance(600);
  r.ev.rsp(1);
  t.is(r.slac.state, "wait_parm");
  r.ev.parm();
  r.ev.startAtten();
  r.ev.sound(0, 30);
  r.timers.advance(600);
  r.ev.rsp(0);
  r.timers.advance(9_999);
  t.is(r.slac.state, "wait_match");
  r.timers.advance(1);
  t.is(r.slac.state, "failed");
  t.deepEqual(r.events, [{ t: r.timers.now, ev: "failed", reason: "match_timeout", action: "basic" }]);
});

test("TT_EVSE_SLAC_init: no EV → fallback basic; with fallback retry a new session (new NMK) first", (t) => {
  const basic = rig();
  basic.slac.start();
  basic.modemCnf();
  basic.timers.advance(49_999);
  t.is(basic.slac.state, "wait_parm");
  basic.timers.advance(1);
  t.is(basic.slac.state, "failed");
  t.deepEqual(basic.events.map((e) => [e.reason, e.action]), [["slac_init_timeout", "basic"]]);

  const retry = rig({ fallback: "retry", sessionRetries: 1, timings: { ...defaultSlacConfig().timings, slacInit: 20_000 } });
  retry.slac.start();
  retry.modemCnf();
  const k1 = m.decodeSetKeyReq(retry.last(MMTYPE.CM_SET_KEY_REQ).body)!.newKey;
  retry.timers.advance(20_000);
  t.is(retry.slac.state, "set_key");
  const k2 = m.decodeSetKeyReq(retry.last(MMTYPE.CM_SET_KEY_REQ).body)!.newKey;
  t.not(hexText(k1), hexText(k2));
  retry.modemCnf();
  retry.timers.advance(20_000);
  t.is(retry.slac.state, "failed");
  t.deepEqual(retry.events.map((e) => [e.reason, e.action]), [["slac_init_timeout", "retry"], ["slac_init_timeout", "basic"]]);
});

test("CM_SET_KEY.CNF Result 1: accepted from the quirky modem (quirk logged), resent then failed from others", (t) => {
  const q = rig();
  q.slac.start();
  q.modemCnf(1, QUIRKY_MODEM);
  t.is(q.slac.state, "wait_parm");
  q.ev.parm();
  q.ev.startAtten();
  q.ev.sound(0, 5);
  q.timers.advance(600);
  q.ev.rsp();
  q.ev.match();
  t.deepEqual(q.events[0]!.match!.quirks, ["set-key-result-1"]);

  const n = rig();
  n.slac.start();
  n.modemCnf(1);
  t.is(n.slac.state, "set_key");
  n.timers.advance(1000);
  n.modemCnf(1);
  n.timers.advance(1000);
  n.timers.advance(1000);
  t.is(n.of(MMTYPE.CM_SET_KEY_REQ).length, 3);
  t.is(n.slac.state, "failed");
  t.deepEqual(n.events.map((e) => e.reason), ["set_key"]);
});

test("TT_match_join: matched but never joined fails; a repeated MATCH.REQ gets the same CNF", (t) => {
  const r = rig();
  toSounding(r);
  r.ev.sound(0, 5);
  r.timers.advance(600);
  r.ev.rsp();
  r.ev.match();
  r.timers.advance(5000);
  r.ev.match();
  const cnfs = r.of(MMTYPE.CM_SLAC_MATCH_CNF);
  t.is(cnfs.length, 2);
  t.is(hexText(cnfs[0]!.body), hexText(cnfs[1]!.body));
  r.timers.advance(7000);
  t.is(r.slac.state, "failed");
  t.deepEqual(r.events.map((e) => e.ev + ":" + (e.reason ?? "")), ["matched:", "failed:join_timeout"]);
});

test("MATCH.REQ naming another EVSE is ignored", (t) => {
  const r = rig();
  toSounding(r);
  r.ev.sound(0, 5);
  r.timers.advance(600);
  r.ev.rsp();
  r.ev.match(r.runId, OTHER_EV);
  t.is(r.slac.state, "wait_match");
  t.is(r.of(MMTYPE.CM_SLAC_MATCH_CNF).length, 0);
});

test("behaviour quirk no-atten-profile: sounds without profiles give a flat profile when enabled, fail otherwise", (t) => {
  for (const enabled of [true, false]) {
    const r = rig({ behaviourQuirks: enabled ? ["no-atten-profile"] : [] });
    toSounding(r);
    for (let i = 0; i < 4; i++) r.slac.receive(m.encodeMnbcSoundInd(BROADCAST_MAC, EV_MAC, { applicationType: 0, securityType: 0, senderId: new Uint8Array(17), cnt: 3 - i, runId: r.runId, rnd: new Uint8Array(16) }));
    r.timers.advance(600);
    if (enabled) {
      const ind = m.decodeAttenCharInd(r.last(MMTYPE.CM_ATTEN_CHAR_IND).body)!;
      t.is(ind.numSounds, 4);
      t.is(ind.aag[10], 20);
    } else {
      t.is(r.of(MMTYPE.CM_ATTEN_CHAR_IND).length, 0);
      t.is(r.slac.state, "wait_parm");
    }
  }
});

test("bad input changes nothing: garbage, truncated, fragmented, security type 1, unknown MMTYPE", (t) => {
  const r = rig();
  r.slac.start();
  r.modemCnf();
  const before = r.sent.length;
  const rng = new Rng(99);
  for (let i = 0; i < 300; i++) r.slac.receive(rng.bytes(rng.int(0, 130)));
  const parm = m.encodeSlacParmReq(BROADCAST_MAC, EV_MAC, { applicationType: 0, securityType: 0, runId: r.runId });
  r.slac.receive(parm.subarray(0, 25)); // body of 6 bytes
  r.slac.receive(parm, 20);
  const frag = parm.slice();
  frag[17] = 0x10; // two fragments
  r.slac.receive(frag);
  const sec = m.encodeSlacParmReq(BROADCAST_MAC, EV_MAC, { applicationType: 0, securityType: 1, runId: r.runId });
  r.slac.receive(sec);
  const unk = parm.slice();
  unk[15] = 0x38; // CM_NW_INFO.REQ
  r.slac.receive(unk);
  t.is(r.sent.length, before);
  t.is(r.slac.state, "wait_parm");
  t.true(r.slac.stats.ignored >= 305);
  r.ev.parm();
  t.is(r.slac.state, "wait_start_atten");
});

test("config is validated", (t) => {
  t.throws(() => rig({ numSounds: 0 }), { instanceOf: RangeError });
  t.throws(() => rig({ timings: { ...defaultSlacConfig().timings, matchMnbc: 650 } }), { instanceOf: RangeError });
  t.throws(() => rig({ fallback: "never" as "basic" }), { instanceOf: RangeError });
});
