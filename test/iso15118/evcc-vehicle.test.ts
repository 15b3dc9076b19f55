/**
 * The scripted EVCC bound to the EV model (simulator/evcc/messages/scripted.ts with `vehicle`), against the
 * firmware's session host (DIN 70121 / ISO 15118-2 machine) on a real V2gChannel over an in-process loopback, in
 * virtual time. The charger's physics are crude stand-ins written here: AC — the contactor is closed while the
 * session allows energy AND the car is in C (the rule the firmware wiring follows); DC — a CC/CV power module into
 * the car's battery through its DC contactors, an isolation test that takes 1 s, an output that bleeds 200 V/s
 * when off. The EV model is stepped every 10 ms at 5 % PWM.
 */
import test from "ava";
import { V2gChannel } from "../../firmware/iso15118/secc/channel.js";
import { defaultSeccTimings } from "../../firmware/iso15118/secc/timings.js";
import { HlcSessionHost } from "../../firmware/iso15118/apphandshake/host.js";
import type { EvseSnapshot, SessionAction } from "../../firmware/iso15118/apphandshake/types.js";
import { decodeExi } from "../../firmware/iso15118/exi/index.js";
import { ScriptedEvcc, type ScriptedEvccOptions } from "../../simulator/evcc/messages/scripted.js";
import { EvModel, type EvConfig } from "../../simulator/models/ev.js";
import { VTimers, dcSnapshot, pairWithCar, snapshot } from "./v2g-helpers.js";

interface Rig {
  t: VTimers;
  ev: EvModel;
  evcc: ScriptedEvcc;
  host: HlcSessionHost;
  snap: EvseSnapshot;
  actions: { t: number; a: SessionAction }[];
  /** Requests the car sent: [t, name, body]. */
  sent: [number, string, Record<string, unknown>][];
  /** The car's log: [t, event, fields]. */
  log: [number, string, Record<string, unknown>][];
  /** AC: the contactor; its opening while the car drew current is counted. */
  contactor: { closed: boolean; openedUnderLoad: number; closedInB: number };
  /** DC: the output. */
  out: { enable: boolean; voltage: number; current: number };
  ch: V2gChannel;
}

const V3 = [230, 230, 230];
const OFF = [0, 0, 0];

