/**
 * One simulated charge point: the physical world (EV, grid, relays, meter, RCD, thermal), the board's
 * devices, storage and crypto, real sockets to an embedded (or external) CSMS, a scenario of events, and the
 * firmware booted on top, in virtual time (or paced to the wall clock for `npm start`).
 *
 * The firmware is started through a `Boot` function so that the same simulation runs the firmware in-process
 * on Node or inside the XS engine behind the bridge (tools/xs).
 */
import type { Hal, HTTPClientOptions, HTTPRequestOptions, LogFields, MeterReading, Network } from "../hal/index.js";
import { DeviceHal, FirmwareSlots } from "./core/devices.js";
import { BoardChips } from "./chips/board.js";
import { SimEvcc, type EvccHook } from "./evcc/evcc.js";
import { ScriptedEvcc, type EvccVehicle } from "./evcc/messages/scripted.js";
import type { EvModel } from "./models/ev.js";
import { BoardUplinks } from "./chips/uplinks.js";
import { DeadHalError } from "./core/devices.js";
import { EmbeddedCsms } from "./csms/index.js";
import { recordHal } from "./hal-recorder.js";
import { World, worldConfig, type WorldConfig } from "./models/world.js";
import { FileServer } from "./net/http-server.js";
import { createSimNetwork, ocppCallExpectsReply, type SimNetwork } from "./net/index.js";
import { TlsProxy } from "./net/tls-proxy.js";
import dgram from "node:dgram";
import { Rng } from "./rng.js";
import { asEvConfig, hlcOf, loadScenario, parseScenario, type Scenario, type ScenarioEvent } from "./scenario.js";
import { Scheduler } from "./scheduler.js";
import { SntpServer, sntpRequestExpectsReply, type SntpServerOptions } from "./sntp.js";
import { SimCrypto } from "./crypto.js";
import { PowerCutError, SimStorage } from "./storage/index.js";
import { Trace, type TraceEvent } from "./trace.js";

export interface SimulationOptions {
  /** A parsed scenario, a path to a scenario file, or undefined for the built-in demo. */
  scenario?: Scenario | string;
  /** Overrides the scenario's seed. */
  seed?: number;
  realTime?: boolean;
  speed?: number;
  /** External CSMS base URL (ws://host:port/path); default: the embedded CSMS. */
  csms?: string;
  traceFile?: string;
  /** Keep every trace event in memory (default true). */
  keepTrace?: boolean;
  /** Record every HAL call in the trace (also settable in the scenario). */
  recordHal?: boolean;
  /** Firmware config overrides (on top of the scenario's). */
  config?: Record<string, unknown>;
  /** Stop when the first session has ended and its StopTransaction was answered. */
  once?: boolean;
  /**
   * Also serve the embedded CSMS over wss:// (a TLS terminator in front of it) with this certificate and key;
   * `clientCa` requires a client certificate (security profile 3). The URL goes to the firmware's
   * `csmsTlsUrl` config key and to `sim.csmsTlsUrl`.
   */
  tls?: { cert: string; key: string; clientCa?: string[] };
  /** Embedded CSMS: chargePointId → Basic-auth password (the record may be changed during the run). */
  csmsBasicAuth?: Record<string, string>;
  /** Private keys (PEM) the simulated secure element holds, by the names TlsOptions.key uses. */
  keys?: Record<string, string>;
  /**
   * The message-level behaviour of the simulated car's EVCC (ISO 15118), with an `ev: { hlc: ... }` car. Without
   * it, every plug-in of an HLC car gets a new ScriptedEvcc bound to that car (`sim.scriptedEvcc`).
   */
  evccHook?: EvccHook;
  /** Run on this scheduler (several simulations on one virtual clock: simulator/site.ts); default: a new one. */
  scheduler?: Scheduler;
  /** Decorates the network of every boot (simulator/site.ts adds its cross-charger delivery holds). */
  decorateNetwork?: (net: SimNetwork) => SimNetwork;
  /** MQTT broker (mqtt://host:port) for the firmware's telemetry: sets the `mqttUrl` config key. */
  mqtt?: string;
  /**
   * Run a loopback SNTP server answering with the simulated wall clock (simulator/sntp.ts); its address goes to
   * the `ntpServers` config key unless the config sets one. An object tunes it (a wrong or silent server).
   */
  sntp?: boolean | Omit<SntpServerOptions, "clock">;
}

