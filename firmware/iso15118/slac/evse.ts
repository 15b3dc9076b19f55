/**
 * SLAC, EVSE side (ISO 15118-3, "Signal level attenuation characterization", matching process), as a state
 * machine driven by HAL timers (no promises):
 *
 *   start()  ─► set_key: CM_SET_KEY.REQ (a new random NMK, NID derived from it) to the local modem
 *            ─► wait_parm (TT_EVSE_SLAC_init): CM_SLAC_PARM.REQ from the EV ─► CM_SLAC_PARM.CNF
 *            ─► wait_start_atten (TT_match_sequence): CM_START_ATTEN_CHAR.IND
 *            ─► sounding (TT_EVSE_match_MNBC): CM_MNBC_SOUND.IND from the EV, CM_ATTEN_PROFILE.IND from the modem
 *            ─► wait_atten_rsp: CM_ATTEN_CHAR.IND (averaged profile), resent after TT_match_response
 *            ─► wait_match (TT_EVSE_match_session): CM_SLAC_MATCH.REQ ─► CM_SLAC_MATCH.CNF (NID, NMK)
 *            ─► wait_join (TT_match_join): linkUp() from the owner (the EV joined the AVLN) ─► joined
 *
 * A failed step (timeout, rejection) sends the machine back to wait_parm for the EV's own retry (a new
 * CM_SLAC_PARM.REQ); after `matchRetries` failed steps, or when TT_EVSE_SLAC_init / TT_match_join / the key
 * setting runs out, the session fails: with fallback "retry" it starts over (new NMK) up to `sessionRetries`
 * times, then (or with fallback "basic") it reports failed(reason, "basic") and the owner continues with basic
 * (PWM) charging. Frames of another RunID or another EV, or malformed ones, are counted and ignored.
 */
import type { Timers, TimerId } from "../../../hal/clock.js";
import type { Log } from "../../../hal/system.js";
import { newMmeHeader, parseMme, isFragmented } from "../link/homeplug.js";
import { BROADCAST_MAC, MMTYPE, QCA_LOCAL_MAC, bytesEqual, hexText, macText } from "./mme.js";
import {
  APPLICATION_TYPE_PEV_EVSE,
  ATTEN_GROUPS,
  ID_LEN,
  KEY_TYPE_NMK,
  NEW_EKS_NMK,
  NMK_LEN,
  PID_HLE,
  SECURITY_NONE,
  averageProfiles,
  decodeAttenCharRsp,
  decodeAttenProfileInd,
  decodeMnbcSoundInd,
  decodeSetKeyCnf,
  decodeSlacMatchReq,
  decodeSlacParmReq,
  decodeStartAttenCharInd,
  encodeAttenCharInd,
  encodeSetKeyReq,
  encodeSlacMatchCnf,
  encodeSlacParmCnf,
} from "./messages.js";
import { nidFromNmk, type Sha256 } from "./nid.js";
import { SLAC_QUIRKS, quirkEffects, type SlacQuirk, type SlacQuirkEffects } from "./quirks.js";

/** The standard's timers (ms). Working values: /work/shared/iso15118/README.md. */
export interface SlacTimings {
  /** TT_EVSE_SLAC_init (20–50 s): waiting for CM_SLAC_PARM.REQ. */
  slacInit: number;
  /** TT_match_sequence (400 ms): CM_SLAC_PARM.CNF sent → CM_START_ATTEN_CHAR.IND. */
  matchSequence: number;
  /** TT_match_response (200 ms): CM_ATTEN_CHAR.IND sent → CM_ATTEN_CHAR.RSP. */
  matchResponse: number;
  /** TT_EVSE_match_MNBC (600 ms): the sounding window after CM_START_ATTEN_CHAR.IND (sent as Time_Out in 100 ms). */
  matchMnbc: number;
  /** TT_EVSE_match_session (10 s): CM_ATTEN_CHAR.RSP → CM_SLAC_MATCH.REQ. */
  matchSession: number;
  /** TT_match_join (12 s): CM_SLAC_MATCH.CNF → the EV has joined the AVLN (linkUp()). */
  matchJoin: number;
  /** Not in ISO 15118-3: how long to wait for the local modem's CM_SET_KEY.CNF. */
  setKey: number;
}