function rig(kind: "ac" | "dc", protocol: "din" | "iso2", car: Partial<EvConfig>, evcc: Partial<ScriptedEvccOptions> = {}, limitAmps = 32): Rig {
  const t = new VTimers();
  const snap = snapshot({ limitAmps, dc: kind === "dc" ? dcSnapshot() : null });
  const ev = new EvModel({ hlc: true, ...car }, 0);
  const actions: Rig["actions"] = [];
  const sent: Rig["sent"] = [];
  const log: Rig["log"] = [];
  const contactor = { closed: false, openedUnderLoad: 0, closedInB: 0 };
  const out = { enable: false, voltage: 0, current: 0 };
  let energy = false;
  const host = new HlcSessionHost(
    { kind, protocols: kind === "dc" ? ["din", "iso2"] : ["iso2"], evseIdIso2: "DE*ABC*E1234", evseIdDin: "5A5A0001", cableCheckMs: 38_000, preChargeMs: 5_000, renegotiateDeltaA: 2 },
    { snapshot: () => ({ ...snap, now: t.now, dc: snap.dc ? { ...snap.dc } : null }), apply: (a) => apply(a), randomBytes: (n) => Uint8Array.from({ length: n }, (_, i) => i + 7) },
  );
  function apply(a: SessionAction): void {
    actions.push({ t: t.now, a });
    const dc = snap.dc;
    if (a.type === "energy") energy = a.on;
    if (a.type === "safe-stop") {
      energy = false;
      out.enable = false;
    }
    if (a.type === "isolation-start" && dc) {
      dc.isolationRunning = true;
      dc.isolation = "Invalid";
      t.set(() => {
        dc.isolationRunning = false;
        dc.isolation = "Valid";
      }, 1_000);
    }
    if (a.type === "dc-output") {
      out.enable = a.enable;
      out.voltage = a.voltage;
      out.current = a.current;
    }
  }
  // Physics every 10 ms.
  const physics = (): void => {
    t.set(physics, 10);
    const now = t.now;
    if (kind === "ac") {
      const want = energy && ev.s2Closed;
      if (want && !contactor.closed && ev.state() === "B") contactor.closedInB++;
      if (!want && contactor.closed && ev.acCurrent() > 0.5) contactor.openedUnderLoad++;
      contactor.closed = want;
      ev.step(now, { duty: 50, acVolts: contactor.closed ? V3 : OFF, phasesAvailable: 3 });
      return;
    }
    ev.step(now, { duty: 50, acVolts: OFF, phasesAvailable: 3 });
    const dc = snap.dc!;
    const ocv = ev.batteryVoltage();
    if (out.enable && ev.dcContactorClosed) {
      const i = Math.max(0, Math.min(out.current, (out.voltage - ocv) / ev.batteryOhms));
      dc.presentCurrent = i;
      dc.presentVoltage = ocv + i * ev.batteryOhms;
      ev.acceptDcWh((dc.presentVoltage * i * 10) / 3_600_000);
    } else if (out.enable) {
      dc.presentCurrent = 0;
      const d = out.voltage - dc.presentVoltage;
      dc.presentVoltage += Math.sign(d) * Math.min(Math.abs(d), 10); // 1 kV/s pre-charge ramp
    } else {
      dc.presentCurrent = 0;
      dc.presentVoltage = ev.dcContactorClosed ? ocv : Math.max(0, dc.presentVoltage - 2); // 200 V/s bleed
    }
  };
  t.set(physics, 10);
  const ch = new V2gChannel({ timers: t as never, now: () => t.now, timings: defaultSeccTimings(), maxPayload: 8192, secure: false });
  const scripted = new ScriptedEvcc({
    protocol,
    kind,
    vehicle: ev,
    after: (ms, fn) => void t.set(fn, ms),
    log: (event, fields) => log.push([t.now, event, fields]),
    ...evcc,
  });
  let handshakeSent = false;
  const { evCh } = pairWithCar(ch, (type, payload, c) => scripted.message(type, payload, c), (_type, payload) => {
    if (handshakeSent) {
      const doc = decodeExi(protocol, payload) as unknown as { V2G_Message: { Body: Record<string, Record<string, unknown>> } };
      const name = Object.keys(doc.V2G_Message.Body)[0]!;
      sent.push([t.now, name, doc.V2G_Message.Body[name]!]);
    }
    handshakeSent = true;
    return true;
  });
  host.attach(ch);
  scripted.connected(evCh);
  return { t, ev, evcc: scripted, host, snap, actions, sent, log, contactor, out, ch };
}

const at = (r: Rig, name: string, pred: (b: Record<string, unknown>) => boolean = () => true) => r.sent.find(([, n, b]) => n === name && pred(b));
const logAt = (r: Rig, event: string, pred: (f: Record<string, unknown>) => boolean = () => true) => r.log.find(([, e, f]) => e === event && pred(f));

test("ISO-2 AC with the EV model: limit from the schedule, S2 closes with PowerDelivery Start ([V2G2-847] ≤ 250 ms), charges to targetSoc, stops drawing, then PowerDelivery Stop and S2 opens", (t) => {
  // 10 A from the charger (PMax = 10·230·3 W and EVSEMaxCurrent 10 A) for a car that could take 16 A.
  const r = rig("ac", "iso2", { batteryKWh: 1, initialSoc: 50, targetSoc: 52, maxCurrent: 16 }, {}, 10);
  r.t.run(60_000);
  t.deepEqual(r.evcc.failures, []);
  t.true(r.evcc.done);
  t.is(r.evcc.stopReason, "full");
  t.is(r.evcc.negotiatedLimit, 10);
  t.deepEqual(logAt(r, "hlc-limit")?.[2], { amps: 10 });
  // S2: closed no later than 250 ms after PowerDeliveryReq Start went out, before any current.
  const pdStart = at(r, "PowerDeliveryReq", (b) => b["ChargeProgress"] === "Start")!;
  const closeS2 = logAt(r, "s2", (f) => f["closed"] === true)!;
  t.true(closeS2[0] >= pdStart[0] && closeS2[0] - pdStart[0] <= 250, `S2 at ${closeS2[0]}, Req at ${pdStart[0]}`);
  t.is(r.contactor.closedInB, 0);
  // It charged at the negotiated 10 A and the model's SoC reached the target.
  t.true(r.ev.soc >= 52 && r.ev.soc < 52.1, `${r.ev.soc}`);
  const wh = r.ev.energyWh;
  t.true(wh > 20 / 0.9 - 0.5 && wh < 20 / 0.9 + 1, `${wh} Wh from the socket`);
  // Stop: the car drew nothing any more before it sent PowerDeliveryReq Stop; S2 opened after it.
  const pdStop = at(r, "PowerDeliveryReq", (b) => b["ChargeProgress"] === "Stop")!;
  const openS2 = logAt(r, "s2", (f) => f["closed"] === false)!;
  t.true(openS2[0] >= pdStop[0] && openS2[0] - pdStop[0] <= 250, `S2 opened at ${openS2[0]}, Req Stop at ${pdStop[0]}`);
  t.is(r.contactor.openedUnderLoad, 0, "the contactor never broke the car's current");
  t.is(r.ev.state(), "B");
  t.is(r.sent[r.sent.length - 1]![1], "SessionStopReq");
  t.deepEqual(r.actions.filter((x) => x.a.type === "safe-stop"), []);
});

