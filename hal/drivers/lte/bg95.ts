/**
 * Quectel BG95 (LTE Cat-M1/NB-IoT, EGPRS fallback) driver over ECMA-419 Serial, platform-neutral: the modem
 * runs the TCP/IP and TLS stacks, the driver speaks its AT command set and offers sockets in the HAL's TCP
 * shape (hal/network.ts), so the firmware's WebSocket/OCPP layer runs over it unchanged. Sources and the
 * reasons for this family: README.md beside this file.
 *
 * Life cycle (state): off → resetting (RESET_N pulse) → booting (AT probes until OK) → configuring (ATE0,
 * AT+CMEE=1, AT+CPIN?, AT+QICSGP, AT+CEREG=1) → searching (AT+CEREG? / AT+CREG? until registered, home or
 * roaming) → attaching (AT+QIACT=1) → up. While up: AT+CSQ and AT+CEREG? every pollMs; URCs +CEREG: <stat>
 * (registration lost), +QIURC: "pdpdeact" (PDP context gone) and "recv"/"closed" per socket.
 *
 * Every command has a timeout. A command that times out means a stalled modem: every socket fails
 * (onError "ETIMEDOUT"), the modem is reset through its RESET_N line (a Digital output) and brought up again;
 * a modem that does not answer after boot is reset again (stats.resets counts them).
 */
import type {
  BufferLike,
  Digital,
  DigitalOptions,
  HalError,
  IoClass,
  LinkInfo,
  LinkState,
  LogFields,
  LteModemWiring,
  Serial,
  SerialOptions,
  TCP,
  TCPOptions,
  TimerId,
  Timers,
} from "../../index.js";
import { DIGITAL_OUTPUT } from "../../io.js";
import { AtChannel, type AtResponse } from "./at.js";

export type ModemState = "off" | "resetting" | "booting" | "configuring" | "searching" | "attaching" | "up";

export interface Bg95Timing {
  /** RESET_N held low this long (BG95/BG77 hardware design: 2 s to 3.8 s). */
  resetPulseMs: number;
  /** Period of the AT probe while the modem boots. */
  bootProbeMs: number;
  /** No answer to AT within this long after a reset: reset again. */
  bootTimeoutMs: number;
  /** Default command timeout (the manuals give 300 ms maximum response time for most queries). */
  commandMs: number;
  /** AT+QIACT (manual: 150 s, network dependent). */
  attachMs: number;
  /** +QIOPEN / +QSSLOPEN result after AT+QIOPEN (manual suggests waiting 150 s; shorter here to fail over). */
  openMs: number;
  /** AT+QICLOSE (manual: 10 s). */
  closeMs: number;
  /** Registration poll while searching. */
  searchPollMs: number;
  /** Not registered within this long: reset the modem. */
  registerTimeoutMs: number;
  /** Signal and registration poll while up. */
  pollMs: number;
  /** Delay before retrying when the SIM or the PDP context failed. */
  retryMs: number;
}

export const BG95_TIMING: Bg95Timing = {
  resetPulseMs: 2_500,
  bootProbeMs: 1_000,
  bootTimeoutMs: 20_000,
  commandMs: 2_000,
  attachMs: 150_000,
  openMs: 60_000,
  closeMs: 10_000,
  searchPollMs: 2_000,
  registerTimeoutMs: 180_000,
  pollMs: 10_000,
  retryMs: 10_000,
};

/** What the driver needs from the HAL. */
export interface Bg95Options {
  Serial: IoClass<SerialOptions, Serial>;
  Digital?: IoClass<DigitalOptions, Digital>;
  timers: Timers;
  clock: { now(): number };
  log?: (kind: string, fields: LogFields) => void;
  wiring: LteModemWiring;
  /** Overrides wiring.apn. */
  apn?: string;
  timing?: Partial<Bg95Timing>;
  /** Called when state or signal changed (read `info`). */
  onChange?: () => void;
}

