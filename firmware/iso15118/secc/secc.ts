/**
 * The SECC's plumbing, from the pilot's 5 % to a V2GTP message channel:
 *
 *   EV in B/C/D with 5 % on the pilot ─► SLAC (SlacEvse over the Link of the PLC modem)
 *   matched ─► SDP responder (UDP, port 15118, joined to ff02::1 on the PLC interface) + V2GTP server (Listener,
 *              on our address: the configured one, else the PLC interface's link-local one from the HAL) up;
 *              communication-setup timer started
 *   first valid SDP request ─► slac.linkUp() (the EV is on the AVLN); answered with our address/port/security
 *   a connection accepted ─► V2gChannel (TLS when the SDP answer offered it) ─► events.channel(channel): the
 *                            session layer (DIN 70121 / ISO 15118-2 / -20) attaches its handler
 *   unplug (A) ─► everything closed, HLC armed again for the next EV
 *
 * Failures: SLAC failed with action "basic" (per config: at once, or after its "retry" sessions), or the
 * communication-setup time ran out before the session layer called channel.setupDone() → fallback: the core is
 * told setHlc(false) and signals the nominal duty (basic charging) until the EV is unplugged. Platform-neutral.
 */
import type { Timers, TimerId } from "../../../hal/clock.js";
import type { Ipv6Interface, ListenerSocket, Network, NetworkInterfaces, TCP, TlsOptions } from "../../../hal/network.js";
import type { Log } from "../../../hal/system.js";
import { ETHERTYPE_HOMEPLUG } from "../link/ethernet.js";
import type { Link } from "../link/port.js";
import { SDP_SECURITY_NONE, SDP_SECURITY_TLS, SDP_TRANSPORT_TCP, parseIpv6, type SdpRequest, type SdpResponse } from "../sdp/sdp.js";
import { SlacEvse, type SlacConfig, type SlacFailure, type SlacMatch } from "../slac/evse.js";
import type { Sha256 } from "../slac/nid.js";
import { V2gChannel, type ChannelCloseReason } from "./channel.js";
import { SdpServer } from "./sdp-server.js";
import type { SeccTimings } from "./timings.js";

export type SeccState = "idle" | "slac" | "matched" | "connected" | "basic" | "closed";

export interface SeccConfig {
  slac: SlacConfig;
  timings: SeccTimings;
  /** SDP UDP port (15118) and bind address ("": "::", any, which receives the multicast group). */
  sdpPort: number;
  sdpAddress: string;
  /**
   * The group the SDP server joins (ISO 15118-2: "ff02::1"), on the PLC interface when the HAL names it (zone);
   * "" or absent: none.
   */
  sdpMulticast?: string;
  /**
   * The SECC's IPv6 address (zone allowed): the V2GTP server binds it and SDP announces it. "": the PLC interface's
   * link-local address (hal.network.plcInterface(), asked at every SLAC match), "::1" when the HAL does not know it.
   */
  v2gAddress: string;
  /** V2GTP TCP port; 0: any free port (SDP announces the bound one). */
  v2gPort: number;
  /** Largest V2GTP payload accepted, bytes. */
  maxPayload: number;
  /** TLS server identity; null: no TLS offered (SDP answers "no TLS" whatever the EV asks). */
  tls: { certificate: string; key: string } | null;
}

/** What the SECC needs from the charging core. */
export interface HlcCore {
  setHlc(on: boolean): void;
}

export interface SeccEvents {
  /** A V2GTP connection is up: attach the session handler (channel.attach). */
  channel?(channel: V2gChannel): void;
  /** High-level communication gave up for this plug-in: the core signals the nominal duty (basic charging). */
  fallback?(reason: string): void;
  state?(state: SeccState): void;
}

export interface SeccDeps {
  timers: Timers;
  now: () => number;
  network: Pick<Network, "UDP" | "TCP" | "Listener"> & Pick<NetworkInterfaces, "plcInterface">;
  crypto: { randomBytes(n: number): ArrayBuffer; sha256: Sha256 };
  link: Link;
  core: HlcCore;
  log?: Log;
  events?: SeccEvents;
}

export interface SeccStats {
  sessions: number;
  matches: number;
  connections: number;
  /** Connections refused because one was already open. */
  refused: number;
  fallbacks: number;
}

export class Secc {
  readonly stats: SeccStats = { sessions: 0, matches: 0, connections: 0, refused: 0, fallbacks: 0 };
  readonly slac: SlacEvse;
  /** The session layer's hooks (settable after construction: the DIN / ISO 15118 sessions install themselves here). */
  events: SeccEvents;
  readonly #d: SeccDeps;
  readonly #cfg: SeccConfig;
  /** The configured v2gAddress, or null: ask the HAL. */
  readonly #configured: Uint8Array | null;
  /** What this plug-in's SDP announces (set when the servers start). */
  #address: Uint8Array = new Uint8Array(16);
  #state: SeccState = "idle";
  #sdp: SdpServer | null = null;
  #listener: InstanceType<NonNullable<Network["Listener"]>> | null = null;
  #channel: V2gChannel | null = null;
  #setupTimer: TimerId | 0 = 0;
  #setupDeadline = 0;
  /** The SDP answer offered TLS (the next connection is wrapped with `secure`). */
  #offeredTls = false;
  #plugged = false;