export interface SlacConfig {
  timings: SlacTimings;
  /** NUM_SOUNDS asked for in CM_SLAC_PARM.CNF (ISO 15118-3 table A.2: 10). */
  numSounds: number;
  /** Resends of CM_ATTEN_CHAR.IND without CM_ATTEN_CHAR.RSP (C_EV_match_retry: 2). */
  attenCharRetries: number;
  /** Failed steps tolerated within a session before it fails (the EV retries with a new CM_SLAC_PARM.REQ). */
  matchRetries: number;
  /** Resends of CM_SET_KEY.REQ without a (good) CM_SET_KEY.CNF. */
  setKeyRetries: number;
  /** What a failed session leads to: "basic" PWM charging at once, or "retry" (new session) first. */
  fallback: "basic" | "retry";
  /** Session restarts with fallback "retry" before falling back to basic charging. */
  sessionRetries: number;
  /** Destination of CM_SET_KEY.REQ: the local modem (QCA local-management address by default). */
  modemMac: Uint8Array;
  /** Behaviour-keyed quirks to enable (ids of SLAC_QUIRKS entries with behaviour: true). */
  behaviourQuirks: string[];
  quirks: readonly SlacQuirk[];
}

export function defaultSlacConfig(): SlacConfig {
  return {
    timings: { slacInit: 50_000, matchSequence: 400, matchResponse: 200, matchMnbc: 600, matchSession: 10_000, matchJoin: 12_000, setKey: 1_000 },
    numSounds: 10,
    attenCharRetries: 2,
    matchRetries: 2,
    setKeyRetries: 2,
    fallback: "basic",
    sessionRetries: 1,
    modemMac: QCA_LOCAL_MAC,
    behaviourQuirks: [],
    quirks: SLAC_QUIRKS,
  };
}

/** Validates a config; returns a message for the first problem, or null. */
export function checkSlacConfig(c: SlacConfig): string | null {
  const t = c.timings;
  const keys: (keyof SlacTimings)[] = ["slacInit", "matchSequence", "matchResponse", "matchMnbc", "matchSession", "matchJoin", "setKey"];
  for (const k of keys) if (!(Number.isInteger(t[k]) && t[k] > 0 && t[k] <= 600_000)) return `timings.${k} must be an integer 1..600000 ms`;
  if (t.matchMnbc % 100 !== 0 || t.matchMnbc / 100 > 255) return "timings.matchMnbc must be a multiple of 100 ms up to 25500";
  if (!(Number.isInteger(c.numSounds) && c.numSounds >= 1 && c.numSounds <= 255)) return "numSounds must be 1..255";
  for (const k of ["attenCharRetries", "matchRetries", "setKeyRetries", "sessionRetries"] as const) {
    if (!(Number.isInteger(c[k]) && c[k] >= 0 && c[k] <= 100)) return `${k} must be 0..100`;
  }
  if (c.fallback !== "basic" && c.fallback !== "retry") return "fallback must be basic or retry";
  if (!(c.modemMac instanceof Uint8Array) || c.modemMac.length !== 6) return "modemMac must be 6 bytes";
  return null;
}

/** Where frames go: firmware/iso15118/link's Link satisfies it. */
export interface SlacLink {
  /** The charger host's MAC (source of our frames, EVSE_MAC). */
  readonly mac: Uint8Array;
  send(frame: Uint8Array, length?: number): boolean;
}

export type SlacState =
  | "idle"
  | "set_key"
  | "wait_parm"
  | "wait_start_atten"
  | "sounding"
  | "wait_atten_rsp"
  | "wait_match"
  | "wait_join"
  | "joined"
  | "failed";

export type SlacFailure =
  | "set_key"
  | "slac_init_timeout"
  | "start_atten_timeout"
  | "no_sounds"
  | "atten_char_timeout"
  | "atten_char_rejected"
  | "match_timeout"
  | "join_timeout"
  | "retries_exhausted";

export interface SlacMatch {
  evMac: Uint8Array;
  runId: Uint8Array;
  nid: Uint8Array;
  nmk: Uint8Array;
  /** Sounds whose attenuation profile was averaged. */
  sounds: number;
  /** Quirks that applied in this session. */
  quirks: string[];
}