/** Quectel TCP/IP error codes (TCP/IP AT commands manual, "Summary of Error Codes") by number. */
export const QI_ERRORS: Record<number, string> = {
  550: "unknown error",
  551: "operation blocked",
  552: "invalid parameters",
  553: "memory not enough",
  554: "create socket failed",
  555: "operation not supported",
  556: "socket bind failed",
  558: "socket write failed",
  559: "socket read failed",
  561: "open PDP context failed",
  563: "socket identity has been used",
  564: "DNS busy",
  565: "DNS parse failed",
  566: "socket connect failed",
  567: "socket has been closed",
  568: "operation busy",
  569: "operation timeout",
  570: "PDP context broken down",
  572: "operation not allowed",
  573: "APN not configured",
  574: "port busy",
};

/** HAL error code for a Quectel socket error. */
function qiError(n: number): HalError {
  const code = n === 565 ? "ENOTFOUND" : n === 566 ? "ECONNREFUSED" : n === 569 ? "ETIMEDOUT" : n === 570 ? "ENETDOWN" : "EIO";
  return { code, message: `modem error ${n}: ${QI_ERRORS[n] ?? "unknown"}` };
}

/** 3GPP TS 27.007 +CSQ <rssi> → dBm (0: ≤ -113, 31: ≥ -51, 99: unknown). */
export function csqToDbm(rssi: number): number | null {
  if (!Number.isInteger(rssi) || rssi < 0 || rssi > 31) return null;
  return -113 + 2 * rssi;
}

/** Quality 0..100 from dBm: -113 dBm → 0, -51 dBm → 100. */
export function dbmToQuality(dbm: number | null): number | null {
  if (dbm === null) return null;
  return Math.max(0, Math.min(100, Math.round(((dbm + 113) * 100) / 62)));
}

/** The socket commands of one kind: plain TCP (AT+QI*) or TLS (AT+QSSL*). */
interface SocketCommands {
  send: string;
  read: string;
  readLine: string;
  close: string;
}
const QI: SocketCommands = { send: "AT+QISEND", read: "AT+QIRD", readLine: "+QIRD:", close: "AT+QICLOSE" };
const QSSL: SocketCommands = { send: "AT+QSSLSEND", read: "AT+QSSLRECV", readLine: "+QSSLRECV:", close: "AT+QSSLCLOSE" };

const MAX_SOCKETS = 12;
/** Largest AT+QISEND payload (manual: 1460 bytes). */
const SEND_CHUNK = 1460;
/** The space onWritable reports. */
const SEND_WINDOW = 4 * SEND_CHUNK;
const READ_CHUNK = 1500;
/** The SSL context the driver configures. */
const SSL_CTX = 1;

interface SocketHooks {
  id: number;
  owner: object;
  cmds: SocketCommands;
  opened(err: number): void;
  recv(): void;
  closedByPeer(): void;
  fail(error: HalError): void;
}

function quote(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s) || s.includes('"')) throw new RangeError(`not representable in an AT string: ${JSON.stringify(s)}`);
  return `"${s}"`;
}

function bytesOf(buffer: BufferLike): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (buffer instanceof DataView) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new TypeError("expected an ArrayBuffer, Uint8Array or DataView");
}

export class Bg95 {
  readonly timing: Bg95Timing;
  readonly stats = { resets: 0, stalls: 0, registrationsLost: 0, pdpDeactivations: 0, socketsOpened: 0, sendCommands: 0, readCommands: 0 };
  /** The TCP class (HAL shape) whose sockets the modem carries. */
  readonly TCP: IoClass<TCPOptions, TCP>;
  private readonly at: AtChannel;
  private readonly resetPin: Digital | null;
  private _state: ModemState = "off";
  private rssi: number | null = null;
  private stateTimer: TimerId | 0 = 0;
  private pollTimer: TimerId | 0 = 0;
  private bootStarted = 0;
  private searchStarted = 0;
  private readonly sockets: Array<SocketHooks | null> = new Array<SocketHooks | null>(MAX_SOCKETS).fill(null);
  /** CA bundle (PEM) uploaded to the modem's file system, to skip re-uploading it. */
  private uploadedCa: string | null = null;
  private closed = false;
  /** Why the link is not up (for status), "" when up. */
  reason = "starting";

