/**
 * The simulated car's communication controller (EVCC) up to the V2GTP channel:
 *
 *   5 % on the pilot (polled) ─► SLAC, EV side, over the car's HomePlug modem (simulator/chips/homeplug.ts):
 *     CM_SLAC_PARM.REQ ─► .CNF; CM_START_ATTEN_CHAR.IND ×3; CM_MNBC_SOUND.IND × NUM_SOUNDS; CM_ATTEN_CHAR.IND ─►
 *     .RSP; CM_SLAC_MATCH.REQ ─► .CNF (NID, NMK) ─► CM_SET_KEY.REQ to its own modem ─► the AVLN forms (joinMs)
 *   ─► SDP request over UDP, as a real EV: from its link-local address (EUI-64 of its MAC) to the all-nodes group
 *      ff02::1 at the SDP port (or by unicast when the simulation wired a unicast SDP address) ─► SDP response
 *   ─► TCP to the announced address (paired with the SECC's Listener: deterministic) ─► hook.connected(channel)
 *
 * The message-level behaviour (supportedAppProtocol, DIN 70121 / ISO 15118-2 requests) is the hook's: it gets
 * `connected(channel)`, `message(payloadType, payload, channel)` and `closed(reason)`, and sends with
 * `channel.send(payloadType, payload)`. A duty other than 5 % (the SECC fell back to basic charging) stops the
 * EVCC; the EV model then charges on PWM as any basic car. Simulator-only (Node); deterministic: its timers are
 * the scheduler's, its randomness the given Rng, its sockets the simulated network.
 */
import type { TCP, UDP } from "../../hal/network.js";
import type { SimNetwork } from "../net/index.js";
import type { Rng } from "../rng.js";
import type { Scheduler } from "../scheduler.js";
import type { HomePlugModem } from "../chips/homeplug.js";
import { isLinkLocal, isMulticast6, isUnspecified6, linkLocalFromMac } from "../net/link-local.js";
import { newMmeHeader, parseMme } from "../../firmware/iso15118/link/homeplug.js";
import { BROADCAST_MAC, MMTYPE, QCA_LOCAL_MAC } from "../../firmware/iso15118/slac/mme.js";
import * as m from "../../firmware/iso15118/slac/messages.js";
import { SDP_SECURITY_NONE, SDP_SECURITY_TLS, SDP_TRANSPORT_TCP, encodeSdpRequest, formatIpv6, parseSdpResponse } from "../../firmware/iso15118/sdp/sdp.js";
import { V2gtpFramer, v2gtpMessage } from "../../firmware/iso15118/v2gtp/header.js";

export type EvccState = "idle" | "slac" | "joining" | "sdp" | "connecting" | "connected" | "closed" | "failed" | "basic";

/** The channel the hook talks through. */
export interface EvccChannel {
  readonly secure: boolean;
  send(payloadType: number, payload: Uint8Array): void;
  close(): void;
}

/** The message-level EVCC (DIN 70121 / ISO 15118-2 requests): added on top by the session layer's simulator. */
export interface EvccHook {
  connected(channel: EvccChannel): void;
  /** `payload` is only valid during the call. */
  message(payloadType: number, payload: Uint8Array, channel: EvccChannel): void;
  closed?(reason: string): void;
}

export interface EvccOptions {
  scheduler: Scheduler;
  modem: HomePlugModem;
  /** The network of the running boot (null while the board is off). */
  network: () => SimNetwork | null;
  rng: Rng;
  /**
   * Where the SECC's SDP responder listens (the simulation wires the firmware's v2gSdpAddress/Port): "" or "::" (the
   * SECC binds any address): the request goes to the group ff02::1, as from a real EV; a multicast address: to that
   * group; a unicast address: to it directly.
   */
  sdp: { address: string; port: number };
  /** The car's host MAC on the PLC link. */
  mac?: Uint8Array;
  hook?: EvccHook | null;
  /** Ask for TLS in SDP (the SECC decides); `ca` validates its certificate. */
  tls?: { ca: string[] } | null;
  /** Trace hook. */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Time for the AVLN to form after the key is set, ms (the medium's joinMs + margin). Default 600. */
  joinMs?: number;
  /** Pilot poll period while plugged in, ms. Default 50. */
  pollMs?: number;
}

export interface EvccStats {
  slacAttempts: number;
  sounds: number;
  sdpRequests: number;
  connects: number;
  rxMessages: number;
  txMessages: number;
}

const PARM_RETRIES = 3;
const RESPONSE_MS = 250;
const SDP_RETRIES = 50;
/** SLAC sessions the car tries per plug-in, and the pause before a new one (a charger still setting its key). */
const SLAC_ATTEMPTS = 5;
const SLAC_RESTART_MS = 500;
const SDP_RETRY_MS = 250;
/** The car's PLC interface name (the zone of its link-local addresses). */
const EV_ZONE = "ev0";

export class SimEvcc {
  readonly stats: EvccStats = { slacAttempts: 0, sounds: 0, sdpRequests: 0, connects: 0, rxMessages: 0, txMessages: 0 };
  readonly mac: Uint8Array;
  hook: EvccHook | null;
  #o: EvccOptions;
  #state: EvccState = "idle";
  #timers = new Set<number>();
  #poll = 0;
  #readDuty: (() => number) | null = null;
  #runId = new Uint8Array(8);
  #evseMac: Uint8Array | null = null;
  #numSounds = 10;
  #tries = 0;
  /** SLAC sessions started in this plug-in (or since the board's reset). */
  #attempts = 0;
  #udp: UDP | null = null;
  /** Where this plug-in's SDP requests go (ff02::1%ev0, or the wired unicast address). */
  #sdpTarget = "";
  #tcp: TCP | null = null;
  #channel: EvccChannel | null = null;
  readonly #hdr = newMmeHeader();