export type Boot = (hal: Hal, config: Record<string, unknown>) => unknown;

/** An SDP request datagram (V2GTP 01 FE 90 00): the SECC answers it (the simulated EVCC's send holds until then). */
export function sdpRequestExpectsReply(data: ArrayBuffer | string): boolean {
  if (typeof data === "string" || data.byteLength !== 10) return false;
  const b = new Uint8Array(data);
  return b[0] === 0x01 && b[1] === 0xfe && b[2] === 0x90 && b[3] === 0x00;
}

/** A free UDP port on ::1 (the SDP port of one simulated charger; 15118 itself would collide between parallel runs). */
async function freeUdp6Port(): Promise<number> {
  const sock = dgram.createSocket("udp6");
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, "::1", () => resolve());
  });
  const port = sock.address().port;
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

/** The local-UI hooks of firmware/main.ts FirmwareHandle that the "limit" and "availability" actions use. */
interface FirmwareHooks {
  setUserLimit?(amps: number | null): void;
  setAvailable?(available: boolean): void;
}

export interface SessionSummary {
  transactionId: number;
  idTag: string;
  status: string;
  meterStart: number;
  meterStop: number | null;
  Wh: number | null;
  reason: string | null;
}

export interface SimulationResult {
  ok: boolean;
  problems: string[];
  scenario: string;
  seed: number;
  virtualMs: number;
  boots: number;
  sessions: SessionSummary[];
  energyWh: number;
  interlockTrips: number;
  forbiddenCloses: number;
  firmwareErrors: string[];
  holdTimeouts: number;
  validationFailures: number;
  ocppFrames: number;
  events: number;
}

export const DEMO_SCENARIO = `{
  "name": "demo",
  "description": "An EV plugs in, the driver swipes a card, it charges for 20 minutes and unplugs. The meter is an ADE9000 on SPI; meter values are signed (OCMF).",
  "seed": 42,
  "duration": "30min",
  "board": {
    "holdUpMs": 50,
    "meterIc": { "chip": "ade9000", "spi": { "hz": 10000000, "mode": 0, "port": 1, "select": 5 }, "vFullScale": 800, "iFullScale": 80 }
  },
  "config": { "signedMeterValues": true },
  "ev": { "batteryKWh": 60, "initialSoc": 30, "targetSoc": 90, "maxCurrent": 32 },
  "events": [
    { "at": "5s", "do": "plug" },
    { "at": "8s", "do": "swipe", "idTag": "DEMO-CARD-01" },
    { "at": "20min", "do": "unplug" }
  ]
}`;

const CHARGE_POINT_ID = "CP-SIM-0001";

export class Simulation {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly scheduler: Scheduler;
  readonly trace: Trace;
  readonly world: World;
  readonly storage: SimStorage;
  readonly crypto: SimCrypto;
  /** The board's chips (metering IC on SPI, supply monitor), kept across reboots. */
  readonly chips: BoardChips;
  /** The car's communication controller (ISO 15118), when the board has a PLC modem (Board.plcModem). */
  readonly evcc: SimEvcc | null = null;
  /** The scripted EVCC of the HLC car plugged in last (made per plug-in when no `evccHook` was given). */
  scriptedEvcc: ScriptedEvcc | null = null;
  /** The board's uplinks: the Wi-Fi station and the LTE modem (Board.lteModem), kept across reboots. */
  readonly uplinks: BoardUplinks;
  readonly config: Record<string, unknown>;
  csms: EmbeddedCsms | null = null;
  /** HTTP file server on loopback: firmware images (GET) and diagnostics uploads (PUT/POST). */
  files: FileServer | null = null;
  /** The TLS terminator in front of the embedded CSMS (with `tls`). */
  tlsProxy: TlsProxy | null = null;
  /** The loopback SNTP server (with the `sntp` option). */
  sntp: SntpServer | null = null;
  /** The board's A/B firmware slots; they survive reboots. */
  readonly firmwareSlots: FirmwareSlots;
  private device: DeviceHal | null = null;
  private net: SimNetwork | null = null;
  private boot: Boot | null = null;
  /** What the boot function returned (firmware/main.ts FirmwareHandle on Node), for the local-UI actions. */
  private firmware: FirmwareHooks | null = null;
  private boots = 0;
  private rtcAtZero: number;
  private readonly firmwareErrors: string[] = [];
  private readonly problems: string[] = [];
  private ocppFrames = 0;
  private sessionsEnded = 0;
  private readonly meterReading: MeterReading = { voltage: [0, 0, 0], current: [0, 0, 0], power: [0, 0, 0], frequency: 0, energyImport: 0, energyExport: 0 };
  private readonly recordHal: boolean;
  private readonly once: boolean;
  private readonly externalCsms: string | undefined;
  private readonly keys: Record<string, string>;
  private readonly decorateNetwork: ((net: SimNetwork) => SimNetwork) | undefined;
  /** No `evccHook` given: each HLC plug-in gets its own ScriptedEvcc. */
  private readonly autoEvcc: boolean;

