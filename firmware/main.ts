/**
 * The composition root: start(hal, config) validates the configuration, opens the hardware, wires the
 * charging core, the limit arbiter, the session and the OCPP stack, and starts the control loop.
 * Nothing here knows whether it runs on an ESP32 or in the simulator.
 */
import type { Hal, KeyValue } from "../hal/index.js";
import { resolveConfig, type FirmwareConfig } from "./config.js";
import { LimitArbiter } from "./control/arbiter.js";
import { ChargingHardware } from "./control/hardware.js";
import { ConnectorLockControl } from "./control/lock.js";
import { ControlLoop } from "./control/loop.js";
import { ChargingCore, type CoreConfig } from "./iec61851/core.js";
import { installSecc, type InstalledSecc } from "./iso15118/index.js";
import { installHlcCharger, type HlcCharger } from "./iso15118/charger.js";
import { DcOutput } from "./control/dc-output.js";
import { installMetering } from "./metering/index.js";
import { ChargePoint16, FIRMWARE_VERSION } from "./ocpp/v16/charge-point.js";
import { smartChargingOf } from "./ocpp/v16/features/smart-charging.js";
import { openTxJournal } from "./ocpp/transactions/open.js";
import { Session } from "./session/session.js";
import { installLoadBalancing, type SiteBalancer } from "./loadbalancing/index.js";
import { startUplinks, type Uplinks, type UplinkStatus } from "./network/index.js";
import { installTelemetry, UserClaim, type Telemetry } from "./telemetry/index.js";
import { installTime, type ClockPolicy } from "./time/index.js";
import { Prng } from "./util/prng.js";

export { ConfigError, CONFIG_SCHEMA, resolveConfig, type FirmwareConfig } from "./config.js";
export { FIRMWARE_VERSION } from "./ocpp/v16/charge-point.js";

export interface FirmwareStatus {
  pilot: string;
  status: string;
  connector: string;
  fault: string;
  dutyPermille: number;
  signalledAmps: number;
  limit: { amps: number; source: string; reason: string };
  contactor: boolean;
  amps: number[];
  volts: number[];
  energyWh: number;
  session: { number: number; idTag: string; transactionId: number | null } | null;
  ocpp: { state: string; registration: string; queued: number };
  /** The uplinks (Wi-Fi, LTE) with state and quality, when the board has an LTE modem. */
  uplink?: UplinkStatus;
  /** The EV's state of charge, %, while an ISO 15118 / DIN 70121 session reports one. */
  soc?: number;
  /** The ISO 15118 / DIN 70121 session: protocol, machine state, energy allowed, a pending safe stop. */
  hlc?: { protocol: string; state: string; energy: boolean; safeStop: string };
  ticks: number;
}

export interface FirmwareHandle {
  readonly config: FirmwareConfig;
  status(): FirmwareStatus;
  /** Presents an identification as the card reader would (also used by local UIs). */
  present(idTag: string): void;
  /**
   * A local "user" limit claim (a display, an app on the LAN, the simulator's "limit" action), A per phase;
   * null withdraws it. It takes part in the arbiter like any other claim (lowest wins). RangeError outside 0..80.
   */
  setUserLimit(amps: number | null): void;
  /** Operative (true) or inoperative (false) connector, as OCPP ChangeAvailability would set it. */
  setAvailable(available: boolean): void;
  /** Local load balancing (the "site" claim), null when loadBalancing is "off" (firmware/loadbalancing). */
  readonly site?: SiteBalancer | null;
  /** Stops the loop and closes the devices: the contactor opens, PWM goes to +12 V. */
  stop(): void;
  /** The wall-clock policy every component reads (firmware/time). */
  readonly clock?: ClockPolicy;
  /** MQTT telemetry and control, null without mqttUrl (firmware/telemetry). */
  readonly telemetry?: Telemetry | null;
  /** The ISO 15118 SECC (modem, link, SLAC, SDP, V2GTP server), null without hlcEnabled or a PLC modem. */
  readonly hlc?: InstalledSecc | null;
  /** The charger behind the ISO 15118 / DIN 70121 sessions (snapshot, actions, status), null without the SECC. */
  readonly hlcCharger?: HlcCharger | null;
}

export function coreConfig(cfg: FirmwareConfig, hal: Hal): CoreConfig {
  return {
    debounceSamples: cfg.pilotDebounceSamples,
    ventilationAllowed: cfg.ventilationAllowed,
    minCurrent: cfg.minCurrent,
    evStopTimeoutMs: cfg.evStopTimeoutMs,
    weldSettleMs: cfg.weldSettleMs,
    overdrawToleranceA: cfg.overdrawToleranceA,
    overdrawTimeMs: cfg.overdrawTimeMs,
    overTemperatureC: cfg.overTemperatureC,
    overTemperatureHysteresisC: cfg.overTemperatureHysteresisC,
    tethered: hal.board.tetheredCable,
    phaseSwitching: {
      enabled: cfg.phaseSwitching && hal.board.contactors === 2 && hal.board.phases === 3,
      pauseMs: cfg.phaseSwitchPauseMs,
      hysteresisA: cfg.phaseSwitchHysteresisA,
      holdMs: cfg.phaseSwitchHoldMs,
      maxSwitchesPerSession: cfg.phaseSwitchMaxPerSession,
    },
    hlc: false,
    dcOutput: hal.io.DcPowerModule !== undefined,
  };
}