  constructor(o: EvccOptions) {
    this.#o = o;
    this.mac = o.mac ?? Uint8Array.from([0x02, 0x00, 0x00, 0xee, 0x00, 0x01]);
    this.hook = o.hook ?? null;
    o.modem.onHostFrame = (f) => this.#frame(f);
  }

  get state(): EvccState {
    return this.#state;
  }

  /** Where the SECC's SDP responder listens (the simulation picks the port). */
  setSdp(address: string, port: number): void {
    this.#o = { ...this.#o, sdp: { address, port } };
  }

  /** The car was plugged in: watch the pilot for 5 %. */
  plugIn(readDuty: () => number): void {
    this.unplug();
    this.#readDuty = readDuty;
    const period = this.#o.pollMs ?? 50;
    const tick = (): void => {
      this.#poll = this.#o.scheduler.after(period, tick);
      this.#pilot(readDuty());
    };
    this.#poll = this.#o.scheduler.after(period, tick);
  }

  /** Unplugged (or the board lost power): everything stops, the modem forgets its network. */
  unplug(): void {
    if (this.#poll) this.#o.scheduler.cancel(this.#poll);
    this.#poll = 0;
    this.#readDuty = null;
    this.#reset("idle", "unplugged");
    this.#o.modem.resetState();
  }

  /** The board rebooted: sockets of the old boot are gone; start over at the next 5 %. */
  boardReset(): void {
    const read = this.#readDuty;
    this.#reset("idle", "board reset");
    this.#o.modem.resetState();
    if (read) this.plugIn(read);
  }

  #pilot(duty: number): void {
    if (duty === 50) {
      if (this.#state === "idle") this.#startSlac();
      return;
    }
    if (this.#state !== "idle" && this.#state !== "basic" && this.#state !== "failed" && duty > 50 && duty <= 1000) {
      // The SECC fell back to basic charging: no HLC for this plug-in.
      this.#reset("basic", "basic charging");
    }
  }

  #reset(state: EvccState, reason: string): void {
    for (const id of this.#timers) this.#o.scheduler.cancel(id);
    this.#timers.clear();
    const had = this.#channel !== null;
    this.#channel = null;
    this.#tcp?.close();
    this.#tcp = null;
    this.#udp?.close();
    this.#udp = null;
    this.#evseMac = null;
    if (state === "idle") this.#attempts = 0;
    if (this.#state !== state) this.#set(state, reason);
    if (had) this.hook?.closed?.(reason);
  }

  #set(state: EvccState, reason?: string): void {
    this.#state = state;
    this.#o.log?.("state", reason ? { state, reason } : { state });
  }

  #after(ms: number, fn: () => void): void {
    const id = this.#o.scheduler.after(ms, () => {
      this.#timers.delete(id);
      fn();
    });
    this.#timers.add(id);
  }

  #clearTimers(): void {
    for (const id of this.#timers) this.#o.scheduler.cancel(id);
    this.#timers.clear();
  }

  // ---- SLAC, EV side ------------------------------------------------------------------------------------

  #send(frame: Uint8Array): void {
    this.#o.modem.hostSend(frame);
  }

  #startSlac(): void {
    this.stats.slacAttempts++;
    this.#attempts++;
    this.#set("slac");
    this.#runId = Uint8Array.from(this.#o.rng.bytes(8));
    this.#tries = 0;
    this.#sendParm();
  }

  #sendParm(): void {
    if (this.#tries++ >= PARM_RETRIES) {
      this.#retrySlac("no CM_SLAC_PARM.CNF");
      return;
    }
    this.#send(m.encodeSlacParmReq(BROADCAST_MAC, this.mac, { applicationType: 0, securityType: 0, runId: this.#runId }));
    this.#after(RESPONSE_MS, () => this.#sendParm());
  }

  #frame(f: Uint8Array): void {
    if (!parseMme(f, this.#hdr, f.length)) return;
    const t = this.#hdr.mmtype;
    const body = f.subarray(this.#hdr.payloadOffset, this.#hdr.payloadOffset + this.#hdr.payloadLength);
    if (t === (MMTYPE.CM_SLAC_PARM_CNF as number) && this.#state === "slac" && this.#evseMac === null) {
      const c = m.decodeSlacParmCnf(body);
      if (!c || !sameBytes(c.runId, this.#runId)) return;
      this.#clearTimers();
      this.#evseMac = f.slice(6, 12);
      this.#numSounds = c.numSounds;
      this.#attenuate(c.numSounds);
      return;
    }
    if (t === (MMTYPE.CM_ATTEN_CHAR_IND as number) && this.#state === "slac" && this.#evseMac !== null) {
      const c = m.decodeAttenCharInd(body);
      if (!c || !sameBytes(c.runId, this.#runId)) return;
      this.#clearTimers();
      this.#send(
        m.encodeAttenCharRsp(this.#evseMac, this.mac, { applicationType: 0, securityType: 0, sourceAddress: this.mac, runId: this.#runId, sourceId: new Uint8Array(17), respId: new Uint8Array(17), result: 0 }),
      );
      this.#tries = 0;
      this.#sendMatch();
      return;
    }
    if (t === (MMTYPE.CM_SLAC_MATCH_CNF as number) && this.#state === "slac" && this.#evseMac !== null) {
      const c = m.decodeSlacMatchCnf(body);
      if (!c || !sameBytes(c.runId, this.#runId)) return;
      this.#clearTimers();
      this.#set("joining");
      this.#o.log?.("matched", {});
      this.#send(
        m.encodeSetKeyReq(QCA_LOCAL_MAC, this.mac, {
          keyType: m.KEY_TYPE_NMK,
          myNonce: new Uint8Array(4),
          yourNonce: new Uint8Array(4),
          pid: m.PID_HLE,
          prn: 0,
          pmn: 0,
          ccoCapability: 0,
          nid: c.nid,
          newEks: m.NEW_EKS_NMK,
          newKey: c.nmk,
        }),
      );
      return;
    }
    if (t === (MMTYPE.CM_SET_KEY_CNF as number) && this.#state === "joining") {
      const c = m.decodeSetKeyCnf(body);
      if (!c) return;
      this.#after(this.#o.joinMs ?? 600, () => this.#startSdp());
      return;
    }
  }

  #attenuate(numSounds: number): void {
    const evse = this.#evseMac!;
    let at = 0;
    for (let i = 0; i < 3; i++) {
      this.#after(at, () =>
        this.#send(m.encodeStartAttenCharInd(BROADCAST_MAC, this.mac, { applicationType: 0, securityType: 0, numSounds, timeOut: 6, respType: 1, forwardingSta: this.mac, runId: this.#runId })),
      );
      at += 20;
    }
    for (let i = 0; i < numSounds; i++) {
      const cnt = numSounds - 1 - i;
      this.#after(at, () => {
        this.stats.sounds++;
        this.#send(m.encodeMnbcSoundInd(BROADCAST_MAC, this.mac, { applicationType: 0, securityType: 0, senderId: new Uint8Array(17), cnt, runId: this.#runId, rnd: Uint8Array.from(this.#o.rng.bytes(16)) }));
      });
      at += 40;
    }
    // No CM_ATTEN_CHAR.IND within TT_EV_atten_results (1.2 s) after the sounds: start over.
    this.#after(at + 1_200, () => this.#retrySlac("no CM_ATTEN_CHAR.IND"));
    void evse;
  }

  #sendMatch(): void {
    if (this.#tries++ >= PARM_RETRIES) {
      this.#retrySlac("no CM_SLAC_MATCH.CNF");
      return;
    }
    this.#send(
      m.encodeSlacMatchReq(this.#evseMac!, this.mac, {
        applicationType: 0,
        securityType: 0,
        mvfLength: m.MATCH_REQ_MVF_LENGTH,
        pevId: new Uint8Array(17),
        pevMac: this.mac,
        evseId: new Uint8Array(17),
        evseMac: this.#evseMac!,
        runId: this.#runId,
      }),
    );
    this.#after(RESPONSE_MS, () => this.#sendMatch());
  }

  #retrySlac(reason: string): void {
    this.#o.log?.("slac-retry", { reason });
    this.#clearTimers();
    this.#evseMac = null;
    if (this.#attempts >= SLAC_ATTEMPTS) {
      this.#reset("failed", reason);
      return;
    }
    this.#after(SLAC_RESTART_MS, () => this.#startSlac());
  }

  // ---- SDP and V2GTP ------------------------------------------------------------------------------------

  #startSdp(): void {
    const net = this.#o.network();
    if (!net) return;
    this.#set("sdp");
    const self = this;
    const wired = this.#o.sdp.address;
    const v6 = wired === "" || wired.includes(":");
    // A real EV: its own link-local address on the PLC interface, the request to ff02::1 (zone: that interface).
    const multicast = wired === "" || isUnspecified6(wired) || isMulticast6(wired);
    this.#sdpTarget = multicast ? `${isMulticast6(wired) ? wired.split("%")[0]! : "ff02::1"}%${EV_ZONE}` : wired;
    this.#udp = new net.UDP({
      port: 0,
      address: multicast ? `${linkLocalFromMac(this.mac)}%${EV_ZONE}` : v6 ? "::1" : "127.0.0.1",
      onReadable() {
        while (self.#udp === this) {
          const p = this.read();
          if (p === undefined) break;
          self.#sdpResponse(new Uint8Array(p.data));
        }
      },
    });
    this.#tries = 0;
    this.#sdpRequest();
  }

  #sdpRequest(): void {
    if (this.#state !== "sdp" || this.#udp === null) return;
    if (this.#tries++ >= SDP_RETRIES) {
      this.#reset("failed", "no SDP response");
      return;
    }
    this.stats.sdpRequests++;
    const security = this.#o.tls ? SDP_SECURITY_TLS : SDP_SECURITY_NONE;
    this.#udp.write(encodeSdpRequest({ security, transport: SDP_TRANSPORT_TCP }), this.#sdpTarget, this.#o.sdp.port);
    this.#after(SDP_RETRY_MS, () => this.#sdpRequest());
  }

  #sdpResponse(bytes: Uint8Array): void {
    if (this.#state !== "sdp") return;
    const r = parseSdpResponse(bytes);
    if (typeof r === "string") {
      this.#o.log?.("sdp-invalid", { reason: r });
      return;
    }
    this.#clearTimers();
    this.#udp?.close();
    this.#udp = null;
    const secure = r.security === SDP_SECURITY_TLS;
    this.#o.log?.("sdp", { tls: secure });
    // A link-local answer is reached through the EV's own PLC interface (the zone).
    const address = formatIpv6(r.address);
    this.#connect(isLinkLocal(address) ? `${address}%${EV_ZONE}` : address, r.port, secure);
  }

  #connect(address: string, port: number, secure: boolean): void {
    const net = this.#o.network();
    if (!net) return;
    this.#set("connecting");
    this.stats.connects++;
    const self = this;
    const framer = new V2gtpFramer(65_536, (type, payload) => {
      this.stats.rxMessages++;
      if (this.#channel) this.hook?.message(type, payload, this.#channel);
    });
    let open = false;
    const tcp: TCP = new net.TCP({
      address,
      port,
      ...(secure && this.#o.tls ? { secure: { ca: this.#o.tls.ca, serverName: "secc" } } : {}),
      onWritable() {
        if (open) return;
        open = true;
        self.#set("connected");
        const ch: EvccChannel = {
          secure,
          send: (type, payload) => {
            if (self.#tcp !== tcp) return;
            self.stats.txMessages++;
            tcp.write(v2gtpMessage(type, payload));
          },
          close: () => {
            if (self.#tcp !== tcp) return;
            self.#reset("closed", "closed by the EV");
          },
        };
        self.#channel = ch;
        self.hook?.connected(ch);
      },
      onReadable() {
        const r = framer.push(new Uint8Array(this.read()));
        if (r !== "ok") {
          self.#o.log?.("v2gtp-error", { reason: r });
          if (self.#tcp === tcp) self.#reset("closed", `bad V2GTP header (${r})`);
        }
      },
      onError(e) {
        if (self.#tcp !== tcp) return;
        self.#o.log?.("tcp-error", { code: e.code });
        self.#tcp = null;
        tcp.close();
        self.#reset("closed", e.code === "EOF" ? "closed by the SECC" : e.code);
      },
    });
    this.#tcp = tcp;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