  constructor(deps: SeccDeps, config: SeccConfig) {
    const a = config.v2gAddress === "" ? null : parseIpv6(config.v2gAddress);
    if (config.v2gAddress !== "" && a === null) throw new RangeError("SECC: v2gAddress must be an IPv6 address or empty");
    if (!deps.network.Listener) throw new TypeError("SECC: the network has no Listener");
    this.#configured = a;
    this.#d = deps;
    this.#cfg = config;
    this.events = deps.events ?? {};
    this.slac = new SlacEvse(
      {
        timers: deps.timers,
        crypto: deps.crypto,
        link: deps.link,
        ...(deps.log ? { log: deps.log } : {}),
        events: {
          matched: (m) => this.#matched(m),
          joined: () => this.#log("joined", {}),
          failed: (reason, action) => this.#slacFailed(reason, action),
        },
      },
      config.slac,
    );
    deps.link.on(ETHERTYPE_HOMEPLUG, (f, n) => this.slac.receive(f, n));
  }

  get state(): SeccState {
    return this.#state;
  }

  /** The open channel, if any. */
  get channel(): V2gChannel | null {
    return this.#channel;
  }

  /** The control loop's pilot hook: state "A".."F", duty in 0.1 % (50 = 5 %). */
  pilot(state: string, duty: number): void {
    if (this.#state === "closed") return;
    if (state === "A") {
      if (this.#plugged || this.#state !== "idle") this.#end("unplugged");
      this.#plugged = false;
      return;
    }
    const ev = state === "B" || state === "C" || state === "D";
    if (!ev) return;
    this.#plugged = true;
    if (this.#state === "idle" && duty === 50) {
      this.stats.sessions++;
      this.#setState("slac");
      this.#log("slac", {});
      this.slac.start();
    }
  }

  /** Stops everything (firmware stop). */
  close(): void {
    if (this.#state === "closed") return;
    this.#teardown("stopped");
    this.#setState("closed");
  }

  #matched(m: SlacMatch): void {
    this.stats.matches++;
    this.#setState("matched");
    this.#log("matched", { sounds: m.sounds, quirks: m.quirks.length });
    this.#startServers();
    this.#setupDeadline = this.#d.now() + this.#cfg.timings.communicationSetup;
    this.#clearSetupTimer();
    this.#setupTimer = this.#d.timers.set(() => {
      this.#setupTimer = 0;
      if (this.#channel === null) this.#fallback("setup_timeout");
    }, this.#cfg.timings.communicationSetup);
  }

  #slacFailed(reason: SlacFailure, action: "retry" | "basic"): void {
    this.#log("slac-failed", { reason, action });
    if (action === "basic") this.#fallback(`slac:${reason}`);
  }

  #fallback(reason: string): void {
    if (this.#state === "basic" || this.#state === "closed") return;
    this.stats.fallbacks++;
    this.#teardown(reason);
    this.#d.core.setHlc(false);
    this.#setState("basic");
    this.#log("fallback", { reason });
    this.events.fallback?.(reason);
  }

  /** Unplugged: close everything, arm HLC for the next EV. */
  #end(reason: ChannelCloseReason): void {
    this.#teardown(reason);
    this.#d.core.setHlc(true);
    this.#setState("idle");
  }