  constructor(private readonly o: Bg95Options) {
    if (o.wiring.chip !== "bg95") throw new RangeError(`Bg95: unsupported modem ${String(o.wiring.chip)}`);
    this.timing = { ...BG95_TIMING, ...(o.timing ?? {}) };
    const self = this;
    this.at = new AtChannel({
      Serial: o.Serial,
      serial: o.wiring.serial,
      timers: o.timers,
      onUrc: (line) => this.urc(line),
      onTimeout: (cmd) => this.stalled(cmd),
      onSerialError: (code) => this.log("modem", { event: "serial-error", code }),
    });
    this.resetPin = o.wiring.reset !== undefined && o.Digital ? new o.Digital({ pin: o.wiring.reset, mode: DIGITAL_OUTPUT }) : null;
    this.resetPin?.write(0);
    this.TCP = class Bg95Socket extends LteSocket {
      constructor(options: TCPOptions) {
        super(self, options);
      }
    };
  }

  get state(): ModemState {
    return this._state;
  }

  /** The link as the network manager sees it. */
  get info(): LinkInfo {
    const s: LinkState = this._state === "up" ? "up" : this._state === "off" ? "down" : "connecting";
    const dbm = csqToDbm(this.rssi ?? 99);
    return { state: s, rssi: dbm, quality: dbmToQuality(dbm) };
  }

  /** AT commands sent so far (for the bench: AT round trips per OCPP message). */
  get commands(): number {
    return this.at.stats.commands;
  }

  get atStats(): AtChannel["stats"] {
    return this.at.stats;
  }

  /** Powers the modem up (a reset pulse when the reset line is wired). */
  start(): void {
    if (this.closed) throw new Error("Bg95: closed");
    if (this._state !== "off") return;
    this.reset("start");
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.failSockets({ code: "ENETDOWN", message: "modem driver closed" });
    this.at.close();
    this.resetPin?.close();
    this.setState("off", "closed");
  }

  // ---- life cycle -------------------------------------------------------------------------------------

  private log(kind: string, fields: LogFields): void {
    this.o.log?.(kind, fields);
  }

  private setState(s: ModemState, reason: string): void {
    if (this._state === s) return;
    const was = this._state;
    this._state = s;
    this.reason = s === "up" ? "" : reason;
    this.log("modem", { event: "state", from: was, to: s, reason });
    this.o.onChange?.();
  }

  private clearTimers(): void {
    if (this.stateTimer) this.o.timers.clear(this.stateTimer);
    if (this.pollTimer) this.o.timers.clear(this.pollTimer);
    this.stateTimer = this.pollTimer = 0;
  }

  private later(ms: number, fn: () => void): void {
    if (this.stateTimer) this.o.timers.clear(this.stateTimer);
    this.stateTimer = this.o.timers.set(() => {
      this.stateTimer = 0;
      if (!this.closed) fn();
    }, ms);
  }

  private cmd(text: string, done: (r: AtResponse) => void, timeoutMs = this.timing.commandMs): void {
    if (this.closed) return;
    this.at.send(text, { timeoutMs }, done);
  }

  /** A command timed out: the modem is stalled. Reset it (every socket fails). */
  private stalled(command: string): void {
    if (this.closed || this._state === "resetting") return;
    if (this._state === "booting") return; // probes time out while it boots: the boot timer decides
    this.stats.stalls++;
    this.log("modem", { event: "stall", command: command.slice(0, 24) });
    this.reset("stalled");
  }

  /** Hardware reset through RESET_N (or a soft restart when it is not wired), then boot. */
  private reset(reason: string): void {
    this.clearTimers();
    this.at.abort("reset");
    this.failSockets({ code: reason === "stalled" ? "ETIMEDOUT" : "ENETDOWN", message: `modem ${reason}: reset` });
    this.uploadedCa = null;
    this.rssi = null;
    if (reason !== "start") this.stats.resets++;
    this.setState("resetting", reason);
    if (this.resetPin) {
      this.resetPin.write(1);
      this.later(this.timing.resetPulseMs, () => {
        this.resetPin!.write(0);
        this.boot();
      });
    } else {
      this.later(0, () => this.boot());
    }
  }