  private constructor(scenario: Scenario, options: SimulationOptions) {
    this.scenario = scenario;
    this.seed = options.seed ?? scenario.seed;
    const rng = new Rng(this.seed);
    this.scheduler = options.scheduler ?? new Scheduler({ realTime: options.realTime ?? false, speed: options.speed ?? 1 });
    this.trace = new Trace({ keep: options.keepTrace ?? true, ...(options.traceFile ? { file: options.traceFile } : {}) });
    const board = scenario.board;
    this.world = new World(
      worldConfig({
        phases: board.phases,
        nominalVoltage: board.nominalVoltage,
        ratedCurrent: board.ratedCurrent,
        tethered: board.tetheredCable,
        contactors: board.contactors,
        ...(scenario.world as Partial<WorldConfig>),
      }),
      rng.fork("world"),
    );
    this.storage = new SimStorage({ partitions: { journal: { size: 64 * 1024 } }, seed: this.seed });
    this.crypto = new SimCrypto({ seed: this.seed });
    this.chips = new BoardChips(this.world, board, rng.fork("chips"), () => this.scheduler.now, this.scheduler);
    if (this.chips.plc) {
      const plc = this.chips.plc;
      this.evcc = new SimEvcc({
        scheduler: this.scheduler,
        modem: plc.evModem,
        network: () => this.net,
        rng: rng.fork("evcc"),
        sdp: { address: "::1", port: 15118 },
        hook: options.evccHook ?? null,
        joinMs: plc.medium.joinMs + 100,
        log: (event, fields) => this.emit("evcc", { event, ...fields }),
      });
    }
    this.uplinks = new BoardUplinks(this.scheduler, board);
    this.firmwareSlots = new FirmwareSlots(1 << 20, (data) => this.crypto.sha256(data));
    this.keys = { ...(options.keys ?? {}) };
    this.rtcAtZero = scenario.rtcMs;
    this.recordHal = options.recordHal ?? scenario.recordHal;
    this.once = options.once ?? false;
    this.externalCsms = options.csms;
    this.decorateNetwork = options.decorateNetwork;
    this.autoEvcc = options.evccHook === undefined;
    this.config = { chargePointId: CHARGE_POINT_ID, ...scenario.config, ...(options.config ?? {}) };
  }