test("ISO-2 AC: the car follows EVSEMaxCurrent at once and renegotiates on EVSENotification ReNegotiation (S2 stays closed)", (t) => {
  const r = rig("ac", "iso2", { batteryKWh: 60, initialSoc: 30, maxCurrent: 16 }, { loops: 80 }, 32);
  r.t.run(8_000);
  t.deepEqual(r.ev.current(), [16, 16, 16]);
  r.snap.limitAmps = 8; // load management: the charger's limit drops
  r.t.run(12_000);
  t.deepEqual(r.ev.current(), [8, 8, 8]);
  t.is(r.evcc.renegotiations, 1);
  t.truthy(at(r, "PowerDeliveryReq", (b) => b["ChargeProgress"] === "Renegotiate"));
  t.is(r.sent.filter(([, n]) => n === "ChargeParameterDiscoveryReq").length, 2);
  t.is(r.evcc.negotiatedLimit, 8);
  t.is(r.log.filter(([, e, f]) => e === "s2" && f["closed"] === false).length, 0, "S2 never opened during the renegotiation");
  r.t.run(60_000);
  t.deepEqual(r.evcc.failures, []);
  t.is(r.evcc.stopReason, "loops");
  t.true(r.evcc.done);
});

test("ISO-2 AC: EVSENotification StopCharging → the car stops at once (current to 0, PowerDelivery Stop, SessionStop)", (t) => {
  const r = rig("ac", "iso2", { batteryKWh: 60, initialSoc: 30 }, {}, 16);
  r.t.run(6_000);
  t.true(r.ev.acCurrent() > 15);
  r.snap.stopRequested = true;
  r.t.run(6_300);
  t.is(r.evcc.stopReason, "evse-stop");
  r.t.run(20_000);
  t.true(r.evcc.done);
  t.deepEqual(r.evcc.failures, []);
  const pdStop = at(r, "PowerDeliveryReq", (b) => b["ChargeProgress"] === "Stop")!;
  t.true(pdStop[0] < 7_500, `PowerDelivery Stop at ${pdStop[0]}`);
  t.is(r.contactor.openedUnderLoad, 0);
  t.is(r.ev.state(), "B");
});