  private boot(): void {
    this.setState("booting", "booting");
    this.bootStarted = this.o.clock.now();
    this.probe();
  }

  private probe(): void {
    if (this._state !== "booting") return;
    this.cmd("AT", (r) => {
      if (this._state !== "booting") return;
      if (r.ok) {
        this.configure();
        return;
      }
      if (this.o.clock.now() - this.bootStarted >= this.timing.bootTimeoutMs) {
        this.log("modem", { event: "no-answer", afterMs: this.o.clock.now() - this.bootStarted });
        this.reset("no answer after boot");
        return;
      }
      this.later(r.error === "timeout" ? 0 : this.timing.bootProbeMs, () => this.probe());
    }, this.timing.bootProbeMs);
  }

  private configure(): void {
    this.setState("configuring", "configuring");
    const apn = this.o.apn ?? this.o.wiring.apn ?? "internet";
    const steps = ["ATE0", "AT+CMEE=1", "AT+CPIN?", `AT+QICSGP=1,1,${quote(apn)},"","",0`, "AT+CEREG=1", "AT+CREG=1"];
    const run = (i: number): void => {
      if (this._state !== "configuring") return;
      if (i === steps.length) {
        this.searchStarted = this.o.clock.now();
        this.setState("searching", "registering");
        this.search();
        return;
      }
      this.cmd(steps[i]!, (r) => {
        if (this._state !== "configuring") return;
        if (!r.ok || (steps[i] === "AT+CPIN?" && !r.lines.some((l) => l.includes("READY")))) {
          // +CME ERROR: 10 SIM not inserted, 13 SIM failure, ... (3GPP TS 27.007 §9.2)
          this.log("modem", { event: "config-failed", command: steps[i]!.slice(0, 16), error: r.error ?? r.lines.join(" ") });
          this.setState("configuring", r.cme === 10 ? "SIM not inserted" : "configuration failed");
          this.reason = r.cme === 10 ? "SIM not inserted" : `configuration failed (${r.error ?? "?"})`;
          this.later(this.timing.retryMs, () => run(0));
          return;
        }
        run(i + 1);
      });
    };
    run(0);
  }

  /** +CEREG/+CREG <stat>: 1 registered (home), 5 registered (roaming) (3GPP TS 27.007 §10.1.22, §7.2). */
  private static registered(lines: string[], prefix: string): number | null {
    for (const l of lines) {
      if (!l.startsWith(prefix)) continue;
      const parts = l.slice(prefix.length).split(",").map((x) => parseInt(x.trim(), 10));
      const stat = parts.length >= 2 ? parts[1]! : parts[0]!;
      return Number.isInteger(stat) ? stat : null;
    }
    return null;
  }

  private search(): void {
    if (this._state !== "searching") return;
    this.cmd("AT+CEREG?", (r) => {
      if (this._state !== "searching") return;
      const stat = r.ok ? Bg95.registered(r.lines, "+CEREG:") : null;
      if (stat === 1 || stat === 5) {
        this.attach();
        return;
      }
      this.cmd("AT+CREG?", (r2) => {
        if (this._state !== "searching") return;
        const st2 = r2.ok ? Bg95.registered(r2.lines, "+CREG:") : null;
        if (st2 === 1 || st2 === 5) {
          this.attach();
          return;
        }
        if (this.o.clock.now() - this.searchStarted >= this.timing.registerTimeoutMs) {
          this.reset("not registered");
          return;
        }
        this.reason = stat === 3 ? "registration denied" : "searching for a network";
        this.later(this.timing.searchPollMs, () => this.search());
      });
    });
  }

  private attach(): void {
    this.setState("attaching", "activating PDP context");
    this.cmd(
      "AT+QIACT=1",
      (r) => {
        if (this._state !== "attaching") return;
        if (!r.ok) {
          this.log("modem", { event: "pdp-failed", error: r.error ?? "" });
          this.setState("searching", "PDP activation failed");
          this.later(this.timing.retryMs, () => this.search());
          return;
        }
        this.cmd("AT+CSQ", (q) => {
          if (this._state !== "attaching") return;
          this.readCsq(q);
          this.setState("up", "");
          this.pollTimer = this.o.timers.set(() => this.poll(), this.timing.pollMs, this.timing.pollMs);
        });
      },
      this.timing.attachMs,
    );
  }