export interface SlacEvents {
  /** CM_SLAC_MATCH.CNF was sent: the EV has the key; it joins next. */
  matched?(match: SlacMatch): void;
  /** The EV joined the AVLN (linkUp() after matched): SDP may start. */
  joined?(match: SlacMatch): void;
  /** The session failed; "retry": a new session has started; "basic": continue without HLC. */
  failed?(reason: SlacFailure, action: "retry" | "basic"): void;
}

export interface SlacStats {
  /** Frames that were not SLAC, malformed, of another RunID / EV, or out of sequence. */
  ignored: number;
  setKeyReqs: number;
  parmCnfs: number;
  attenCharInds: number;
  matchCnfs: number;
  soundsSeen: number;
  profilesSeen: number;
  failedSteps: number;
  sessions: number;
}

export interface SlacDeps {
  timers: Timers;
  crypto: { randomBytes(n: number): ArrayBuffer; sha256: Sha256 };
  link: SlacLink;
  log?: Log;
  events?: SlacEvents;
}

export class SlacEvse {
  readonly stats: SlacStats = { ignored: 0, setKeyReqs: 0, parmCnfs: 0, attenCharInds: 0, matchCnfs: 0, soundsSeen: 0, profilesSeen: 0, failedSteps: 0, sessions: 0 };
  #state: SlacState = "idle";
  readonly #cfg: SlacConfig;
  readonly #d: SlacDeps;
  readonly #hdr = newMmeHeader();
  #timer: TimerId | -1 = -1;
  #nmk: Uint8Array = new Uint8Array(NMK_LEN);
  #nid: Uint8Array = new Uint8Array(7);
  #evMac: Uint8Array | null = null;
  #runId: Uint8Array | null = null;
  #sums = new Uint32Array(ATTEN_GROUPS);
  #profiles = 0;
  #sounds = 0;
  #tries = 0;
  #failedSteps = 0;
  #sessionRetries = 0;
  #matchCnf: Uint8Array | null = null;
  #match: SlacMatch | null = null;
  #quirks: { effects: SlacQuirkEffects; ids: string[] } = { effects: {}, ids: [] };
  #behaviour: SlacQuirkEffects;

  constructor(deps: SlacDeps, config: SlacConfig = defaultSlacConfig()) {
    const problem = checkSlacConfig(config);
    if (problem) throw new RangeError(`SLAC config: ${problem}`);
    if (deps.link.mac.length !== 6) throw new RangeError("link.mac must be 6 bytes");
    this.#d = deps;
    this.#cfg = config;
    this.#behaviour = quirkEffects(config.quirks, {}, config.behaviourQuirks).effects;
  }

  get state(): SlacState {
    return this.#state;
  }

  /** The match of this session (after matched), or null. */
  get match(): SlacMatch | null {
    return this.#match;
  }

  /** 5 % PWM is on (state B with high-level communication): a new SLAC session with a new NMK. */
  start(): void {
    this.#sessionRetries = 0;
    this.#newSession();
  }

  /** The EV is gone (unplugged, state A/E/F) or HLC is off: everything stops. */
  stop(): void {
    this.#clearTimer();
    this.#reset();
    this.#set("idle");
  }

