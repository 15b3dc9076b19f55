/**
 * A Quectel BG95 as the host sees it on its UART: an AT command interpreter with echo, +CME errors, the
 * registration and PDP-context state, URCs, and sockets (AT+QIOPEN/QISEND/QIRD/QICLOSE, TLS through
 * AT+QSSLOPEN/QSSLSEND/QSSLRECV/QSSLCLOSE with a CA uploaded by AT+QFUPL) that are PROXIED to real sockets
 * through a simulated network of its own (simulator/net), so OCPP over simulated LTE reaches a real CSMS.
 *
 * Faults for scenarios: coverage lost/regained (registration and PDP context follow, with URCs), a stalled
 * firmware (the modem stops answering until reset through RESET_N), SIM removed, signal strength.
 *
 * Deterministic: every answer is scheduled in virtual time (a fixed processing latency plus the bytes' time on
 * the line at the configured baud rate); real socket events arrive through the network's posted callbacks.
 */
import type { BufferLike, Digital, DigitalOptions, LowLevelIo, LteModemWiring, Serial, SerialOptions, TCP } from "../../hal/index.js";
import type { ReplyPredicate, SimNetwork } from "../net/index.js";
import type { Scheduler } from "../scheduler.js";

export interface LteModemTiming {
  /** From RESET_N released to RDY. */
  bootMs: number;
  /** From coverage (or boot) to registered. */
  registerMs: number;
  /** AT+QIACT. */
  attachMs: number;
  /** Processing latency of a command. */
  responseMs: number;
  /** After coverage is lost, the network deactivates the PDP context this much later. */
  pdpDeactMs: number;
}

export const LTE_MODEM_TIMING: LteModemTiming = { bootMs: 5_000, registerMs: 3_000, attachMs: 800, responseMs: 20, pdpDeactMs: 1_000 };

interface ModemSocket {
  id: number;
  ssl: boolean;
  tcp: TCP | null;
  connected: boolean;
  closing: boolean;
  rx: Uint8Array;
  urcPending: boolean;
}

export interface LteModemStats {
  commands: number;
  errors: number;
  resets: number;
  bytesToHost: number;
  bytesFromHost: number;
  socketsOpened: number;
}