  private readCsq(r: AtResponse): void {
    if (!r.ok) return;
    const l = r.lines.find((x) => x.startsWith("+CSQ:"));
    if (!l) return;
    const v = parseInt(l.slice(5).trim().split(",")[0]!, 10);
    const next = v >= 0 && v <= 31 ? v : null;
    if (next !== this.rssi) {
      this.rssi = next;
      this.o.onChange?.();
    }
  }

  private poll(): void {
    if (this._state !== "up" || this.at.busy > 4) return;
    this.cmd("AT+CSQ", (r) => this.readCsq(r));
    this.cmd("AT+CEREG?", (r) => {
      if (this._state !== "up" || !r.ok) return;
      const stat = Bg95.registered(r.lines, "+CEREG:");
      if (stat !== null && stat !== 1 && stat !== 5) this.registrationLost(stat);
    });
  }

  private registrationLost(stat: number): void {
    this.stats.registrationsLost++;
    this.log("modem", { event: "registration-lost", stat });
    if (this.pollTimer) this.o.timers.clear(this.pollTimer);
    this.pollTimer = 0;
    this.failSockets({ code: "ENETDOWN", message: `LTE registration lost (stat ${stat})` }, true);
    this.searchStarted = this.o.clock.now();
    this.setState("searching", "registration lost");
    this.later(this.timing.searchPollMs, () => this.search());
  }

  private urc(line: string): void {
    if (line.startsWith("+CEREG:") || line.startsWith("+CREG:")) {
      const stat = Bg95.registered([line], line.startsWith("+CEREG:") ? "+CEREG:" : "+CREG:");
      if (this._state === "up" && stat !== null && stat !== 1 && stat !== 5 && line.startsWith("+CEREG:")) this.registrationLost(stat);
      else if (this._state === "searching" && (stat === 1 || stat === 5)) this.later(0, () => this.search());
      return;
    }
    if (line === "RDY" || line === "APP RDY") {
      // An unexpected restart of the modem (brown-out, watchdog): everything it held is gone.
      if (this._state !== "booting" && this._state !== "resetting" && this._state !== "off") {
        this.log("modem", { event: "unexpected-restart" });
        this.at.abort("modem restarted");
        this.clearTimers();
        this.failSockets({ code: "ENETDOWN", message: "modem restarted" });
        this.boot();
      }
      return;
    }
    const m = /^\+(QIURC|QSSLURC): "([a-z]+)"(?:,(\d+))?/.exec(line);
    if (m) {
      const what = m[2]!;
      const id = m[3] !== undefined ? parseInt(m[3], 10) : -1;
      if (what === "pdpdeact") {
        this.stats.pdpDeactivations++;
        this.log("modem", { event: "pdp-deactivated" });
        if (this.pollTimer) this.o.timers.clear(this.pollTimer);
        this.pollTimer = 0;
        this.failSockets({ code: "ENETDOWN", message: "PDP context deactivated by the network" }, true);
        if (this._state === "up" || this._state === "attaching") {
          this.setState("attaching", "PDP context deactivated");
          this.cmd("AT+QIDEACT=1", () => this.later(this.timing.retryMs, () => this.search0()), 40_000);
        }
        return;
      }
      const s = id >= 0 && id < MAX_SOCKETS ? this.sockets[id] : null;
      if (!s) return;
      if (what === "recv") s.recv();
      else if (what === "closed") s.closedByPeer();
      return;
    }
    const open = /^\+(QIOPEN|QSSLOPEN): (\d+),(-?\d+)/.exec(line);
    if (open) {
      const s = this.sockets[parseInt(open[2]!, 10)];
      s?.opened(parseInt(open[3]!, 10));
    }
  }

  private search0(): void {
    this.searchStarted = this.o.clock.now();
    this.setState("searching", "re-registering");
    this.search();
  }