  /** The owner saw the EV join the AVLN (modem link status, or the first SDP request from the EV). */
  linkUp(): void {
    if (this.#state !== "wait_join" || !this.#match) return;
    this.#clearTimer();
    this.#set("joined");
    this.#d.events?.joined?.(this.#match);
  }

  /** One received Ethernet frame with EtherType 0x88E1 (only valid during the call). */
  receive(frame: Uint8Array, length = frame.length): void {
    const h = this.#hdr;
    if (!parseMme(frame, h, length) || h.mmv !== 1 || isFragmented(h.fmi)) {
      this.stats.ignored++;
      return;
    }
    const body = frame.subarray(h.payloadOffset, length);
    const src = frame.subarray(6, 12);
    switch (h.mmtype) {
      case MMTYPE.CM_SET_KEY_CNF:
        return this.#onSetKeyCnf(body, src);
      case MMTYPE.CM_SLAC_PARM_REQ:
        return this.#onParmReq(body, src);
      case MMTYPE.CM_START_ATTEN_CHAR_IND:
        return this.#onStartAtten(body, src);
      case MMTYPE.CM_MNBC_SOUND_IND:
        return this.#onSound(body, src);
      case MMTYPE.CM_ATTEN_PROFILE_IND:
        return this.#onProfile(body, src);
      case MMTYPE.CM_ATTEN_CHAR_RSP:
        return this.#onAttenRsp(body, src);
      case MMTYPE.CM_SLAC_MATCH_REQ:
        return this.#onMatchReq(body, src);
      default:
        this.stats.ignored++;
    }
  }

  // ---- session and steps ----------------------------------------------------------------------------

  #newSession(): void {
    this.#clearTimer();
    this.#reset();
    this.stats.sessions++;
    this.#failedSteps = 0;
    const nmk = new Uint8Array(this.#d.crypto.randomBytes(NMK_LEN));
    if (nmk.length !== NMK_LEN) throw new Error("randomBytes returned the wrong length");
    this.#nmk = nmk;
    this.#nid = nidFromNmk(nmk, this.#d.crypto.sha256, 0);
    this.#tries = 0;
    this.#sendSetKey();
  }

  #sendSetKey(): void {
    this.#set("set_key");
    const mac = this.#d.link.mac;
    this.#d.link.send(
      encodeSetKeyReq(this.#cfg.modemMac, mac, {
        keyType: KEY_TYPE_NMK,
        myNonce: new Uint8Array(4),
        yourNonce: new Uint8Array(4),
        pid: PID_HLE,
        prn: 0,
        pmn: 0,
        ccoCapability: 0,
        nid: this.#nid,
        newEks: NEW_EKS_NMK,
        newKey: this.#nmk,
      }),
    );
    this.stats.setKeyReqs++;
    this.#arm(this.#cfg.timings.setKey, () => {
      if (this.#tries++ < this.#cfg.setKeyRetries) this.#sendSetKey();
      else this.#sessionFailed("set_key");
    });
  }

  #onSetKeyCnf(body: Uint8Array, src: Uint8Array): void {
    const m = this.#state === "set_key" ? decodeSetKeyCnf(body) : null;
    if (!m) {
      this.stats.ignored++;
      return;
    }
    if (m.result !== 0) {
      const q = quirkEffects(this.#cfg.quirks, { modem: src }, this.#cfg.behaviourQuirks);
      if (!q.effects.setKeyResultIgnored) {
        this.#log("slac.setKeyRefused", { result: m.result, modem: macText(src) });
        return; // the timer resends, then fails
      }
      this.#log("slac.quirk", { quirk: q.ids.join(","), result: m.result, modem: macText(src) });
      for (const id of q.ids) if (!this.#quirks.ids.includes(id)) this.#quirks.ids.push(id);
    }
    this.#waitParm();
  }

  #waitParm(): void {
    this.#evMac = null;
    this.#runId = null;
    this.#matchCnf = null;
    this.#set("wait_parm");
    this.#arm(this.#cfg.timings.slacInit, () => this.#sessionFailed("slac_init_timeout"));
  }

  #onParmReq(body: Uint8Array, src: Uint8Array): void {
    const m = decodeSlacParmReq(body);
    const st = this.#state;
    const inAttempt = st === "wait_start_atten" || st === "sounding" || st === "wait_atten_rsp" || st === "wait_match";
    if (!m || m.applicationType !== APPLICATION_TYPE_PEV_EVSE || m.securityType !== SECURITY_NONE || (st !== "wait_parm" && !inAttempt)) {
      this.stats.ignored++;
      return;
    }
    // During an attempt only the EV being matched may restart it (its own retry, ISO 15118-3 C_EV_match_retry).
    if (inAttempt && !bytesEqual(src, this.#evMac!)) {
      this.stats.ignored++;
      return;
    }
    if (inAttempt && st === "wait_start_atten" && bytesEqual(m.runId, this.#runId!)) {
      this.#sendParmCnf(); // our CNF was lost: same RunID, answer again
      return;
    }
    this.#evMac = src.slice();
    this.#runId = m.runId;
    this.#sums.fill(0);
    this.#profiles = 0;
    this.#sounds = 0;
    const q = quirkEffects(this.#cfg.quirks, { ev: this.#evMac }, this.#cfg.behaviourQuirks);
    for (const id of q.ids) if (!this.#quirks.ids.includes(id)) this.#quirks.ids.push(id);
    this.#quirks.effects = { ...this.#quirks.effects, ...q.effects };
    this.#sendParmCnf();
  }

  #sendParmCnf(): void {
    const ev = this.#evMac!;
    this.#d.link.send(
      encodeSlacParmCnf(ev, this.#d.link.mac, {
        mSoundTarget: BROADCAST_MAC,
        numSounds: this.#cfg.numSounds,
        timeOut: this.#cfg.timings.matchMnbc / 100,
        respType: 1,
        forwardingSta: ev,
        applicationType: APPLICATION_TYPE_PEV_EVSE,
        securityType: SECURITY_NONE,
        runId: this.#runId!,
      }),
    );
    this.stats.parmCnfs++;
    this.#set("wait_start_atten");
    this.#arm(this.#cfg.timings.matchSequence, () => this.#stepFailed("start_atten_timeout"));
  }

  #ours(runId: Uint8Array, src: Uint8Array): boolean {
    return this.#runId !== null && this.#evMac !== null && bytesEqual(runId, this.#runId) && bytesEqual(src, this.#evMac);
  }

  #onStartAtten(body: Uint8Array, src: Uint8Array): void {
    const m = decodeStartAttenCharInd(body);
    if (!m || !this.#ours(m.runId, src)) {
      this.stats.ignored++;
      return;
    }
    // The EV sends it three times: only the first opens the window.
    if (this.#state !== "wait_start_atten") return;
    this.#set("sounding");
    this.#arm(this.#cfg.timings.matchMnbc, () => this.#endSounding());
  }

  #onSound(body: Uint8Array, src: Uint8Array): void {
    const m = decodeMnbcSoundInd(body);
    if (!m || !this.#ours(m.runId, src) || (this.#state !== "sounding" && this.#state !== "wait_start_atten")) {
      this.stats.ignored++;
      return;
    }
    this.#sounds++;
    this.stats.soundsSeen++;
  }

  #onProfile(body: Uint8Array, _src: Uint8Array): void {
    const m = decodeAttenProfileInd(body);
    if (!m || this.#state !== "sounding" || this.#evMac === null || !bytesEqual(m.pevMac, this.#evMac) || m.numGroups !== ATTEN_GROUPS) {
      this.stats.ignored++;
      return;
    }
    for (let i = 0; i < ATTEN_GROUPS; i++) this.#sums[i]! += m.aag[i]!;
    this.#profiles++;
    this.stats.profilesSeen++;
    if (this.#profiles >= this.#cfg.numSounds) this.#endSounding();
  }

  #endSounding(): void {
    if (this.#state !== "sounding") return;
    let count = this.#profiles;
    const flat = this.#quirks.effects.flatProfileDb ?? this.#behaviour.flatProfileDb;
    if (count === 0 && this.#sounds > 0 && flat !== undefined) {
      count = this.#sounds;
      this.#sums.fill(flat * count);
      if (!this.#quirks.ids.includes("no-atten-profile")) this.#quirks.ids.push("no-atten-profile");
      this.#log("slac.quirk", { quirk: "no-atten-profile", sounds: count });
    }
    if (count === 0) {
      this.#stepFailed("no_sounds");
      return;
    }
    this.#profiles = count;
    this.#tries = 0;
    this.#sendAttenChar();
  }

  #sendAttenChar(): void {
    const aag = new Uint8Array(ATTEN_GROUPS);
    averageProfiles(this.#sums, this.#profiles, aag);
    const ev = this.#evMac!;
    this.#d.link.send(
      encodeAttenCharInd(ev, this.#d.link.mac, {
        applicationType: APPLICATION_TYPE_PEV_EVSE,
        securityType: SECURITY_NONE,
        sourceAddress: ev,
        runId: this.#runId!,
        sourceId: new Uint8Array(ID_LEN),
        respId: new Uint8Array(ID_LEN),
        numSounds: this.#profiles,
        numGroups: ATTEN_GROUPS,
        aag,
      }),
    );
    this.stats.attenCharInds++;
    this.#set("wait_atten_rsp");
    this.#arm(this.#cfg.timings.matchResponse, () => {
      if (this.#tries++ < this.#cfg.attenCharRetries) this.#sendAttenChar();
      else this.#stepFailed("atten_char_timeout");
    });
  }

  #onAttenRsp(body: Uint8Array, src: Uint8Array): void {
    const m = decodeAttenCharRsp(body);
    if (!m || !this.#ours(m.runId, src) || this.#state !== "wait_atten_rsp" || !bytesEqual(m.sourceAddress, this.#evMac!)) {
      this.stats.ignored++;
      return;
    }
    if (m.result !== 0) {
      this.#stepFailed("atten_char_rejected");
      return;
    }
    this.#set("wait_match");
    this.#arm(this.#cfg.timings.matchSession, () => this.#stepFailed("match_timeout"));
  }

  #onMatchReq(body: Uint8Array, src: Uint8Array): void {
    const m = decodeSlacMatchReq(body);
    const st = this.#state;
    if (!m || !this.#ours(m.runId, src) || (st !== "wait_match" && st !== "wait_join") || !bytesEqual(m.pevMac, this.#evMac!) || !bytesEqual(m.evseMac, this.#d.link.mac)) {
      this.stats.ignored++;
      return;
    }
    if (st === "wait_join") {
      // The EV did not get our CNF and asks again: same answer, the join timer keeps running.
      this.#d.link.send(this.#matchCnf!);
      this.stats.matchCnfs++;
      return;
    }
    this.#matchCnf = encodeSlacMatchCnf(this.#evMac!, this.#d.link.mac, { ...m, nid: this.#nid, nmk: this.#nmk });
    this.#d.link.send(this.#matchCnf);
    this.stats.matchCnfs++;
    this.#match = { evMac: this.#evMac!, runId: this.#runId!, nid: this.#nid, nmk: this.#nmk, sounds: this.#profiles, quirks: this.#quirks.ids.slice() };
    this.#set("wait_join");
    this.#arm(this.#cfg.timings.matchJoin, () => this.#sessionFailed("join_timeout"));
    this.#log("slac.matched", { ev: macText(this.#evMac!), runId: hexText(this.#runId!), nid: hexText(this.#nid), sounds: this.#profiles });
    this.#d.events?.matched?.(this.#match);
  }

  #stepFailed(reason: SlacFailure): void {
    this.stats.failedSteps++;
    this.#log("slac.stepFailed", { reason, state: this.#state });
    if (++this.#failedSteps > this.#cfg.matchRetries) {
      this.#sessionFailed(reason === "start_atten_timeout" || reason === "match_timeout" ? reason : "retries_exhausted");
      return;
    }
    this.#waitParm();
  }

  #sessionFailed(reason: SlacFailure): void {
    this.#clearTimer();
    this.#log("slac.failed", { reason, state: this.#state });
    if (this.#cfg.fallback === "retry" && this.#sessionRetries < this.#cfg.sessionRetries) {
      this.#sessionRetries++;
      this.#d.events?.failed?.(reason, "retry");
      if (this.#state !== "idle") this.#newSession();
      return;
    }
    this.#reset();
    this.#set("failed");
    this.#d.events?.failed?.(reason, "basic");
  }

  // ---- helpers -------------------------------------------------------------------------------------

  #reset(): void {
    this.#evMac = null;
    this.#runId = null;
    this.#matchCnf = null;
    this.#match = null;
    this.#profiles = 0;
    this.#sounds = 0;
    this.#quirks = { effects: {}, ids: [] };
  }

  #set(s: SlacState): void {
    this.#state = s;
  }

  #arm(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = this.#d.timers.set(() => {
      this.#timer = -1;
      fn();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== -1) this.#d.timers.clear(this.#timer);
    this.#timer = -1;
  }

  #log(kind: string, fields: Record<string, string | number | boolean>): void {
    this.#d.log?.event(kind, fields);
  }
}