export class LteModemModel {
  readonly timing: LteModemTiming;
  readonly stats: LteModemStats = { commands: 0, errors: 0, resets: 0, bytesToHost: 0, bytesFromHost: 0, socketsOpened: 0 };
  /** Radio coverage: registration is possible. */
  private coverage = true;
  private simPresent = true;
  private stalled = false;
  /** +CSQ <rssi> (0..31). */
  csq = 20;
  private powered = false;
  private ready = false;
  private inReset = false;
  private echo = true;
  private cmee = 0;
  private ceregMode = 0;
  private cregMode = 0;
  private registered = false;
  private pdpActive = false;
  private apn = "";
  private readonly files = new Map<string, string>();
  private readonly sslCfg = { seclevel: 0, cacert: "" };
  private readonly sockets = new Map<number, ModemSocket>();
  private line = "";
  /** Data mode: bytes still expected and what to do with them. */
  private dataLeft = 0;
  private data: number[] = [];
  private dataDone: ((bytes: Uint8Array) => void) | null = null;
  private txFreeAt = 0;
  /** Bumped at every power cycle: scheduled work of an earlier power-on is dropped. */
  private epoch = 0;
  private sink: ((bytes: Uint8Array) => void) | null = null;
  private registerTimer = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly net: () => SimNetwork,
    private readonly baud: number,
    timing: Partial<LteModemTiming> = {},
  ) {
    this.timing = { ...LTE_MODEM_TIMING, ...timing };
  }

  /** The host's UART receiver (one per MCU boot); null detaches it. */
  connect(sink: ((bytes: Uint8Array) => void) | null): void {
    this.sink = sink;
  }

  /** Supply on (the board powers up): the modem boots. */
  powerOn(): void {
    if (this.powered) return;
    this.powered = true;
    this.boot();
  }

  /** The board lost power. */
  powerLost(): void {
    this.powered = false;
    this.shutdown();
  }

  /** RESET_N (through the board's inverting driver): 1 holds the modem in reset, 0 lets it run. */
  setReset(asserted: boolean): void {
    if (asserted === this.inReset) return;
    this.inReset = asserted;
    if (asserted) {
      this.stats.resets++;
      this.shutdown();
    } else if (this.powered) {
      this.boot();
    }
  }

  // ---- faults -----------------------------------------------------------------------------------------

  /** Coverage lost (false) or back (true). */
  setCoverage(on: boolean): void {
    if (this.coverage === on) return;
    this.coverage = on;
    if (!on) {
      if (this.registered) {
        this.registered = false;
        this.regUrc(2);
      }
      if (this.registerTimer) this.scheduler.cancel(this.registerTimer);
      this.registerTimer = 0;
      const e = this.epoch;
      this.scheduler.after(this.timing.pdpDeactMs, () => {
        if (e !== this.epoch || this.coverage || !this.pdpActive) return;
        this.pdpActive = false;
        this.dropSockets();
        this.emit('+QIURC: "pdpdeact",1');
      });
    } else {
      this.scheduleRegistration();
    }
  }

  /** The modem's firmware hangs: no answers, no URCs, until a reset. */
  stall(): void {
    this.stalled = true;
  }

  setSim(present: boolean): void {
    this.simPresent = present;
  }

  get state(): { powered: boolean; ready: boolean; registered: boolean; pdpActive: boolean; stalled: boolean; sockets: number } {
    return { powered: this.powered, ready: this.ready, registered: this.registered, pdpActive: this.pdpActive, stalled: this.stalled, sockets: this.sockets.size };
  }

  // ---- life cycle ---------------------------------------------------------------------------------------

  private shutdown(): void {
    this.epoch++;
    this.ready = false;
    this.stalled = false;
    this.registered = false;
    this.pdpActive = false;
    this.line = "";
    this.dataLeft = 0;
    this.dataDone = null;
    if (this.registerTimer) this.scheduler.cancel(this.registerTimer);
    this.registerTimer = 0;
    this.dropSockets();
  }

  private boot(): void {
    if (this.inReset || !this.powered) return;
    const e = this.epoch;
    this.echo = true;
    this.cmee = 0;
    this.ceregMode = 0;
    this.cregMode = 0;
    this.scheduler.after(this.timing.bootMs, () => {
      if (e !== this.epoch) return;
      this.ready = true;
      this.emit("RDY");
      this.scheduleRegistration();
    });
  }

  private scheduleRegistration(): void {
    if (!this.ready || !this.coverage || this.registered || this.registerTimer) return;
    const e = this.epoch;
    this.registerTimer = this.scheduler.after(this.timing.registerMs, () => {
      this.registerTimer = 0;
      if (e !== this.epoch || !this.coverage || !this.simPresent) return;
      this.registered = true;
      this.regUrc(1);
    });
  }

  private regUrc(stat: number): void {
    if (this.ceregMode >= 1) this.emit(`+CEREG: ${stat}`);
    if (this.cregMode >= 1) this.emit(`+CREG: ${stat}`);
  }

  private dropSockets(): void {
    for (const s of this.sockets.values()) {
      const t = s.tcp;
      s.tcp = null;
      t?.close();
    }
    this.sockets.clear();
  }

  // ---- the UART -----------------------------------------------------------------------------------------

  /** Bytes from the host. */
  input(bytes: Uint8Array): void {
    this.stats.bytesFromHost += bytes.length;
    if (!this.powered || this.inReset || !this.ready || this.stalled) return;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (this.dataLeft > 0) {
        this.data.push(b);
        if (--this.dataLeft === 0) {
          const done = this.dataDone!;
          const got = Uint8Array.from(this.data);
          this.data = [];
          this.dataDone = null;
          done(got);
        }
        continue;
      }
      if (b === 13) {
        const text = this.line;
        this.line = "";
        if (text.length > 0) this.command(text);
      } else if (b !== 10 && this.line.length < 2048) {
        this.line += String.fromCharCode(b);
      }
    }
  }

  /** Sends bytes to the host after `delay` ms plus their time on the line (in order). */
  private send(bytes: Uint8Array, delay = 0): void {
    const e = this.epoch;
    const lineMs = Math.ceil((bytes.length * 10 * 1000) / this.baud);
    const start = Math.max(this.scheduler.now + delay, this.txFreeAt);
    this.txFreeAt = start + lineMs;
    this.scheduler.at(this.txFreeAt, () => {
      if (e !== this.epoch || this.stalled) return;
      this.stats.bytesToHost += bytes.length;
      this.sink?.(bytes);
    });
  }

  private text(s: string): Uint8Array {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
    return out;
  }

  /** A result line (CR LF before and after, as the modem frames them). */
  private emit(line: string, delay = 0): void {
    this.send(this.text(`\r\n${line}\r\n`), delay);
  }

  private ok(delay = this.timing.responseMs): void {
    this.emit("OK", delay);
  }

  private error(cme?: number): void {
    this.stats.errors++;
    if (cme !== undefined && this.cmee === 1) this.emit(`+CME ERROR: ${cme}`, this.timing.responseMs);
    else this.emit("ERROR", this.timing.responseMs);
  }

  private expectData(n: number, done: (bytes: Uint8Array) => void): void {
    this.dataLeft = n;
    this.data = [];
    this.dataDone = done;
  }

  // ---- commands ---------------------------------------------------------------------------------------------

  private command(text: string): void {
    this.stats.commands++;
    if (this.echo) this.send(this.text(`${text}\r`));
    const up = text.toUpperCase();
    if (!up.startsWith("AT")) return this.error();
    const body = text.slice(2);
    const bodyUp = up.slice(2);
    if (body === "") return this.ok();
    if (bodyUp === "E0" || bodyUp === "E1") {
      this.echo = bodyUp === "E1";
      return this.ok();
    }
    const m = /^\+([A-Z]+)(=\?|\?|=(.*))?$/.exec(bodyUp);
    if (!m) return this.error();
    const name = m[1]!;
    const query = m[2] === "?";
    const args = m[3] !== undefined ? splitArgs(body.slice(body.indexOf("=") + 1)) : [];
    switch (name) {
      case "CMEE":
        if (args.length !== 1 || !["0", "1", "2"].includes(args[0]!)) return this.error(50);
        this.cmee = Number(args[0]) === 2 ? 1 : Number(args[0]);
        return this.ok();
      case "CPIN":
        if (!query) return this.error(50);
        if (!this.simPresent) return this.error(10);
        this.emit("+CPIN: READY", this.timing.responseMs);
        return this.ok();
      case "CEREG":
      case "CREG": {
        if (query) {
          const mode = name === "CEREG" ? this.ceregMode : this.cregMode;
          this.emit(`+${name}: ${mode},${this.registered ? 1 : this.coverage && this.simPresent ? 2 : 0}`, this.timing.responseMs);
          return this.ok();
        }
        if (args.length !== 1 || !["0", "1", "2"].includes(args[0]!)) return this.error(50);
        if (name === "CEREG") this.ceregMode = Number(args[0]);
        else this.cregMode = Number(args[0]);
        return this.ok();
      }
      case "CSQ":
        this.emit(`+CSQ: ${this.registered ? this.csq : 99},99`, this.timing.responseMs);
        return this.ok();
      case "QICSGP":
        if (args.length < 3 || args[0] !== "1") return this.error(50);
        this.apn = args[2]!;
        return this.ok();
      case "QIACT":
        if (query) {
          if (this.pdpActive) this.emit(`+QIACT: 1,1,1,"10.64.0.7"`, this.timing.responseMs);
          return this.ok();
        }
        if (args[0] !== "1") return this.error(50);
        if (!this.registered || this.apn === "") return this.error();
        {
          const e = this.epoch;
          this.scheduler.after(this.timing.attachMs, () => {
            if (e !== this.epoch) return;
            if (!this.registered) {
              this.error();
              return;
            }
            this.pdpActive = true;
            this.ok(0);
          });
        }
        return;
      case "QIDEACT":
        this.pdpActive = false;
        this.dropSockets();
        return this.ok();
      case "QIOPEN":
        return this.open(args, false);
      case "QSSLOPEN":
        return this.open(args.slice(1), true);
      case "QISEND":
      case "QSSLSEND":
        return this.sendData(args, name === "QSSLSEND");
      case "QIRD":
      case "QSSLRECV":
        return this.readData(args, name === "QSSLRECV");
      case "QICLOSE":
      case "QSSLCLOSE": {
        const id = Number(args[0]);
        const s = this.sockets.get(id);
        if (s) {
          this.sockets.delete(id);
          s.tcp?.close();
          s.tcp = null;
        }
        return this.ok();
      }
      case "QFDEL": {
        if (!this.files.delete(args[0] ?? "")) return this.error(405);
        return this.ok();
      }
      case "QFUPL": {
        const name0 = args[0] ?? "";
        const size = Number(args[1]);
        if (!name0.startsWith("UFS:") || !Number.isInteger(size) || size <= 0 || size > 65536) return this.error(50);
        if (this.files.has(name0)) return this.error(407);
        this.emit("CONNECT", this.timing.responseMs);
        this.expectData(size, (bytes) => {
          let s = "";
          let sum = 0;
          for (const b of bytes) {
            s += String.fromCharCode(b);
            sum ^= b;
          }
          this.files.set(name0, s);
          this.emit(`+QFUPL: ${size},${sum.toString(16)}`, this.timing.responseMs);
          this.ok();
        });
        return;
      }
      case "QSSLCFG": {
        const what = (args[0] ?? "").toLowerCase();
        if (what === "seclevel") this.sslCfg.seclevel = Number(args[2]);
        else if (what === "cacert") this.sslCfg.cacert = args[2] ?? "";
        else if (!["sslversion", "sni", "ciphersuite"].includes(what)) return this.error(50);
        return this.ok();
      }
      default:
        return this.error();
    }
  }

  private open(args: string[], ssl: boolean): void {
    // AT+QIOPEN=<contextID>,<connectID>,"TCP",<host>,<port>,<local_port>,<access_mode>
    // AT+QSSLOPEN=<pdpctxID>,<sslctxID>,<clientID>,<host>,<port>,<access_mode>   (ssl: args without pdpctxID)
    const id = Number(ssl ? args[1] : args[1]);
    const host = ssl ? args[2] : args[3];
    const port = Number(ssl ? args[3] : args[4]);
    if (!Number.isInteger(id) || id < 0 || id > 11 || !host || !Number.isInteger(port) || port < 1 || port > 65535) return this.error(50);
    if (!ssl && (args[2] ?? "").toUpperCase() !== "TCP") return this.error(50);
    if (!this.pdpActive) return this.error();
    this.ok();
    const urc = ssl ? "+QSSLOPEN" : "+QIOPEN";
    if (this.sockets.has(id)) {
      this.emit(`${urc}: ${id},563`, this.timing.responseMs);
      return;
    }
    const s: ModemSocket = { id, ssl, tcp: null, connected: false, closing: false, rx: new Uint8Array(0), urcPending: false };
    this.sockets.set(id, s);
    this.stats.socketsOpened++;
    const self = this;
    const e = this.epoch;
    let secure: { ca: string[]; serverName: string } | undefined;
    if (ssl) {
      const ca = this.files.get(this.sslCfg.cacert);
      if (this.sslCfg.seclevel !== 1 || !ca) {
        this.emit(`${urc}: ${id},555`, this.timing.responseMs);
        this.sockets.delete(id);
        return;
      }
      secure = { ca: [ca], serverName: host };
    }
    const live = () => e === self.epoch && self.sockets.get(id) === s;
    s.tcp = new (this.net().TCP)({
      host,
      port,
      ...(secure ? { secure } : {}),
      onWritable() {
        if (!live() || s.connected) return;
        s.connected = true;
        self.emit(`${urc}: ${id},0`);
      },
      onReadable() {
        if (!live()) return;
        const chunk = new Uint8Array(this.read());
        const merged = new Uint8Array(s.rx.length + chunk.length);
        merged.set(s.rx);
        merged.set(chunk, s.rx.length);
        s.rx = merged;
        if (!s.urcPending) {
          s.urcPending = true;
          self.emit(`+${ssl ? "QSSLURC" : "QIURC"}: "recv",${id}`);
        }
      },
      onError(err) {
        if (!live()) return;
        const t = s.tcp;
        s.tcp = null;
        t?.close();
        if (!s.connected) {
          self.sockets.delete(id);
          const code = err.code === "ENOTFOUND" ? 565 : err.code === "ETLS" ? 555 : 566;
          self.emit(`${urc}: ${id},${code}`);
          return;
        }
        s.closing = true;
        self.emit(`+${ssl ? "QSSLURC" : "QIURC"}: "closed",${id}`);
      },
    });
  }

  private sendData(args: string[], ssl: boolean): void {
    const id = Number(args[0]);
    const n = Number(args[1]);
    const s = this.sockets.get(id);
    if (!s || s.ssl !== ssl || !Number.isInteger(n) || n < 1 || n > 1460) return this.error(50);
    if (!s.connected || s.closing || !s.tcp) return this.error();
    this.send(this.text("> "), this.timing.responseMs);
    this.expectData(n, (bytes) => {
      const t = s.tcp;
      if (!t || s.closing || this.sockets.get(id) !== s) {
        this.emit("SEND FAIL", this.timing.responseMs);
        return;
      }
      try {
        t.write(bytes);
      } catch {
        this.emit("SEND FAIL", this.timing.responseMs);
        return;
      }
      this.emit("SEND OK", this.timing.responseMs);
    });
  }

  private readData(args: string[], ssl: boolean): void {
    const id = Number(args[0]);
    const max = args[1] !== undefined ? Number(args[1]) : 1500;
    const s = this.sockets.get(id);
    if (!s || s.ssl !== ssl || !Number.isInteger(max) || max < 0 || max > 1500) return this.error(50);
    const n = Math.min(max, s.rx.length);
    const tag = ssl ? "+QSSLRECV" : "+QIRD";
    if (n === 0) {
      s.urcPending = false;
      this.emit(`${tag}: 0`, this.timing.responseMs);
      this.ok(0);
      return;
    }
    const data = s.rx.slice(0, n);
    s.rx = s.rx.subarray(n);
    const head = this.text(`\r\n${tag}: ${n}\r\n`);
    const tail = this.text("\r\nOK\r\n");
    const out = new Uint8Array(head.length + n + tail.length);
    out.set(head);
    out.set(data, head.length);
    out.set(tail, head.length + n);
    this.send(out, this.timing.responseMs);
  }
}