  static async create(options: SimulationOptions = {}): Promise<Simulation> {
    const scenario =
      options.scenario === undefined
        ? parseScenario(DEMO_SCENARIO, "demo")
        : typeof options.scenario === "string"
          ? loadScenario(options.scenario)
          : options.scenario;
    const sim = new Simulation(scenario, options);
    if (options.csms) {
      sim.config["csmsUrl"] = options.csms;
    } else {
      sim.csms = await EmbeddedCsms.start({
        port: 0,
        clock: () => sim.trueWallTime(),
        heartbeatInterval: scenario.csms.heartbeatInterval,
        bootStatus: scenario.csms.bootStatus,
        authorize: (idTag: string) => (scenario.csms.rejectTags.includes(idTag) ? "Invalid" : "Accepted"),
        hold: (label: string) => sim.scheduler.hold(label),
        ...(options.csmsBasicAuth ? { basicAuth: options.csmsBasicAuth } : {}),
      });
      sim.config["csmsUrl"] = sim.csms.url;
      if (options.tls) {
        sim.tlsProxy = await TlsProxy.start({ target: sim.csms.port, cert: options.tls.cert, key: options.tls.key, ...(options.tls.clientCa ? { clientCa: options.tls.clientCa } : {}) });
        if (sim.config["csmsTlsUrl"] === undefined) sim.config["csmsTlsUrl"] = sim.csmsTlsUrl!;
      }
    }
    sim.files = await FileServer.start();
    if (sim.evcc) {
      // The SECC's SDP responder and the car agree on a free port on ::1 (the device uses 15118).
      if (sim.config["v2gSdpPort"] === undefined) sim.config["v2gSdpPort"] = await freeUdp6Port();
      if (sim.config["v2gSdpAddress"] === undefined) sim.config["v2gSdpAddress"] = "::1";
      if (sim.config["v2gAddress"] === undefined) sim.config["v2gAddress"] = "::1";
      sim.evcc.setSdp(String(sim.config["v2gSdpAddress"]), Number(sim.config["v2gSdpPort"]));
    }
    if (options.mqtt !== undefined) sim.config["mqttUrl"] = options.mqtt;
    if (options.sntp) {
      sim.sntp = await SntpServer.start({ clock: () => sim.trueWallTime(), ...(typeof options.sntp === "object" ? options.sntp : {}) });
      if (sim.config["ntpServers"] === undefined) sim.config["ntpServers"] = sim.sntp.address;
    }
    return sim;
  }

  /** wss:// URL of the embedded CSMS behind the TLS terminator (with the `tls` option). */
  get csmsTlsUrl(): string | null {
    return this.tlsProxy ? `wss://127.0.0.1:${this.tlsProxy.port}/ocpp` : null;
  }

  /** The true time in the simulated world (what a CSMS's clock says). */
  trueWallTime(): number {
    return this.scenario.rtcMs + this.scheduler.now;
  }

  /** The current boot's HAL (it changes at every reboot). */
  get hal(): Hal | null {
    return this.device ? this.device.hal : null;
  }

  emit(kind: string, fields: Record<string, unknown>): void {
    this.trace.emit(this.scheduler.now, kind, fields);
  }

  /** Runs the scenario with the firmware started by `boot`. */
  async run(boot: Boot): Promise<SimulationResult> {
    await this.start(boot);
    await this.scheduler.run(this.scenario.durationMs, () => this.once && this.onceDone());
    return this.result();
  }

  /** Schedules the scenario and powers the board on, without running the scheduler (simulator/site.ts runs it). */
  async start(boot: Boot): Promise<void> {
    this.boot = boot;
    for (const ev of this.scenario.events) this.scheduler.at(ev.at, () => this.act(ev));
    // The supply monitor fires the board's hold-up time before each power cut: the mains is gone from then on.
    const holdUp = this.scenario.board.holdUpMs ?? 0;
    if (holdUp > 0) {
      for (const ev of this.scenario.events) {
        if (ev.do !== "powerCut") continue;
        const at = Math.max(0, ev.at - holdUp);
        this.scheduler.at(at, () => this.supplyFailing(ev.at - at + ev.offMs));
      }
    }
    if (this.scenario.meterTraceMs > 0) {
      const period = this.scenario.meterTraceMs;
      const tick = () => {
        this.traceMeter();
        this.scheduler.after(period, tick);
      };
      this.scheduler.at(period, tick);
    }
    this.emit("sim", { event: "start", scenario: this.scenario.name, seed: this.seed });
    await this.powerOn("power-on");
  }

  /** The mains fails now (for `outageMs`): the grid collapses and the supply monitor warns the MCU. */
  private supplyFailing(outageMs: number): void {
    this.world.advance(this.scheduler.now);
    this.world.grid.sag(this.scheduler.now, outageMs, 1);
    this.emit("sim", { event: "power-fail-warning", holdUpMs: this.scenario.board.holdUpMs ?? 0 });
    this.chips.powerFail?.raise();
  }