test("DIN 70121 DC with the EV model: C before CableCheck, contactors after a matched pre-charge, BMS-limited target, OCV+I·R+margin, SoC from the model, ramp-down, welding detection until < 60 V", (t) => {
  const r = rig("dc", "din", { batteryKWh: 2, initialSoc: 60, targetSoc: 70, dcMaxCurrent: 40 }, { current: 100 });
  r.t.run(4_000);
  // State C during the cable check.
  const iso = r.actions.find((x) => x.a.type === "isolation-start")!;
  const s2 = logAt(r, "s2", (f) => f["closed"] === true)!;
  t.true(s2[0] <= iso.t);
  const cc = at(r, "CableCheckReq")!;
  t.true(s2[0] <= cc[0], "S2 closed before the first CableCheckReq");
  // The DC contactors closed once the inlet matched the battery, before PowerDelivery Start.
  const dcOn = logAt(r, "dc-contactor", (f) => f["closed"] === true)!;
  const pdStart = at(r, "PowerDeliveryReq", (b) => b["ReadyToChargeState"] === 1)!;
  t.true(dcOn[0] <= pdStart[0]);
  const pre = r.sent.filter(([, n]) => n === "PreChargeReq");
  t.true(pre.length > 1, "pre-charge took several rounds with the 1 kV/s ramp");
  // Charging: the target is the BMS limit (40 A < 100 A requested), the voltage OCV + I·R + 5 V.
  const d = r.host.machine!.data;
  t.is(d.evTargetCurrent, 40);
  const expectV = Math.round(r.ev.batteryVoltage() + 40 * 0.1 + 5);
  t.true(Math.abs(d.evTargetVoltage - expectV) <= 1, `EVTargetVoltage ${d.evTargetVoltage} ≈ ${expectV}`);
  t.true(Math.abs(r.snap.dc!.presentCurrent - 40) < 1e-6, `${r.snap.dc!.presentCurrent} A`);
  // The SoC the SECC sees is the model's.
  const socs = r.actions.filter((x) => x.a.type === "ev-soc").map((x) => (x.a as { soc: number }).soc);
  t.is(socs[0], 60);
  r.t.run(120_000);
  t.deepEqual(r.evcc.failures, []);
  t.true(r.evcc.done);
  t.is(r.evcc.stopReason, "full");
  t.true(r.ev.soc >= 70 && r.ev.soc < 70.3, `${r.ev.soc}`);
  t.true(socs.length > 0 && r.actions.filter((x) => x.a.type === "ev-soc").some((x) => (x.a as { soc: number }).soc >= 69));
  // Ramp-down before PowerDelivery Stop: the last CurrentDemandReq asked 0 A and the current was down.
  const pdStop = at(r, "PowerDeliveryReq", (b) => b["ReadyToChargeState"] === 0)!;
  const lastCd = r.sent.filter(([tt, n]) => n === "CurrentDemandReq" && tt < pdStop[0]).pop()!;
  t.deepEqual(lastCd[2]["EVTargetCurrent"], { Multiplier: 0, Unit: "A", Value: 0 });
  // Contactors open after PowerDeliveryRes; welding detection repeated while the output bled down from ~400 V.
  const dcOff = logAt(r, "dc-contactor", (f) => f["closed"] === false)!;
  t.true(dcOff[0] >= pdStop[0]);
  t.true(r.evcc.weldingRequests > 3, `${r.evcc.weldingRequests} WeldingDetectionReq`);
  const stop = at(r, "SessionStopReq")!;
  t.true(r.snap.dc!.presentVoltage < 60 || stop[0] > dcOff[0]);
  t.false(r.ev.dcContactorClosed);
  t.is(r.ev.state(), "B");
  t.deepEqual(r.actions.filter((x) => x.a.type === "safe-stop"), []);
});

test("ISO-2 DC with the EV model for `loops` rounds; the channel closing mid-charge leaves the car safe (contactors and S2 open)", (t) => {
  const r = rig("dc", "iso2", { batteryKWh: 60, initialSoc: 20 }, { loops: 30 });
  r.t.run(60_000);
  t.deepEqual(r.evcc.failures, []);
  t.is(r.evcc.stopReason, "loops");
  t.is(r.host.machine?.protocol, "iso2");
  t.true(r.ev.dcEnergyWh > 0);
  t.false(r.ev.dcContactorClosed);
  t.is(r.ev.state(), "B");

  const q = rig("dc", "din", { batteryKWh: 60, initialSoc: 20 }, { loops: 1000 });
  q.t.run(5_000);
  t.true(q.ev.dcContactorClosed);
  t.is(q.ev.state(), "C");
  q.evcc.closed("unplugged");
  t.false(q.ev.dcContactorClosed);
  t.is(q.ev.state(), "B");
});

test("the scripted EVCC refuses DIN on AC and a missing soc/current without a vehicle", (t) => {
  const after = () => undefined;
  t.throws(() => new ScriptedEvcc({ protocol: "din", kind: "ac", after, soc: 1, current: 1 }), { instanceOf: RangeError });
  t.throws(() => new ScriptedEvcc({ protocol: "iso2", kind: "ac", after }), { instanceOf: RangeError });
});
