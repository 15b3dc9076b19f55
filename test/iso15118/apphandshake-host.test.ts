/**
 * The session host on a real V2gChannel (V2GTP framing, sequence timer) with the scripted EVCC on the other end of
 * an in-process loopback socket, in virtual time: a whole DIN 70121 DC and ISO 15118-2 AC session, pause/resume,
 * a silent EV (sequence timeout) and malformed EXI → FAILED + safe stop. (Over the message channel directly, not
 * the simulated modem: see the report.)
 */
import test from "ava";
import { V2gChannel } from "../../firmware/iso15118/secc/channel.js";
import { defaultSeccTimings } from "../../firmware/iso15118/secc/timings.js";
import { HlcSessionHost } from "../../firmware/iso15118/apphandshake/host.js";
import type { EvseSnapshot, SessionAction } from "../../firmware/iso15118/apphandshake/types.js";
import { PAYLOAD_EXI } from "../../firmware/iso15118/v2gtp/header.js";
import { ScriptedEvcc, type ScriptedEvccOptions } from "../../simulator/evcc/messages/scripted.js";
import { VTimers, dcSnapshot, pairWithCar, snapshot } from "./v2g-helpers.js";

interface Rig {
  t: VTimers;
  host: HlcSessionHost;
  evcc: ScriptedEvcc;
  actions: SessionAction[];
  snap: EvseSnapshot;
  ch: V2gChannel;
  /** Sends raw bytes from the EV side (a V2GTP message with this payload). */
  raw(payload: Uint8Array): void;
}

function rig(kind: "ac" | "dc", evcc: Omit<ScriptedEvccOptions, "after" | "kind">, host?: HlcSessionHost, silentEv = false): Rig {
  const t = new VTimers();
  const snap = snapshot({ dc: kind === "dc" ? dcSnapshot() : null });
  const actions: SessionAction[] = [];
  const h =
    host ??
    new HlcSessionHost(
      { kind, protocols: kind === "dc" ? ["din", "iso2"] : ["iso2"], evseIdIso2: "DE*ABC*E1234", evseIdDin: "5A5A0001", cableCheckMs: 38_000, preChargeMs: 5_000, renegotiateDeltaA: 2 },
      { snapshot: () => ({ ...snap, now: t.now, dc: snap.dc ? { ...snap.dc } : null }), apply: (a) => applyTo(a), randomBytes: (n) => Uint8Array.from({ length: n }, (_, i) => i + 1) },
    );
  // The charger's physics, crudely: the isolation test passes after 1 s, the output follows its setpoints at once.
  function applyTo(a: SessionAction): void {
    actions.push(a);
    const dc = snap.dc;
    if (a.type === "isolation-start" && dc) {
      dc.isolationRunning = true;
      t.set(() => {
        dc.isolationRunning = false;
        dc.isolation = "Valid";
      }, 1_000);
    }
    if (a.type === "dc-output" && dc) {
      dc.presentVoltage = a.enable ? a.voltage : 0;
      dc.presentCurrent = a.enable ? a.current : 0;
    }
  }
  const ch = new V2gChannel({ timers: t as never, now: () => t.now, timings: defaultSeccTimings(), maxPayload: 8192, secure: false });
  const ev = new ScriptedEvcc({ ...evcc, kind, after: (ms, fn) => void t.set(fn, ms) });
  const { evCh, inject } = pairWithCar(ch, (type, payload, c) => ev.message(type, payload, c), () => !silentEv);
  h.attach(ch);
  ev.connected(evCh);
  return {
    t,
    host: h,
    evcc: ev,
    actions,
    snap,
    ch,
    raw(payload) {
      inject(PAYLOAD_EXI, payload);
    },
  };
}