  private onceDone(): boolean {
    if (this.sessionsEnded === 0 || !this.csms) return false;
    return [...this.csms.transactions.values()].some((t) => t.stop !== undefined);
  }

  private traceMeter(): void {
    this.world.advance(this.scheduler.now);
    const m = this.world.readMeter(this.meterReading);
    const n = this.scenario.board.phases;
    this.emit("meter", {
      amps: m.current.slice(0, n).map((a) => Math.round(a * 100) / 100),
      volts: m.voltage.slice(0, n).map((v) => Math.round(v * 10) / 10),
      Wh: Math.round(m.energyImport * 100) / 100,
    });
  }

  private async powerOn(reason: "power-on" | "software" | "watchdog" | "brownout"): Promise<void> {
    this.boots++;
    if (this.storage.isPowerDown) this.storage.reboot();
    if (this.firmwareSlots.bootNext()) this.emit("sim", { event: "firmware-installed", image: this.firmwareSlots.running });
    const created = createSimNetwork({
      scheduler: this.scheduler,
      keys: this.keys,
      expectsReply: (data) => ocppCallExpectsReply(data) || sntpRequestExpectsReply(data) || sdpRequestExpectsReply(data),
      onFrame: (dir, text) => this.onFrame(dir, text),
    });
    const net = this.decorateNetwork ? this.decorateNetwork(created) : created;
    this.net = net;
    const device: DeviceHal = new DeviceHal({
      queue: this.scheduler,
      world: this.world,
      board: this.scenario.board,
      storage: this.storage.storage,
      crypto: this.crypto,
      network: guardNetwork(net, () => device),
      rtcAtZero: this.rtcAtZero,
      bootReason: reason,
      log: (kind: string, fields: LogFields) => this.onLog(kind, fields),
      observe: (kind, fields) => this.emit(kind, fields),
      onRestart: (why) => this.scheduler.post(() => this.reboot(why === "watchdog" ? "watchdog" : "software", 0)),
      watchdogMs: 5_000,
      onFirmwareError: (e) => this.onFirmwareError(e),
      firmwareSlots: this.firmwareSlots,
      logRing: 64,
    });
    this.device = device;
    this.chips.powerFail?.clear();
    const chipIo = this.chips.io(
      () => {
        if (!device.alive) throw new DeadHalError();
      },
      (fn) => this.scheduler.post(() => (device.alive ? device.guard(fn) : undefined)),
    );
    this.uplinks.powerOn();
    const up = this.uplinks.forBoot(
      net,
      chipIo,
      () => {
        if (!device.alive) throw new DeadHalError();
      },
      (fn) => this.scheduler.post(() => (device.alive ? device.guard(fn) : undefined)),
    );
    let hal: Hal = { ...device.hal, io: { ...device.hal.io, ...chipIo, ...up.io }, network: { ...device.hal.network, WiFi: up.WiFi } };
    if (this.recordHal) hal = recordHal(hal, (rec) => this.emit("hal", rec as unknown as Record<string, unknown>));
    this.emit("sim", { event: "boot", reason, boot: this.boots });
    const handle = await device.guard(() => this.boot!(hal, { ...this.config }));
    this.firmware = handle !== null && typeof handle === "object" ? (handle as FirmwareHooks) : null;
  }

  private onLog(kind: string, fields: LogFields): void {
    if (kind === "session" && fields["event"] === "ended") this.sessionsEnded++;
    this.emit(kind, fields);
  }

  private onFrame(dir: "in" | "out", text: string): void {
    this.ocppFrames++;
    let frame: unknown = text;
    try {
      frame = JSON.parse(text);
    } catch {
      // keep the raw text: a malformed frame is worth seeing as it was
    }
    this.emit("ocpp", { dir, frame });
  }