  /** Fails every socket; `closeInModem`: the modem still holds them (link loss), so free their connectIDs. */
  private failSockets(error: HalError, closeInModem = false): void {
    for (let i = 0; i < MAX_SOCKETS; i++) {
      const s = this.sockets[i];
      if (s) {
        this.sockets[i] = null;
        if (closeInModem) this.at.send(`${s.cmds.close}=${i}`, { timeoutMs: this.timing.closeMs }, () => undefined);
        s.fail(error);
      }
    }
  }

  // ---- sockets (used by LteSocket) ------------------------------------------------------------------

  /** @internal */
  allocate(hooks: Omit<SocketHooks, "id">): number {
    for (let i = 0; i < MAX_SOCKETS; i++) {
      if (!this.sockets[i]) {
        this.sockets[i] = { ...hooks, id: i };
        return i;
      }
    }
    return -1;
  }

  /** @internal */
  release(id: number, owner: object): void {
    if (this.sockets[id]?.owner === owner) this.sockets[id] = null;
  }

  /** @internal: opens socket `id` (plain or TLS); the result comes as hooks.opened(err). */
  open(id: number, host: string, port: number, ca: string | null, serverName: string | null, fail: (e: HalError) => void): void {
    const onOk = (r: AtResponse) => {
      if (!r.ok) fail(r.cme !== null ? qiError(r.cme) : { code: "EIO", message: `open refused: ${r.error ?? "?"}` });
    };
    if (!ca && serverName === null) {
      this.cmd(`AT+QIOPEN=1,${id},"TCP",${quote(host)},${port},0,0`, onOk);
      return;
    }
    // TLS in the modem: SSL context SSL_CTX, TLS 1.2, server authentication against the uploaded CA.
    const steps: Array<[string, Uint8Array | undefined]> = [];
    if (ca && ca !== this.uploadedCa) {
      const bytes = new Uint8Array(ca.length);
      for (let i = 0; i < ca.length; i++) bytes[i] = ca.charCodeAt(i) & 0xff;
      steps.push([`AT+QFDEL="UFS:cacert.pem"`, undefined]);
      steps.push([`AT+QFUPL="UFS:cacert.pem",${bytes.length},100`, bytes]);
    }
    steps.push([`AT+QSSLCFG="sslversion",${SSL_CTX},3`, undefined]);
    steps.push([`AT+QSSLCFG="seclevel",${SSL_CTX},${ca ? 1 : 0}`, undefined]);
    if (ca) steps.push([`AT+QSSLCFG="cacert",${SSL_CTX},"UFS:cacert.pem"`, undefined]);
    steps.push([`AT+QSSLCFG="sni",${SSL_CTX},1`, undefined]);
    const run = (i: number): void => {
      if (this.sockets[id] === null) return;
      if (i === steps.length) {
        if (ca) this.uploadedCa = ca;
        this.cmd(`AT+QSSLOPEN=1,${SSL_CTX},${id},${quote(serverName ?? host)},${port},0`, onOk);
        return;
      }
      const [text, payload] = steps[i]!;
      this.at.send(text, { timeoutMs: this.timing.commandMs, ...(payload ? { payload } : {}) }, (r) => {
        // Deleting a file that is not there answers an error: harmless.
        if (!r.ok && !text.startsWith("AT+QFDEL")) {
          fail({ code: "ETLS", message: `TLS setup failed at ${text.split("=")[0]}: ${r.error ?? "?"}` });
          return;
        }
        run(i + 1);
      });
    };
    run(0);
  }

  /** @internal */
  sendChunk(id: number, cmds: SocketCommands, chunk: Uint8Array, done: (r: AtResponse) => void): void {
    this.stats.sendCommands++;
    this.at.send(`${cmds.send}=${id},${chunk.length}`, { timeoutMs: this.timing.commandMs * 5, payload: chunk }, done);
  }

  /** @internal */
  readChunk(id: number, cmds: SocketCommands, done: (r: AtResponse) => void): void {
    this.stats.readCommands++;
    this.at.send(`${cmds.read}=${id},${READ_CHUNK}`, { timeoutMs: this.timing.commandMs, dataLine: cmds.readLine }, done);
  }