test("DIN 70121 DC session over the V2GTP channel: handshake → … → CurrentDemand × 20 → WeldingDetection → SessionStop", (t) => {
  const r = rig("dc", { protocol: "din", soc: 30, current: 100, loops: 20, socPerLoop: 0.5 });
  r.t.run(60_000);
  t.deepEqual(r.evcc.failures, []);
  t.true(r.evcc.done);
  const names = [...new Set(r.evcc.responses.map((x) => x.split(":")[0]))];
  t.deepEqual(names, [
    "supportedAppProtocolRes", "SessionSetupRes", "ServiceDiscoveryRes", "ServicePaymentSelectionRes", "ContractAuthenticationRes",
    "ChargeParameterDiscoveryRes", "CableCheckRes", "PreChargeRes", "PowerDeliveryRes", "CurrentDemandRes", "WeldingDetectionRes", "SessionStopRes",
  ]);
  t.is(r.evcc.responses.filter((x) => x.startsWith("CurrentDemandRes")).length, 20);
  t.is(r.host.machine?.protocol, "din");
  // Actions: the isolation test, the output on at the battery voltage, SoC and the EV claim, the output off.
  t.true(r.actions.some((a) => a.type === "isolation-start"));
  t.true(r.actions.some((a) => a.type === "dc-output" && a.enable && a.current > 50));
  t.true(r.actions.some((a) => a.type === "ev-soc" && a.soc >= 39));
  t.true(r.actions.some((a) => a.type === "ev-limit"));
  t.deepEqual(r.actions.filter((a) => a.type === "safe-stop"), []);
  t.is(r.snap.dc!.presentCurrent, 0);
  t.is(r.host.stats.failed, 0);
  t.true(r.ch.closed);
});

test("ISO 15118-2 AC session, paused and resumed with its SessionID on a second connection", (t) => {
  const a = rig("ac", { protocol: "iso2", soc: 50, current: 16, loops: 5, pause: true });
  a.t.run(30_000);
  t.deepEqual(a.evcc.failures, []);
  t.true(a.evcc.responses.includes("SessionStopRes:OK"));
  t.true(a.evcc.responses.filter((x) => x.startsWith("ChargingStatusRes:OK")).length === 5);
  t.true(a.actions.some((x) => x.type === "ev-limit" && x.amps === 16));
  const sid = a.evcc.sessionId;
  t.is(a.host.pausedSessionId, sid);
  const b = rig("ac", { protocol: "iso2", soc: 55, current: 16, loops: 3, resumeSessionId: sid }, a.host);
  b.t.run(30_000);
  t.deepEqual(b.evcc.failures, []);
  t.is(b.evcc.responses[1], "SessionSetupRes:OK_OldSessionJoined");
  t.is(b.evcc.sessionId, sid);
  t.is(a.host.stats.resumed, 1);
  t.is(a.host.pausedSessionId, null);
});

test("a silent EV: the channel's sequence timeout ends the session with a safe stop, never a hang", (t) => {
  const r = rig("dc", { protocol: "din", soc: 30, current: 100, loops: 1000 });
  r.t.run(5_000); // charging by now
  t.true(r.evcc.responses.some((x) => x.startsWith("CurrentDemandRes")));
  const before = r.evcc.responses.length;
  // An EV that never sends anything after connecting: the communication-setup timer (18 s) ends it.
  const q = rig("dc", { protocol: "din", soc: 30, current: 100, loops: 1000 }, undefined, true);
  q.t.run(61_000);
  t.true(q.ch.closed);
  t.is(q.ch.closeReason, "setup_timeout");
  t.true(q.actions.some((a) => a.type === "safe-stop"));
  // A session that stops talking mid-charge: sequence timeout 60 s.
  r.evcc.message = () => undefined; // the EV ignores the SECC from now on
  r.t.run(5_000 + 61_000);
  t.true(r.ch.closed);
  t.is(r.ch.closeReason, "sequence_timeout");
  t.true(r.actions.some((a) => a.type === "safe-stop" && a.reason === "sequence_timeout"));
  t.true(r.evcc.responses.length >= before);
});

test("malformed EXI mid-session → the expected response with FAILED, safe stop, channel closed", (t) => {
  const r = rig("dc", { protocol: "din", soc: 30, current: 100, loops: 1000 });
  r.t.run(5_000);
  r.evcc.message = () => undefined;
  r.raw(Uint8Array.from([0x80, 0x9a, 0xff, 0xff, 0xff]));
  t.true(r.ch.closed);
  t.is(r.ch.closeReason, "session_failed");
  t.is(r.host.stats.malformed, 1);
  t.true(r.actions.some((a) => a.type === "safe-stop" && a.reason.includes("malformed")));
});