  private onFirmwareError(e: unknown): void {
    if (e instanceof PowerCutError) {
      // The flash lost power in the middle of an operation: the whole board did.
      this.scheduler.post(() => this.reboot("power-on", 1_000));
      return;
    }
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.firmwareErrors.push(text);
    this.emit("sim", { event: "firmware-error", error: text });
  }

  /** Powers the board off (the world sees the contactor coils drop and the pilot go dead), then on again. */
  private async reboot(reason: "power-on" | "software" | "watchdog", offMs: number): Promise<void> {
    const device = this.device;
    if (!device || !device.alive) return;
    this.rtcAtZero = device.rtcAtZero();
    device.kill();
    this.net?.shutdown();
    this.net = null;
    this.evcc?.boardReset();
    this.world.advance(this.scheduler.now);
    for (let i = 0; i < this.scenario.board.contactors; i++) this.world.setContactor(i as 0 | 1, 0);
    this.world.setPilotDuty(-1);
    this.emit("sim", { event: "power-off", reason, offMs });
    if (offMs > 0) {
      this.scheduler.after(offMs, () => this.powerOn(reason));
    } else {
      await this.powerOn(reason);
    }
  }

  private async act(ev: ScenarioEvent): Promise<void> {
    this.world.advance(this.scheduler.now);
    this.emit("scenario", { ...ev, at: undefined });
    switch (ev.do) {
      case "plug": {
        const car = { ...this.scenario.ev, ...(ev.ev ?? {}) };
        const model = this.world.plug(asEvConfig(car));
        const hlc = hlcOf(car, this.scenario.board);
        if (hlc && this.evcc) {
          if (this.autoEvcc) {
            // A new car, a new communication controller: the scripted session bound to this car's physics.
            this.scriptedEvcc = new ScriptedEvcc({
              ...hlc,
              vehicle: this.vehicle(model),
              after: (ms, fn) => void this.scheduler.after(ms, fn),
              log: (event, fields) => this.emit("evcc", { event, ...fields }),
            });
            this.evcc.hook = this.scriptedEvcc;
          }
          this.evcc.plugIn(() => this.world.pilotDuty);
        }
        break;
      }
      case "unplug":
        this.world.unplug();
        this.evcc?.unplug();
        break;
      case "swipe":
        this.device?.presentCard(ev.idTag);
        break;
      case "remoteStart":
        await this.csmsCall("RemoteStartTransaction", { connectorId: 1, idTag: ev.idTag });
        break;
      case "csms":
        await this.csmsCall(ev.action, ev.payload);
        break;
      case "remoteStop": {
        const active = this.csms ? [...this.csms.transactions.entries()].filter(([, t]) => t.stop === undefined) : [];
        const last = active[active.length - 1];
        if (last) await this.csmsCall("RemoteStopTransaction", { transactionId: last[0] });
        else this.problems.push(`remoteStop at ${ev.at} ms: no active transaction`);
        break;
      }
      case "weld":
        this.world.weld(ev.contactor);
        break;
      case "rcd":
        this.world.injectResidualCurrent(ev.acMa, ev.dcMa);
        break;
      case "insulation":
        this.world.setInsulationOhms(ev.ohms);
        break;
      case "dcFault":
        this.world.dcFault(ev.code);
        break;
      case "ambient":
        this.world.setAmbient(ev.c);
        break;
      case "cable":
        this.world.setCable(ev.ohms);
        break;
      case "powerCut":
        this.storage.cutNow();
        this.chips.powerLost();
        this.uplinks.powerLost();
        await this.reboot("power-on", ev.offMs);
        break;
      case "meterFault":
        if (this.chips.meterChip) this.chips.meterChip.fault = ev.fault;
        else this.problems.push(`meterFault at ${ev.at} ms: this board has no metering IC (board.meterIc)`);
        break;
      case "restart":
        await this.reboot("software", 0);
        break;
      case "limit":
      case "availability": {
        const fw = this.device?.alive ? this.firmware : null;
        const fn = ev.do === "limit" ? fw?.setUserLimit : fw?.setAvailable;
        if (!fw || typeof fn !== "function") {
          this.problems.push(`${ev.do} at ${ev.at} ms: the running firmware has no ${ev.do === "limit" ? "setUserLimit" : "setAvailable"} hook`);
          break;
        }
        const device = this.device!;
        device.guard(() => (ev.do === "limit" ? fw.setUserLimit!(ev.amps) : fw.setAvailable!(ev.available)));
        break;
      }
      case "overheat":
        try {
          this.world.thermal.overheat(ev.sensor, ev.factor);
        } catch (e) {
          this.problems.push(`overheat at ${ev.at} ms: ${(e as Error).message}`);
        }
        break;
      case "pilotShort":
        this.world.shortPilot(ev.on);
        break;
      case "lockFault":
        this.world.jamLock(ev.on);
        break;
      case "wifi":
      case "lte": {
        const problem = this.uplinks.act(ev);
        if (problem) this.problems.push(`${ev.do} at ${ev.at} ms: ${problem}`);
        break;
      }
      case "network": {
        const f = this.net?.faults;
        if (!f) break;
        if (ev.fault === "blackhole") f.blackhole(true);
        else if (ev.fault === "refuse") f.refuse(true);
        else if (ev.fault === "drop") f.dropAll();
        else {
          f.blackhole(false);
          f.refuse(false);
        }
        break;
      }
    }
  }