  /** @internal */
  closeSocket(id: number, cmds: SocketCommands): void {
    if (this.closed || this._state === "resetting" || this._state === "booting") return;
    this.at.send(`${cmds.close}=${id}`, { timeoutMs: this.timing.closeMs }, () => undefined);
  }

  /** @internal */
  get up(): boolean {
    return this._state === "up" && !this.closed;
  }

  /** @internal */
  get timers(): Timers {
    return this.o.timers;
  }

  /** @internal */
  static commands(secure: boolean): SocketCommands {
    return secure ? QSSL : QI;
  }

  /** @internal */
  static readonly sendChunk = SEND_CHUNK;
  /** @internal */
  static readonly sendWindow = SEND_WINDOW;
}

/**
 * A TCP (or TLS) socket carried by the modem, in the HAL's TCP shape: the first onWritable means connected;
 * onReadable(n) when bytes arrived (read them); onError when it failed, the peer closed ("EOF") or the link
 * went down ("ENETDOWN", "ETIMEDOUT" for a stalled modem). Writes are split into AT+QISEND chunks of at most
 * 1460 bytes; received data is fetched with AT+QIRD after each +QIURC: "recv" until the modem's buffer is empty.
 */
class LteSocket implements TCP {
  private readonly id: number;
  private readonly cmds: SocketCommands;
  private state: "opening" | "open" | "dead" | "closed" = "opening";
  private budget = 0;
  private readonly outbox: Uint8Array[] = [];
  private sending = false;
  private reading = false;
  private readAgain = false;
  private peerClosed = false;
  private inbox = new Uint8Array(0);
  private openTimer: TimerId | 0 = 0;

  constructor(private readonly m: Bg95, private readonly options: TCPOptions) {
    if (!options || typeof options !== "object") throw new TypeError("TCP: options must be an object");
    const host = options.address ?? options.host;
    if (typeof host !== "string" || host.length === 0 || host.length > 255) throw new TypeError("TCP: host or address is required");
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new RangeError("port must be 1..65535");
    const sec = options.secure;
    if (sec && (sec.certificate !== undefined || sec.key !== undefined)) {
      throw new RangeError("TCP over LTE: client certificates are not supported (the key stays in the secure element)");
    }
    const ca = sec?.ca && sec.ca.length > 0 ? sec.ca.join("\n") : null;
    this.cmds = Bg95.commands(sec !== undefined);
    quote(host);
    const self = this;
    const id = m.up
      ? m.allocate({
          owner: this,
          cmds: this.cmds,
          opened: (err) => self.opened(err),
          recv: () => self.recv(),
          closedByPeer: () => self.closedByPeer(),
          fail: (e) => self.fail(e, false),
        })
      : -1;
    this.id = id;
    if (id < 0) {
      this.defer(() => this.fail(m.up ? { code: "EMFILE", message: "no free modem socket" } : { code: "ENETDOWN", message: `LTE link is not up (${m.reason})` }, false));
      return;
    }
    m.stats.socketsOpened++;
    this.openTimer = m.timers.set(() => {
      this.openTimer = 0;
      if (this.state === "opening") this.fail({ code: "ETIMEDOUT", message: "no +QIOPEN result in time" }, true);
    }, m.timing.openMs);
    m.open(id, host, options.port, ca, sec ? (sec.serverName ?? options.host ?? null) : null, (e) => this.fail(e, true));
  }

  get remoteAddress(): string | undefined {
    return this.options.address ?? this.options.host;
  }

  get remotePort(): number | undefined {
    return this.options.port;
  }

  private defer(fn: () => void): void {
    this.m.timers.set(fn, 0);
  }

  private opened(err: number): void {
    if (this.state !== "opening") return;
    if (this.openTimer) this.m.timers.clear(this.openTimer);
    this.openTimer = 0;
    if (err !== 0) {
      this.fail(qiError(err), true);
      return;
    }
    this.state = "open";
    this.budget = Bg95.sendWindow;
    this.options.onWritable?.call(this, this.budget);
  }

