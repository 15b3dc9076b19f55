/**
 * The charger behind the ISO 15118-2 / DIN 70121 sessions: every V2GTP connection the SECC accepts gets the
 * session host (apphandshake/host.ts); this module gives the host its view of the charger (EvseSnapshot, read
 * fresh for each request) and carries out what the session asks (SessionAction):
 *
 *   ev-limit        the arbiter's "ev" claim (the EV's maximum, A per phase; AC-equivalent on DC)
 *   ev-soc          the session's EV state of charge (OCPP meter values, telemetry)
 *   energy          the core's hlcEnergy input: the contactor closes only after PowerDelivery Start (AC)
 *   isolation-start DC: energy on (the output contactor closes for the cable check) + the DC output's test
 *   dc-output       DC: the power module's setpoints (granted by DcOutput only while the contactor is closed)
 *   safe-stop       energy off, module off, the "ev" claim at 0 A until the EV is unplugged
 *
 * The snapshot's limit is the arbiter's limit WITHOUT the EV's own claim (the EV must see what the charger could
 * give), times the converter efficiency on DC (the arbiter limits the AC input). Unplugging (pilot A) resets it
 * all. Platform-neutral; the snapshot record is preallocated.
 */
import type { Hal } from "../../hal/index.js";
import type { FirmwareConfig } from "../config.js";
import type { LimitArbiter } from "../control/arbiter.js";
import type { DcOutput } from "../control/dc-output.js";
import type { ControlLoop } from "../control/loop.js";
import type { Session } from "../session/session.js";
import { HlcSessionHost, type HlcHostStats } from "./apphandshake/host.js";
import type { V2gProtocol } from "./apphandshake/handshake.js";
import type { DcSnapshot, EvseSnapshot, SchedulePeriod, ScheduleSource, SessionAction } from "./apphandshake/types.js";
import type { InstalledSecc } from "./index.js";

export interface HlcChargerStatus {
  /** The session host's counters. */
  stats: HlcHostStats;
  /** The protocol of the current / last session ("" before the first), its machine state. */
  protocol: string;
  state: string;
  /** The EV's last state of charge, %, or null. */
  soc: number | null;
  /** Energy transfer allowed by the session (the core's hlcEnergy). */
  energy: boolean;
  /** A safe stop holds until unplug, with its reason ("" when none). */
  safeStop: string;
}

export interface HlcCharger {
  readonly host: HlcSessionHost;
  status(): HlcChargerStatus;
}

export interface HlcChargerDeps {
  hal: Hal;
  cfg: FirmwareConfig;
  secc: InstalledSecc;
  loop: ControlLoop;
  arbiter: LimitArbiter;
  session: Session;
  dc: DcOutput | null;
  /**
   * The OCPP composite schedule ahead (smart charging), A per phase, from wall-clock ms `start` for `durationS`;
   * null when there is none (no smart charging, clock not set). Its periods become the SAScheduleList.
   */
  composite?: ((start: number, durationS: number) => { periods: readonly { start: number; limit: number; phases: number }[] } | null) | null;
}

/** The ISO 15118-2 EVSEID from the config, or ZZ*000*E + the letters and digits of chargePointId (7..37 characters). */
export function iso2EvseId(cfg: FirmwareConfig): string {
  if (cfg.hlcEvseId !== "") return cfg.hlcEvseId;
  let id = "";
  const cp = cfg.chargePointId;
  for (let i = 0; i < cp.length; i++) {
    const c = cp.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) id += cp[i]!.toUpperCase();
  }
  return ("ZZ*000*E" + (id === "" ? "1" : id)).slice(0, 37);
}

/** The DIN 70121 EVSEID (hexBinary, upper-case): the config's, or the ISO EVSEID's ASCII bytes (≤ 32). */
export function dinEvseId(cfg: FirmwareConfig, iso: string): string {
  if (cfg.hlcDinEvseId !== "") return cfg.hlcDinEvseId.toUpperCase();
  let hex = "";
  for (let i = 0; i < iso.length && i < 32; i++) {
    const c = iso.charCodeAt(i);
    hex += HEX[c >> 4]! + HEX[c & 15]!;
  }
  return hex;
}
const HEX = "0123456789ABCDEF";

/** The protocols offered, in order; DIN 70121 only on a DC charger. */
export function offeredProtocols(cfg: FirmwareConfig, dc: boolean): V2gProtocol[] {
  const list = cfg.hlcProtocols.split(",") as V2gProtocol[];
  const out: V2gProtocol[] = [];
  for (let i = 0; i < list.length; i++) if (dc || list[i] !== "din") out.push(list[i]!);
  return out;
}