  /**
   * The car as its communication controller sees it: every read and command first brings the world's physics to
   * the present virtual time (so a change of S2 or of the limit happens at the instant the message logic decides).
   */
  private vehicle(ev: EvModel): EvccVehicle {
    const sync = (): void => this.world.advance(this.scheduler.now);
    return {
      get soc() {
        sync();
        return ev.soc;
      },
      get targetSoc() {
        return ev.targetSoc;
      },
      config: ev.config,
      batteryVoltage: () => (sync(), ev.batteryVoltage()),
      get batteryOhms() {
        return ev.batteryOhms;
      },
      dcCurrentLimit: () => (sync(), ev.dcCurrentLimit()),
      acCurrent: () => (sync(), ev.acCurrent()),
      get dcContactorClosed() {
        sync();
        return ev.dcContactorClosed;
      },
      get s2Closed() {
        sync();
        return ev.s2Closed;
      },
      setS2: (closed) => (sync(), ev.setS2(closed)),
      setHlcLimit: (amps) => (sync(), ev.setHlcLimit(amps)),
      setDcContactor: (closed) => (sync(), ev.setDcContactor(closed)),
    };
  }

  /** A CSMS-initiated CALL; the CSMS holds virtual time until the charger has answered. */
  private async csmsCall(action: string, payload: Record<string, unknown>): Promise<void> {
    if (!this.csms) {
      this.problems.push(`${action}: no embedded CSMS (an external CSMS is used)`);
      return;
    }
    const cp = String(this.config["chargePointId"]);
    if (!this.csms.isConnected(cp)) {
      this.problems.push(`${action} at ${this.scheduler.now} ms: the charge point is not connected`);
      return;
    }
    this.csms.call(cp, action, payload).then(
      (r: unknown) => this.emit("csms", { action, result: r as Record<string, unknown> }),
      (e: unknown) => this.emit("csms", { action, error: String(e) }),
    );
  }

