/**
 * The session layer on a V2gChannel: supportedAppProtocolReq (grammar "app") → the chosen protocol's machine
 * (DIN 70121 or ISO 15118-2, iso2/machine.ts) for every following message. It decodes (an ExiError → FAILED in
 * the expected response + safe stop + close), reads the charger's snapshot, runs the pure machine, sends the
 * encoded response, applies the actions through `deps.apply`, and closes the channel when the session ends. Any
 * close that is not a clean end (sequence timeout, setup timeout, unplug, peer gone) → safe stop. A paused
 * session's ID survives the channel (one host per charger), so the EV can resume it. Platform-neutral.
 *
 * Hooking it up: `secc.events.channel = (ch) => host.attach(ch)`.
 */
import { ExiError, GRAMMARS, decodeExi, encodeExi, sharedDecoder, sharedEncoder, type ExiDocument, type ExiGrammar } from "../exi/index.js";
import type { ChannelCloseReason, V2gChannel } from "../secc/channel.js";
import { PAYLOAD_EXI } from "../v2gtp/header.js";
import { negotiateAppProtocol, type V2gProtocol } from "./handshake.js";
import type { EvseSnapshot, SessionAction, StepResult } from "./types.js";
import { toHex } from "./types.js";
import { V2gSessionMachine } from "../iso2/machine.js";

export interface HlcHostConfig {
  kind: "ac" | "dc";
  /** Offered protocols in the charger's order (DIN only on DC). */
  protocols: V2gProtocol[];
  /** ISO-2 EVSEID (7..37 characters) and DIN EVSEID (hex). */
  evseIdIso2: string;
  evseIdDin: string;
  cableCheckMs: number;
  preChargeMs: number;
  renegotiateDeltaA: number;
}

export interface HlcHostDeps {
  snapshot(): EvseSnapshot;
  apply(action: SessionAction): void;
  randomBytes(n: number): Uint8Array;
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
}

export interface HlcHostStats {
  sessions: number;
  messages: number;
  failed: number;
  malformed: number;
  paused: number;
  resumed: number;
  safeStops: number;
}

export class HlcSessionHost {
  readonly stats: HlcHostStats = { sessions: 0, messages: 0, failed: 0, malformed: 0, paused: 0, resumed: 0, safeStops: 0 };
  /** The machine of the current (or last) session. */
  machine: V2gSessionMachine | null = null;
  #paused: { id: string; protocol: V2gProtocol } | null = null;
  readonly #c: HlcHostConfig;
  readonly #d: HlcHostDeps;

  constructor(config: HlcHostConfig, deps: HlcHostDeps) {
    this.#c = config;
    this.#d = deps;
  }

  /** The paused session (SessionStop Pause) an EV may resume, if any. */
  get pausedSessionId(): string | null {
    return this.#paused !== null ? this.#paused.id : null;
  }

  attach(ch: V2gChannel): void {
    let machine: V2gSessionMachine | null = null;
    // the session's grammar and the shared codecs, taken once (not looked up per message: ~100 units on XS)
    let grammar: ExiGrammar | null = null;
    const dec = sharedDecoder();
    const enc = sharedEncoder();
    let ended = false;
    const self = this;
    const finish = (r: StepResult) => {
      // a view of the encoder's buffer: send() copies it at once
      const bytes = enc.encodeView(grammar!, r.response as unknown as ExiDocument);
      if (r.end !== null) ended = true; // before the send: the EV may close at once on a clean end
      ch.send(PAYLOAD_EXI, bytes);
      for (let i = 0; i < r.actions.length; i++) self.#apply(r.actions[i]!);
      if (r.end !== null) {
        ended = true;
        if (r.end === "failed") self.stats.failed++;
        if (r.end === "pause") {
          self.stats.paused++;
          self.#paused = { id: machine!.data.sessionId, protocol: machine!.protocol };
        }
        self.#log("session-end", { end: r.end, request: r.request });
        ch.close(r.end === "failed" ? "session_failed" : "session_end");
      }
    };
    ch.attach({
      onMessage(type, payload) {
        self.stats.messages++;
        if (type !== PAYLOAD_EXI) {
          ch.close("payload_type");
          return;
        }
        if (machine === null) {
          // supportedAppProtocolReq.
          let doc: unknown;
          try {
            doc = decodeExi("app", payload);
          } catch (e) {
            if (!(e instanceof ExiError)) throw e;
            self.stats.malformed++;
            ch.send(PAYLOAD_EXI, encodeExi("app", { supportedAppProtocolRes: { ResponseCode: "Failed_NoNegotiation" } }));
            ch.close("malformed");
            return;
          }
          const h = negotiateAppProtocol(doc, self.#c.protocols);
          ch.send(PAYLOAD_EXI, encodeExi("app", h.response as unknown as ExiDocument));
          if (h.protocol === null) {
            self.#log("handshake-failed", { reason: h.reason });
            ch.close("no_protocol");
            return;
          }
          const paused = self.#paused !== null && self.#paused.protocol === h.protocol ? self.#paused.id : null;
          machine = new V2gSessionMachine({
            protocol: h.protocol,
            kind: self.#c.kind,
            evseId: h.protocol === "din" ? self.#c.evseIdDin : self.#c.evseIdIso2,
            cableCheckMs: self.#c.cableCheckMs,
            preChargeMs: self.#c.preChargeMs,
            renegotiateDeltaA: self.#c.renegotiateDeltaA,
            pausedSessionId: paused,
            newSessionId: () => toHex(self.#d.randomBytes(8)),
          });
          self.machine = machine;
          grammar = GRAMMARS[h.protocol];
          self.stats.sessions++;
          self.#log("handshake", { protocol: h.protocol, schemaId: h.schemaId });
          return;
        }
        if (ended) return;
        const s = self.#d.snapshot();
        let doc: unknown;
        try {
          doc = dec.decode(grammar!, payload);
        } catch (e) {
          if (!(e instanceof ExiError)) throw e;
          self.stats.malformed++;
          finish(machine.malformed(s, e.message));
          return;
        }
        const wasSetup = machine.state === "setup";
        const r = machine.handle(doc, s);
        if (wasSetup && machine.state === "discovery") {
          ch.setupDone();
          if (self.#paused !== null && machine.data.sessionId === self.#paused.id) self.stats.resumed++;
          self.#paused = machine.pausedSessionId !== null ? self.#paused : null;
        }
        finish(r);
      },
      onClose(reason: ChannelCloseReason) {
        if (ended) return;
        ended = true;
        if (machine !== null) for (const a of machine.timeout(String(reason))) self.#apply(a);
        else self.#apply({ type: "safe-stop", reason: String(reason) });
        self.#log("session-closed", { reason: String(reason) });
      },
    });
  }

  #apply(a: SessionAction): void {
    if (a.type === "safe-stop") this.stats.safeStops++;
    this.#d.apply(a);
  }

  #log(event: string, fields: Record<string, string | number | boolean>): void {
    this.#d.log?.(event, fields);
  }
}