  #teardown(reason: ChannelCloseReason): void {
    this.#clearSetupTimer();
    const ch = this.#channel;
    this.#channel = null;
    if (ch !== null) ch.close(reason);
    this.slac.stop();
    this.#stopServers();
    this.#offeredTls = false;
  }

  /** The PLC interface as the HAL reports it, validated (null: unknown or malformed). */
  #plcInterface(): Ipv6Interface | null {
    const f = this.#d.network.plcInterface;
    if (typeof f !== "function") return null;
    let i: Ipv6Interface | null;
    try {
      i = f.call(this.#d.network);
    } catch {
      return null;
    }
    if (i === null || typeof i !== "object" || !zoneName(i.name)) return null;
    return i;
  }

  /** Our address for this plug-in: the configured one, else the PLC interface's link-local one, else ::1. */
  #resolveAddress(iface: Ipv6Interface | null): string {
    if (this.#configured !== null) {
      this.#address = this.#configured;
      return this.#cfg.v2gAddress;
    }
    const ll = iface !== null && typeof iface.linkLocal === "string" ? parseIpv6(iface.linkLocal) : null;
    if (iface !== null && ll !== null && ll[0] === 0xfe && (ll[1]! & 0xc0) === 0x80) {
      this.#address = ll;
      this.#log("address", { source: "hal" });
      const pct = iface.linkLocal!.indexOf("%");
      return `${pct < 0 ? iface.linkLocal! : iface.linkLocal!.slice(0, pct)}%${iface.name}`;
    }
    this.#address = parseIpv6("::1")!;
    this.#log("address", { source: "default" });
    return "::1";
  }

  #startServers(): void {
    const net = this.#d.network;
    const iface = this.#plcInterface();
    const address = this.#listener === null ? this.#resolveAddress(iface) : "";
    if (this.#sdp === null) {
      const group = this.#cfg.sdpMulticast ?? "";
      this.#sdp = new SdpServer({
        UDP: net.UDP,
        port: this.#cfg.sdpPort,
        address: this.#cfg.sdpAddress === "" ? "::" : this.#cfg.sdpAddress,
        ...(group !== "" ? { multicast: iface !== null ? `${group}%${iface.name}` : group } : {}),
        answer: (req) => this.#sdpAnswer(req),
        onError: (code, message) => this.#log("sdp-error", { code, message }),
      });
    }
    if (this.#listener === null) {
      const self = this;
      this.#listener = new net.Listener!({
        port: this.#cfg.v2gPort,
        address,
        onReadable(count) {
          for (let i = 0; i < count; i++) {
            const from = this.read();
            if (from === undefined) break;
            self.#accept(from);
          }
        },
        onError(e) {
          self.#log("listener-error", { code: e.code, message: e.message });
        },
      });
    }
  }

  #stopServers(): void {
    const s = this.#sdp;
    this.#sdp = null;
    if (s !== null) s.close();
    const l = this.#listener;
    this.#listener = null;
    if (l !== null) l.close();
  }

  #sdpAnswer(req: SdpRequest): SdpResponse | null {
    if (this.#state !== "matched" && this.#state !== "connected") return null;
    const port = this.#listener !== null ? this.#listener.port : 0;
    if (!(port > 0)) return null;
    if (this.slac.state === "wait_join") this.slac.linkUp();
    const tls = req.security === SDP_SECURITY_TLS && this.#cfg.tls !== null;
    this.#offeredTls = tls;
    this.#log("sdp", { tls });
    return { address: this.#address, port, security: tls ? SDP_SECURITY_TLS : SDP_SECURITY_NONE, transport: SDP_TRANSPORT_TCP };
  }

  #accept(from: ListenerSocket): void {
    const net = this.#d.network;
    if (this.#channel !== null || (this.#state !== "matched" && this.#state !== "connected")) {
      this.stats.refused++;
      const s = new net.TCP({ from, port: 0 });
      s.close();
      this.#log("refused", {});
      return;
    }
    const secure: TlsOptions | null = this.#offeredTls && this.#cfg.tls !== null ? { certificate: this.#cfg.tls.certificate, key: this.#cfg.tls.key } : null;
    this.#clearSetupTimer();
    const remaining = this.#setupDeadline - this.#d.now();
    const ch = new V2gChannel({
      timers: this.#d.timers,
      now: this.#d.now,
      timings: this.#cfg.timings,
      maxPayload: this.#cfg.maxPayload,
      secure: secure !== null,
      setupRemaining: remaining,
      closed: (reason) => this.#channelClosed(ch, reason),
    });
    const sock: TCP = new net.TCP({
      from,
      port: 0,
      ...(secure !== null ? { secure } : {}),
      onReadable() {
        ch.readable();
      },
      onWritable(n) {
        ch.writable(n);
      },
      onError() {
        ch.broken();
      },
    });
    ch.bind(sock);
    this.#channel = ch;
    this.stats.connections++;
    this.#setState("connected");
    this.#log("connected", { tls: secure !== null });
    this.events.channel?.(ch);
  }

  #channelClosed(ch: V2gChannel, reason: ChannelCloseReason): void {
    this.#log("closed", { reason });
    if (this.#channel !== ch) return;
    this.#channel = null;
    if (reason === "setup_timeout") {
      this.#fallback("setup_timeout");
      return;
    }
    if (this.#state === "connected") this.#setState("matched");
  }

  #clearSetupTimer(): void {
    if (this.#setupTimer !== 0) {
      this.#d.timers.clear(this.#setupTimer);
      this.#setupTimer = 0;
    }
  }

  #setState(s: SeccState): void {
    if (s === this.#state) return;
    this.#state = s;
    this.events.state?.(s);
  }

  #log(event: string, fields: Record<string, string | number | boolean>): void {
    this.#d.log?.event("hlc", { event, ...fields });
  }
}

/** An interface name usable as a zone: 1..15 of [0-9A-Za-z_.-]. */
function zoneName(name: unknown): boolean {
  if (typeof name !== "string" || name.length < 1 || name.length > 15) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45;
    if (!ok) return false;
  }
  return true;
}