function hlcStatus(c: HlcCharger): NonNullable<FirmwareStatus["hlc"]> {
  const s = c.status();
  return { protocol: s.protocol, state: s.state, energy: s.energy, safeStop: s.safeStop };
}

export function start(halIn: Hal, config: Record<string, unknown> = {}): FirmwareHandle {
  const cfg = resolveConfig(config);
  // Every component reads the wall clock through the clock policy (SNTP + CSMS samples, drift, expiry).
  const time = installTime(halIn, cfg);
  const hal = time.hal;
  const board = hal.board;
  hal.log.event("boot", { version: FIRMWARE_VERSION, reason: hal.system.bootReason, model: board.model, phases: board.phases, period: cfg.controlPeriodMs });

  const prng = Prng.fromBytes(hal.crypto.randomBytes(4));
  const arbiter = new LimitArbiter(hal.clock);
  arbiter.setPhases(board.phases);
  arbiter.set("hardware", board.ratedCurrent, `${board.model} rating`);
  arbiter.set("installer", cfg.installerCurrentLimit, "installerCurrentLimit");
  const core = new ChargingCore(coreConfig(cfg, hal));

  let loop: ControlLoop | null = null;
  const hw = new ChargingHardware(hal, {
    onResidualCurrent: () => loop?.kick(),
    onMirror: () => loop?.kick(),
    onInterlock: (count, cause) => hal.log.event("interlock", { count, cause }),
    onDeviceError: (device, code, message) => hal.log.event("device-error", { device, code, message }),
  });

  // The socket's cable lock (none on a board with a fixed cable): the loop drives it, OCPP UnlockConnector uses it.
  const lock = new ConnectorLockControl(
    hal,
    () => loop?.kick(),
    (code, message) => hal.log.event("device-error", { device: "lock", code, message }),
  );

  let ocpp: ChargePoint16 | null = null;
  const session = new Session(
    {
      mono: () => hal.clock.now(),
      wall: () => hal.clock.wall(),
      synced: () => hal.clock.synchronized,
      energyWh: () => hw.meterReading.energyImport,
    },
    (idTag, done) => (ocpp ? ocpp.authorizer(idTag, done) : done(false, "no backend")),
    cfg.connectionTimeOutS * 1000,
    cfg.freeCharging ? cfg.freeChargingIdTag : null,
  );
  session.listen({
    started: (s) => hal.log.event("session", { event: "started", number: s.number, idTag: s.idTag, meterStartWh: s.meterStartWh }),
    ended: (s) => hal.log.event("session", { event: "ended", number: s.number, reason: s.stopReason ?? "Other", meterStopWh: s.meterStopWh, Wh: s.meterStopWh - s.meterStartWh }),
    status: (status, errorCode) => hal.log.event("connector", { status, errorCode }),
    authorizationRejected: (idTag, detail) => hal.log.event("auth", { idTag, accepted: false, detail }),
  });
  installMetering(hal, session, hw.meter, cfg.signedMeterValues, FIRMWARE_VERSION);
  let store: KeyValue | null = null;
  try {
    store = hal.storage.keyValue.open({ path: "ocpp" });
  } catch (e) {
    hal.log.event("device-error", { device: "keyvalue", code: "open", message: (e as Error).message });
  }
  // The meter register at boot (it survives in the meter IC): the meterStop of a transaction the power cut.
  hw.meter.read(hw.meterReading);
  const txStore = openTxJournal(hal);
  // Wi-Fi and LTE behind the network manager, when the board has a modem; else the HAL's network alone.
  const uplinks: Uplinks | null = board.lteModem ? startUplinks(hal) : null;
  ocpp = new ChargePoint16({ hal, config: cfg, session, arbiter, meter: hw.meterReading, prng, store, lock: lock.present ? lock : null, ...(txStore ? { txStore } : {}), network: uplinks ? uplinks.manager : null });

  // A board without a card reader (free charging, remote start only) is a valid product.
  let reader: { close(): void } | null = null;
  try {
    reader = new hal.io.IdReader({
      onReadable() {
        const id = this.read();
        if (id !== undefined) {
          hal.log.event("card", { idTag: id });
          session.present(id, "local");
        }
      },
    });
  } catch (e) {
    hal.log.event("device-error", { device: "idreader", code: "absent", message: (e as Error).message });
  }

  loop = new ControlLoop(hal, cfg, core, arbiter, hw, session, lock.present ? lock : null);
  // A DC charger: the power module and the isolation monitor, held by the loop (off unless contactor 0 is closed).
  let dc: DcOutput | null = null;
  if (hal.io.DcPowerModule !== undefined) {
    const output = new DcOutput(hal, cfg.dcTestCurrentA);
    dc = output;
    // The module follows the contactor and the faults in the tick they change (with or without the SECC).
    loop.afterTick = (o) => output.afterTick(o);
    if (!cfg.hlcEnabled) hal.log.event("device-error", { device: "dc-module", code: "no-hlc", message: "a DC charger charges only over ISO 15118 / DIN 70121: set hlcEnabled" });
  }
  // ISO 15118 (hlcEnabled + Board.plcModem): 5 % PWM, SLAC, SDP, V2GTP; basic charging after a failed SLAC (AC);
  // every V2GTP connection gets a DIN 70121 / ISO 15118-2 session with this charger behind it.
  const hlc = installSecc(hal, cfg, core);
  let hlcCharger: HlcCharger | null = null;
  if (hlc) {
    loop.onPilot = (state, duty) => hlc.secc.pilot(state, duty);
    const sc = smartChargingOf(ocpp);
    hlcCharger = installHlcCharger({ hal, cfg, secc: hlc, loop, arbiter, session, dc, composite: sc ? (start, durationS) => sc.composite(ocpp!.connectorId, start, durationS, "A") : null });
  }
  loop.start();
  ocpp.start();
  // Local load balancing (loadBalancing "meter" or "leader"): the site allocation as the "site" claim.
  const site = installLoadBalancing(hal, cfg, arbiter, session, hw.meterReading, () => loop?.kick());
  time.sntp?.start();

  const status = (): FirmwareStatus => {
    const out = loop!.outputs;
    const m = hw.meterReading;
    const w = arbiter.winner;
    const cur = session.current;
    return {
      pilot: out.state,
      status: out.status,
      connector: session.status,
      fault: out.fault,
      dutyPermille: out.duty,
      signalledAmps: out.signalledAmps,
      limit: { amps: arbiter.amps, source: w ? w.source : "none", reason: w ? w.reason : "" },
      contactor: out.contactor0 === 1,
      amps: m.current.slice(0, board.phases),
      volts: m.voltage.slice(0, board.phases),
      energyWh: m.energyImport,
      session: cur ? { number: cur.number, idTag: cur.idTag, transactionId: ocpp!.tx.transactionId(cur.number) ?? null } : null,
      ocpp: { state: ocpp!.rpc.state, registration: ocpp!.registration, queued: ocpp!.tx.length },
      ...(uplinks ? { uplink: uplinks.manager.status() } : {}),
      ...(session.evSoc !== null ? { soc: session.evSoc } : {}),
      ...(hlcCharger !== null ? { hlc: hlcStatus(hlcCharger) } : {}),
      ticks: loop!.stats.ticks,
    };
  };
  const statusTimer = hal.timers.set(() => {
    const s = status();
    hal.log.event("status", {
      pilot: s.pilot,
      status: s.status,
      connector: s.connector,
      duty: s.dutyPermille / 10,
      amps: s.amps,
      limit: s.limit.amps,
      reason: s.limit.source,
      contactor: s.contactor,
      Wh: Math.round(s.energyWh * 10) / 10,
      ocpp: s.ocpp.state,
    });
  }, cfg.statusIntervalMs, cfg.statusIntervalMs);

  // MQTT telemetry and control (off without mqttUrl): commanded limits and pauses share the "user" claim with
  // the local UI (the lower wins).
  const userClaim = new UserClaim(arbiter);
  const telemetry = installTelemetry(cfg, Math.min(board.ratedCurrent, cfg.installerCurrentLimit), {
    hal,
    claim: userClaim,
    session,
    prng,
    snapshot() {
      const s = status();
      const p = hw.meterReading.power;
      let w = 0;
      for (let i = 0; i < board.phases; i++) w += p[i]!;
      const cur = session.current;
      return { ...s, powerW: w, session: s.session && cur ? { ...s.session, wh: s.energyWh - cur.meterStartWh } : null };
    },
    start() {
      if (session.current) return "a session is running";
      if (cfg.freeCharging) session.present(cfg.freeChargingIdTag, "free");
      else if (cfg.mqttStartIdTag !== "") session.present(cfg.mqttStartIdTag, "local");
      else return "start needs freeCharging or mqttStartIdTag";
      return null;
    },
  });
  telemetry?.start();

  let stopped = false;
  return {
    config: cfg,
    site,
    hlc,
    hlcCharger,
    clock: time.clock,
    telemetry,
    status,
    present: (idTag: string) => session.present(idTag, "local"),
    setUserLimit(amps: number | null) {
      if (amps === null) {
        userClaim.setLocal(null);
        return;
      }
      if (typeof amps !== "number" || !(amps >= 0 && amps <= 80)) throw new RangeError(`user limit must be in 0..80 A or null, got ${String(amps)}`);
      userClaim.setLocal(amps);
    },
    setAvailable(available: boolean) {
      if (typeof available !== "boolean") throw new TypeError("available must be a boolean");
      session.setAvailable(available);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      hal.timers.clear(statusTimer);
      site?.stop();
      telemetry?.stop();
      time.sntp?.stop();
      loop!.stop();
      hlc?.close();
      dc?.close();
      ocpp!.stop();
      uplinks?.close();
      reader?.close();
      lock.close();
      hw.close();
    },
  };
}