/** Splits AT arguments at commas outside quotes; quotes are removed. */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let q = false;
  for (const ch of s) {
    if (ch === '"') q = !q;
    else if (ch === "," && !q) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/**
 * The reply predicate of the modem's network: the modem's sockets carry the firmware's WebSocket frames, so
 * holds follow the frames: the HTTP upgrade, a masked text frame that starts an OCPP CALL ("[2,"), a ping and
 * a close are answered by the peer. Stateful across writes (a frame longer than one AT+QISEND chunk).
 */
export function webSocketStreamExpectsReply(): ReplyPredicate {
  let skip = 0;
  return (data) => {
    if (typeof data === "string") return /^\s*\[\s*2\s*,/.test(data);
    const b = new Uint8Array(data);
    if (b.length >= 4 && b[0] === 0x47 && b[1] === 0x45 && b[2] === 0x54 && b[3] === 0x20) {
      skip = 0;
      return true;
    }
    let i = 0;
    let expects = false;
    while (i < b.length) {
      if (skip > 0) {
        const n = Math.min(skip, b.length - i);
        skip -= n;
        i += n;
        continue;
      }
      if (b.length - i < 2) break;
      const op = b[i]! & 0x0f;
      const masked = (b[i + 1]! & 0x80) !== 0;
      let len = b[i + 1]! & 0x7f;
      let h = 2;
      if (len === 126) {
        if (b.length - i < 4) break;
        len = (b[i + 2]! << 8) | b[i + 3]!;
        h = 4;
      } else if (len === 127) {
        if (b.length - i < 10) break;
        len = ((b[i + 6]! << 24) >>> 0) + (b[i + 7]! << 16) + (b[i + 8]! << 8) + b[i + 9]!;
        h = 10;
      }
      const maskAt = i + h;
      if (masked) h += 4;
      if (op === 8 || op === 9) expects = true;
      if (op === 1) {
        let text = "";
        for (let k = 0; k < Math.min(len, 8) && i + h + k < b.length; k++) {
          const m = masked ? b[maskAt + (k & 3)]! : 0;
          text += String.fromCharCode(b[i + h + k]! ^ m);
        }
        if (/^\s*\[\s*2\s*,/.test(text)) expects = true;
      }
      i += h;
      skip = len;
    }
    return expects;
  };
}

/**
 * The modem's side of the board's low-level IO for one MCU boot: the UART on the modem's port (Serial) and
 * the Digital class with the modem's RESET_N drive routed to the model (other pins go to `base`).
 */
export function modemIo(
  model: LteModemModel,
  wiring: LteModemWiring,
  base: Pick<Required<LowLevelIo>, "Digital">,
  check: () => void,
  deliver: (fn: () => void) => void,
): Pick<Required<LowLevelIo>, "Serial" | "Digital"> {
  class SimSerial implements Serial {
    private closed = false;
    private rx = new Uint8Array(0);
    private readonly options: SerialOptions;
    constructor(options: SerialOptions) {
      check();
      if (!options || typeof options !== "object") throw new TypeError("Serial: options required");
      if (!Number.isInteger(options.baud) || options.baud < 300 || options.baud > 4_000_000) throw new RangeError("Serial: baud must be 300..4000000");
      if ((options.port ?? 0) !== (wiring.serial.port ?? 0)) throw new RangeError(`Serial: nothing on port ${String(options.port)}`);
      this.options = options;
      const self = this;
      model.connect((bytes) => {
        if (self.closed) return;
        const merged = new Uint8Array(self.rx.length + bytes.length);
        merged.set(self.rx);
        merged.set(bytes, self.rx.length);
        self.rx = merged;
        const cb = self.options.onReadable;
        if (cb) deliver(() => (self.closed || self.rx.length === 0 ? undefined : cb.call(self, self.rx.length)));
      });
      const w = options.onWritable;
      if (w) deliver(() => (self.closed ? undefined : w.call(self, 4096)));
    }
    read(byteLength?: number): ArrayBuffer {
      check();
      if (this.closed) throw new Error("Serial: closed");
      const n = Math.min(byteLength ?? this.rx.length, this.rx.length);
      const out = this.rx.slice(0, n);
      this.rx = this.rx.subarray(n);
      return out.buffer;
    }
    write(buffer: BufferLike): void {
      check();
      if (this.closed) throw new Error("Serial: closed");
      const bytes =
        buffer instanceof Uint8Array
          ? buffer.slice()
          : buffer instanceof ArrayBuffer
            ? new Uint8Array(buffer.slice(0))
            : buffer instanceof DataView
              ? new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength))
              : null;
      if (!bytes) throw new TypeError("Serial: expected an ArrayBuffer, Uint8Array or DataView");
      model.input(bytes);
    }
    flush(): void {
      check();
      this.rx = new Uint8Array(0);
    }
    close(): void {
      if (this.closed) return;
      this.closed = true;
      model.connect(null);
    }
  }
  const Base = base.Digital;
  class ModemDigital implements Digital {
    private readonly inner: Digital | null;
    private readonly resetLine: boolean;
    private value: 0 | 1 = 0;
    constructor(options: DigitalOptions) {
      check();
      this.resetLine = options && options.pin === wiring.reset;
      this.inner = this.resetLine ? null : new Base(options);
    }
    read(): 0 | 1 {
      return this.inner ? this.inner.read() : this.value;
    }
    write(value: 0 | 1): void {
      if (this.inner) return this.inner.write(value);
      check();
      if (value !== 0 && value !== 1) throw new RangeError("Digital: value must be 0 or 1");
      this.value = value;
      model.setReset(value === 1);
    }
    close(): void {
      this.inner?.close();
    }
  }
  return { Serial: SimSerial, Digital: ModemDigital };
}