  read(byteLength?: number): ArrayBuffer {
    if (this.state === "closed") throw new Error("TCP: closed");
    if (byteLength !== undefined && !(Number.isInteger(byteLength) && byteLength >= 0)) throw new RangeError("byteLength must be a non-negative integer");
    const n = Math.min(byteLength ?? this.inbox.length, this.inbox.length);
    const out = this.inbox.slice(0, n);
    this.inbox = this.inbox.subarray(n);
    return out.buffer;
  }

  write(buffer: BufferLike): void {
    if (this.state === "closed") throw new Error("TCP: closed");
    if (this.state === "opening") throw new Error("TCP: not connected");
    const bytes = bytesOf(buffer);
    if (bytes.length > this.budget) throw new RangeError(`TCP: write of ${bytes.length} bytes exceeds the ${this.budget} allowed`);
    if (this.state === "dead") return;
    this.budget -= bytes.length;
    for (let at = 0; at < bytes.length; at += Bg95.sendChunk) this.outbox.push(bytes.slice(at, Math.min(bytes.length, at + Bg95.sendChunk)));
    this.pumpSend();
  }

  close(): void {
    if (this.state === "closed") return;
    const wasLive = this.state !== "dead" && this.id >= 0;
    this.state = "closed";
    if (this.openTimer) this.m.timers.clear(this.openTimer);
    this.openTimer = 0;
    if (this.id >= 0) {
      this.m.release(this.id, this);
      if (wasLive) this.m.closeSocket(this.id, this.cmds);
    }
  }

  private pumpSend(retries = 0): void {
    if (this.sending || this.state !== "open") return;
    const chunk = this.outbox[0];
    if (!chunk) return;
    this.sending = true;
    this.m.sendChunk(this.id, this.cmds, chunk, (r) => {
      this.sending = false;
      if (this.state !== "open") return;
      if (r.ok) {
        this.outbox.shift();
        this.budget += chunk.length;
        this.options.onWritable?.call(this, this.budget);
        this.pumpSend();
        return;
      }
      if (r.error === "SEND FAIL" && retries < 3) {
        // The modem's send buffer is full: try again shortly.
        this.m.timers.set(() => this.pumpSend(retries + 1), 500);
        return;
      }
      if (r.error === "timeout" || r.error === "reset") return; // the driver resets the modem and fails us
      this.fail(r.cme !== null ? qiError(r.cme) : { code: "EIO", message: `send failed: ${r.error ?? "?"}` }, true);
    });
  }

  private recv(): void {
    if (this.state !== "open") return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    this.m.readChunk(this.id, this.cmds, (r) => {
      this.reading = false;
      if (this.state !== "open") return;
      if (!r.ok) {
        if (r.error !== "timeout" && r.error !== "reset") this.fail({ code: "EIO", message: `read failed: ${r.error ?? "?"}` }, true);
        return;
      }
      const data = r.data;
      if (data && data.length > 0) {
        const merged = new Uint8Array(this.inbox.length + data.length);
        merged.set(this.inbox);
        merged.set(data, this.inbox.length);
        this.inbox = merged;
        this.readAgain = false;
        this.options.onReadable?.call(this, this.inbox.length);
        this.recv(); // buffer access mode: read until the modem's buffer is empty
        return;
      }
      if (this.readAgain) {
        this.readAgain = false;
        this.recv();
        return;
      }
      if (this.peerClosed) this.fail({ code: "EOF", message: "closed by peer" }, true);
    });
  }

  private closedByPeer(): void {
    if (this.state === "opening") {
      this.fail({ code: "ECONNRESET", message: "closed while opening" }, true);
      return;
    }
    this.peerClosed = true;
    // Data may still sit in the modem's buffer: read it first, then report EOF.
    this.recv();
  }

  private fail(error: HalError, closeInModem: boolean): void {
    if (this.state === "dead" || this.state === "closed") return;
    this.state = "dead";
    if (this.openTimer) this.m.timers.clear(this.openTimer);
    this.openTimer = 0;
    if (this.id >= 0) {
      this.m.release(this.id, this);
      if (closeInModem) this.m.closeSocket(this.id, this.cmds);
    }
    this.options.onError?.call(this, error);
  }
}