export function installHlcCharger(d: HlcChargerDeps): HlcCharger {
  const { hal, cfg, secc, loop, arbiter, session, dc } = d;
  const board = hal.board;
  const out = loop.outputs;
  const eff = cfg.dcConverterEfficiency;
  const dcSnap: DcSnapshot | null =
    dc !== null ? { presentVoltage: 0, presentCurrent: 0, maxVoltage: 0, minVoltage: 0, maxCurrent: 0, minCurrent: 0, maxPower: 0, isolation: "Invalid", isolationRunning: false, fault: false } : null;
  const snap: EvseSnapshot = { now: 0, authorized: false, limitAmps: 0, phases: board.phases, nominalVoltage: board.nominalVoltage, stopRequested: false, rcd: false, emergency: false, dc: dcSnap, schedule: null };
  const composite = d.composite ?? null;
  // The SAScheduleList: the OCPP composite schedule for the next 24 h, capped by every other claim (except the
  // EV's own) as they stand now; on DC times the converter efficiency. Built only for ChargeParameterDiscovery.
  const schedule: ScheduleSource | null =
    composite === null
      ? null
      : {
          periods(max: number): readonly SchedulePeriod[] | null {
            const wall = hal.clock.wall();
            if (!(wall > 0) || !hal.clock.synchronized) return null;
            const cs = composite(wall, 86_400);
            if (cs === null || cs.periods.length === 0) return null;
            const rest = arbiter.ampsWithout("ev", "ocpp");
            const k = dc !== null ? eff : 1;
            const out: SchedulePeriod[] = [];
            for (let i = 0; i < cs.periods.length && out.length < max; i++) {
              const p = cs.periods[i]!;
              const amps = p.limit < rest ? p.limit : rest;
              out.push({ start: p.start, amps: (amps > 0 ? amps : 0) * k, phases: p.phases === 1 ? 1 : arbiter.phases });
            }
            return out;
          },
        };
  let soc: number | null = null;
  let safeStop = "";

  const setEnergy = (on: boolean, kick = true): void => {
    if (loop.inputs.hlcEnergy === on) return;
    loop.inputs.hlcEnergy = on;
    hal.log.event("hlc", { event: "energy", on });
    if (kick) loop.kick();
  };

  const apply = (a: SessionAction): void => {
    switch (a.type) {
      case "ev-limit":
        // Whole amps (rounded down): a DC EV's claim moves with its voltage every CurrentDemand; the arbiter (and
        // its log) should only see real changes.
        // On DC the session's AC-equivalent is of the DC power: the AC input the EV's maximum needs is that / eff.
        if (safeStop === "" && a.amps >= 0 && a.amps < 1e6) arbiter.set("ev", Math.floor(dc !== null ? a.amps / eff : a.amps), a.reason);
        return;
      case "ev-soc":
        soc = a.soc;
        session.setEvSoc(a.soc);
        return;
      case "energy":
        setEnergy(a.on && safeStop === "");
        return;
      case "isolation-start":
        if (dc === null || safeStop !== "") return;
        setEnergy(true);
        dc.isolationStart(a.voltage);
        return;
      case "dc-output":
        if (dc !== null && safeStop === "") dc.output(a.enable, a.voltage, a.current);
        return;
      case "safe-stop":
        if (safeStop === "") hal.log.event("hlc", { event: "safe-stop", reason: a.reason });
        safeStop = a.reason === "" ? "safe stop" : a.reason;
        dc?.off();
        arbiter.set("ev", 0, "ISO 15118 safe stop");
        setEnergy(false);
        return;
    }
  };

  const iso = iso2EvseId(cfg);
  const host = new HlcSessionHost(
    {
      kind: dc !== null ? "dc" : "ac",
      protocols: offeredProtocols(cfg, dc !== null),
      evseIdIso2: iso,
      evseIdDin: dinEvseId(cfg, iso),
      cableCheckMs: cfg.dinCableCheckMs,
      preChargeMs: cfg.dinPreChargeMs,
      renegotiateDeltaA: cfg.hlcRenegotiateDeltaA,
    },
    {
      snapshot() {
        snap.now = hal.clock.now();
        snap.authorized = session.authorized;
        const limit = arbiter.ampsWithout("ev");
        snap.limitAmps = dcSnap !== null ? limit * eff : limit;
        snap.phases = arbiter.phases;
        snap.stopRequested = session.stopRequested || !session.available || safeStop !== "";
        snap.rcd = out.fault === "rcd";
        snap.emergency = out.fault !== "";
        if (dcSnap !== null) dc!.snapshot(dcSnap);
        snap.schedule = schedule;
        return snap;
      },
      apply,
      randomBytes: (n) => new Uint8Array(hal.crypto.randomBytes(n)),
      log: (event, fields) => hal.log.event("hlc", { event, ...fields }),
    },
  );
  loop.inputs.hlcEnergy = false;
  secc.secc.events.channel = (ch) => host.attach(ch);

  // The pilot: the SECC's SLAC follows it; unplugging ends everything the session set.
  const previous = loop.onPilot;
  loop.onPilot = (state, duty) => {
    if (state === "A") {
      safeStop = "";
      soc = null;
      arbiter.clear("ev");
      setEnergy(false, false); // inside the loop's tick: the next tick sees it
      if (dc !== null) {
        dc.off();
        dc.resetIsolation();
      }
    }
    if (previous !== null) previous(state, duty);
  };

  return {
    host,
    status() {
      const m = host.machine;
      return {
        stats: host.stats,
        protocol: m !== null ? m.protocol : "",
        state: m !== null ? m.state : "",
        soc,
        energy: loop.inputs.hlcEnergy !== false,
        safeStop,
      };
    },
  };
}