  /** The outcome so far (run() returns it at the end). */
  result(): SimulationResult {
    const sessions: SessionSummary[] = [];
    let validationFailures = 0;
    if (this.csms) {
      validationFailures = this.csms.validationFailures.length;
      for (const [id, t] of this.csms.transactions) {
        const meterStop = t.stop ? (t.stop["meterStop"] as number) : null;
        const meterStart = t.start["meterStart"] as number;
        sessions.push({
          transactionId: id,
          idTag: String(t.start["idTag"]),
          status: this.scenario.csms.rejectTags.includes(String(t.start["idTag"])) ? "Invalid" : "Accepted",
          meterStart,
          meterStop,
          Wh: meterStop === null ? null : meterStop - meterStart,
          reason: t.stop ? String(t.stop["reason"] ?? "Local") : null,
        });
      }
    }
    this.world.advance(this.scheduler.now);
    const problems = [...this.problems];
    if (this.world.interlockTrips) problems.push(`the hardware interlock had to act ${this.world.interlockTrips} time(s)`);
    if (this.world.forbiddenCloses) problems.push(`${this.world.forbiddenCloses} contactor close(s) in a forbidden state`);
    if (this.firmwareErrors.length) problems.push(`${this.firmwareErrors.length} firmware exception(s): ${this.firmwareErrors[0]}`);
    if (this.scheduler.stats.holdTimeouts) problems.push(`${this.scheduler.stats.holdTimeouts} I/O hold(s) timed out: ${this.scheduler.stats.timedOutHolds.join(", ")}`);
    if (validationFailures) problems.push(`${validationFailures} OCPP frame(s) failed strict validation`);
    if (this.once && !sessions.some((s) => s.meterStop !== null && s.status === "Accepted")) problems.push("no completed transaction with an accepted idTag");
    const res: SimulationResult = {
      ok: problems.length === 0,
      problems,
      scenario: this.scenario.name,
      seed: this.seed,
      virtualMs: this.scheduler.now,
      boots: this.boots,
      sessions,
      energyWh: Math.round(this.world.readMeter(this.meterReading).energyImport * 100) / 100,
      interlockTrips: this.world.interlockTrips,
      forbiddenCloses: this.world.forbiddenCloses,
      firmwareErrors: [...this.firmwareErrors],
      holdTimeouts: this.scheduler.stats.holdTimeouts,
      validationFailures,
      ocppFrames: this.ocppFrames,
      events: this.scheduler.stats.events,
    };
    this.emit("sim", { event: "end", ok: res.ok, problems });
    return res;
  }

  async close(): Promise<void> {
    this.device?.kill();
    this.net?.shutdown();
    this.uplinks.shutdown();
    await this.csms?.close();
    await this.tlsProxy?.close();
    await this.files?.close();
    await this.sntp?.close();
    await this.trace.close();
  }
}

/**
 * Wraps the network so that callbacks of a dead boot are never called, and firmware exceptions in them are
 * reported like any other.
 */
function guardNetwork(net: Network, device: () => DeviceHal): Network {
  const wrap = <C extends new (options: never) => object>(Cls: C): C =>
    function (this: unknown, options: Record<string, unknown>) {
      const wrapped: Record<string, unknown> = { ...options };
      for (const [k, v] of Object.entries(options)) {
        if (typeof v === "function" && k.startsWith("on")) {
          wrapped[k] = function (this: unknown, ...args: unknown[]) {
            const d = device();
            if (!d.alive) return undefined;
            return d.guard(() => (v as (...a: unknown[]) => unknown).apply(this, args));
          };
        }
      }
      return new (Cls as unknown as new (o: unknown) => object)(wrapped);
    } as unknown as C;
  const guardCallbacks = (options: Record<string, unknown>): Record<string, unknown> => {
    const wrapped: Record<string, unknown> = { ...options };
    for (const [k, v] of Object.entries(options)) {
      if (typeof v === "function" && k.startsWith("on")) {
        wrapped[k] = function (this: unknown, ...args: unknown[]) {
          const d = device();
          if (!d.alive) return undefined;
          return d.guard(() => (v as (...a: unknown[]) => unknown).apply(this, args));
        };
      }
    }
    return wrapped;
  };
  const out: Network = {
    TCP: wrap(net.TCP),
    UDP: wrap(net.UDP),
    WebSocketClient: wrap(net.WebSocketClient),
    MQTTClient: wrap(net.MQTTClient),
  };
  if (net.Listener) out.Listener = wrap(net.Listener);
  const Http = net.HTTPClient;
  if (Http) {
    // Request callbacks come with request(), not with the constructor: guard those too.
    out.HTTPClient = function (options: HTTPClientOptions) {
      const client = new Http(guardCallbacks(options as unknown as Record<string, unknown>) as unknown as HTTPClientOptions);
      const request = client.request.bind(client);
      client.request = (o: HTTPRequestOptions) => request(guardCallbacks(o as unknown as Record<string, unknown>) as unknown as HTTPRequestOptions);
      return client;
    } as unknown as NonNullable<Network["HTTPClient"]>;
  }
  return out;
}

export type { TraceEvent };
