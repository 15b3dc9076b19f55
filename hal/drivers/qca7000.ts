/**
 * QCA7000 / QCA7005 HomePlug Green PHY modem driver over ECMA-419 SPI (+ the chip's interrupt line): the host
 * side of the chip's "Ethernet over SPI" interface. Platform-neutral: runs on XS over embedded:io/spi and in CI
 * against the register-level model simulator/chips/qca7000.ts. Facts and their sources: qca7000/registers.ts.
 *
 * Protocol (burst mode, chip select held for a whole command):
 *  - internal register read: 16-bit command READ | INTERNAL | address, then 16 data bits out of the chip;
 *    write: WRITE | INTERNAL | address, then 16 data bits; MSB first;
 *  - frame write: BFR_SIZE := n, then WRITE | EXTERNAL followed by n bytes of QcaFrm-framed packets
 *    (SOF AA AA AA AA, FL little endian, RSVD 00 00, the Ethernet frame padded to ≥ 60 bytes, EOF 55 55); only
 *    when WRBUF_SPC_AVA has room for the framed packet plus the chip's 4-byte per-packet overhead;
 *  - frame read: n := RDBUF_BYTE_AVA, BFR_SIZE := n, READ | EXTERNAL then n bytes: for each frame a 4-byte length
 *    prefix, then the framed packet as above. The driver skips the prefix and trusts only SOF/FL/EOF.
 *
 * Synchronisation (the Linux qca_spi state machine, re-derived): UNKNOWN → read SIGNATURE; when it is 0xAA55 write
 * SPI_CONFIG.SLAVE_RESET → RESET: wait for INTR_CAUSE.CPU_ON (interrupt or poll) up to `resetTimeoutMs`, else
 * back to UNKNOWN → on CPU_ON read SIGNATURE twice and WRBUF_SPC_AVA (must be 3163: empty) → READY, interrupts
 * CPU_ON | PKT_AVLBL | RDBUF_ERR | WRBUF_ERR enabled. In READY every service starts with a SIGNATURE check: a
 * wrong one (a broken line reads 0xFFFF, a stuck one 0x0000, garbage anything) → UNKNOWN (then reset, resync).
 * Interrupt service: INTR_ENABLE := 0, read INTR_CAUSE, handle (CPU_ON while READY = the chip reset itself:
 * resync; RDBUF_ERR / WRBUF_ERR → UNKNOWN; PKT_AVLBL → read), write the cause back (clears it), enable again.
 * Leaving READY drops the transmit queue (the upper layers retransmit: SLAC retries, TCP) and reports once
 * through onError (at start only once the chip has had `resetTimeoutMs` to boot): "no-response" (signature 0xFFFF), "bad-signature", "reset-timeout", "chip-reset",
 * "buffer-error", "garbage" (an impossible buffer count).
 *
 * Work happens in `service()`: called from the interrupt line's onReadable, from write(), and from a poll timer
 * (every `pollMs`; with no interrupt line wired it also polls INTR_CAUSE). It never re-enters: a call during a
 * service (from a callback) is folded into the running one.
 */
import type { BufferLike, Digital, DigitalOptions, HalError, IoClass, Spi, Timers } from "../index.js";
import { DIGITAL_INPUT, DIGITAL_RISING } from "../io.js";
import * as Q from "./qca7000/registers.js";

export type Qca7000State = "unknown" | "reset" | "ready" | "closed";

export interface Qca7000Options {
  /** An open SPI instance addressing the chip (mode 3, 1..16 MHz); the driver owns it and closes it. */
  spi: Spi;
  timers: Timers;
  /** Monotonic ms (hal.clock.now). */
  now: () => number;
  /** The Digital class and the pin of the chip's interrupt output (rising edge); without them the driver polls. */
  Digital?: IoClass<DigitalOptions, Digital>;
  irqPin?: number;
  /** Service period, ms: sync retries, signature checks, and (without an interrupt line) INTR_CAUSE polling. Default 100 (20 when polling). */
  pollMs?: number;
  /** How long to wait for CPU_ON after a reset before starting over, ms. Default 1000. */
  resetTimeoutMs?: number;
  /** Frames the driver queues for the chip when its write buffer is full. Default 8. */
  txQueue?: number;
  /** Received frames kept until read(). Default 8; older ones are dropped when full. */
  rxQueue?: number;
  /** A frame (or more) can be read. */
  onReadable?: (this: Qca7000) => void;
  /** The transmit queue has room again (also called when the modem comes in sync). */
  onWritable?: (this: Qca7000) => void;
  /** The modem came in sync (true) or lost it (false). */
  onStatus?: (this: Qca7000, ready: boolean) => void;
  onError?: (this: Qca7000, error: HalError) => void;
}

export interface Qca7000Stats {
  /** Chip resets the driver triggered. */
  resets: number;
  /** Resets after which CPU_ON did not come within resetTimeoutMs. */
  resetTimeouts: number;
  /** Times the chip came in sync (CPU_ON with a good signature and an empty write buffer). */
  syncs: number;
  /** Times sync was lost. */
  syncLosses: number;
  interrupts: number;
  rxFrames: number;
  rxBytes: number;
  /** Framing errors in read buffers (bad SOF, length, EOF). */
  rxErrors: number;
  /** Received frames dropped because nobody read them. */
  rxDropped: number;
  txFrames: number;
  txBytes: number;
  /** Times a frame had to wait because the chip's write buffer had no room (back-pressure). */
  txBufferFull: number;
  /** Queued frames dropped when sync was lost. */
  txDropped: number;
  spiTransactions: number;
}

const ENABLED_INTERRUPTS = Q.SPI_INT_CPU_ON | Q.SPI_INT_PKT_AVLBL | Q.SPI_INT_RDBUF_ERR | Q.SPI_INT_WRBUF_ERR;
/** The longest framed packet: header + 1522 + footer. */
const MAX_FRAMED = Q.FRM_HEADER_LEN + Q.FRM_MAX_LEN + Q.FRM_FOOTER_LEN;

function bytesOf(buffer: BufferLike): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (buffer instanceof DataView) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new TypeError("qca7000: expected an ArrayBuffer, Uint8Array or DataView");
}

export class Qca7000 {
  readonly stats: Qca7000Stats = {
    resets: 0,
    resetTimeouts: 0,
    syncs: 0,
    syncLosses: 0,
    interrupts: 0,
    rxFrames: 0,
    rxBytes: 0,
    rxErrors: 0,
    rxDropped: 0,
    txFrames: 0,
    txBytes: 0,
    txBufferFull: 0,
    txDropped: 0,
    spiTransactions: 0,
  };
  private readonly spi: Spi;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly irq: Digital | null;
  private readonly pollMs: number;
  private readonly resetTimeoutMs: number;
  private readonly txMax: number;
  private readonly rxMax: number;
  private readonly cb: Qca7000Options;
  private _state: Qca7000State = "unknown";
  private resetAt = 0;
  /** When the driver last entered UNKNOWN (a chip still booting at power-on is not an error yet). */
  private unknownSince = 0;
  /** An error has been reported for the current out-of-sync episode. */
  private reported = false;
  private busy = false;
  private again = false;
  private irqPending = false;
  private pollTimer = -1;
  private retryTimer = -1;
  // Preallocated SPI buffers.
  private readonly reg4 = new Uint8Array(4);
  private readonly reg2 = new Uint8Array(2);
  private readonly cmd2 = new Uint8Array(2);
  private readonly rxBuf = new Uint8Array(Q.HW_BUF_LEN);
  private readonly txBuf = new Uint8Array(MAX_FRAMED);
  /** Queued frames: each a copy, padded to 60 bytes. */
  private readonly txq: Uint8Array[] = [];
  private readonly rxq: Uint8Array[] = [];

  constructor(options: Qca7000Options) {
    if (!options || typeof options !== "object") throw new TypeError("qca7000: options required");
    if (!options.spi || !options.timers || typeof options.now !== "function") throw new TypeError("qca7000: spi, timers and now are required");
    this.cb = options;
    this.spi = options.spi;
    this.timers = options.timers;
    this.now = options.now;
    this.unknownSince = options.now();
    const positive = (v: number | undefined, d: number, name: string): number => {
      if (v === undefined) return d;
      if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`qca7000: ${name} must be a positive integer`);
      return v;
    };
    this.txMax = positive(options.txQueue, 8, "txQueue");
    this.rxMax = positive(options.rxQueue, 8, "rxQueue");
    this.resetTimeoutMs = positive(options.resetTimeoutMs, 1000, "resetTimeoutMs");
    let irq: Digital | null = null;
    if (options.Digital && options.irqPin !== undefined) {
      const self = this;
      irq = new options.Digital({
        pin: options.irqPin,
        mode: DIGITAL_INPUT,
        edge: DIGITAL_RISING,
        onReadable() {
          self.interrupt();
        },
      });
    }
    this.irq = irq;
    this.pollMs = positive(options.pollMs, irq ? 100 : 20, "pollMs");
    const self = this;
    // The first service runs from the event loop, not inside the constructor.
    this.timers.set(() => self.service(), 0);
    this.pollTimer = this.timers.set(() => self.poll(), this.pollMs, this.pollMs);
  }

  get state(): Qca7000State {
    return this._state;
  }
  /** In sync: frames can be sent and are received. */
  get ready(): boolean {
    return this._state === "ready";
  }
  /** Free places in the transmit queue (0 when not in sync). */
  get writable(): number {
    return this._state === "ready" ? this.txMax - this.txq.length : 0;
  }
  /** Received frames waiting for read(). */
  get readable(): number {
    return this.rxq.length;
  }

  /** The next received Ethernet frame (no FCS), or undefined. */
  read(): Uint8Array | undefined {
    this.live();
    return this.rxq.shift();
  }

  /**
   * Queues an Ethernet frame (14..1522 bytes without FCS; shorter than 60 is zero-padded) and starts sending.
   * Throws RangeError for a bad length, Error when not in sync or when the queue is full (see writable / onWritable).
   */
  write(frame: BufferLike): void {
    this.live();
    const f = bytesOf(frame);
    if (f.length < 14 || f.length > Q.FRM_MAX_LEN) throw new RangeError(`qca7000: frame length ${f.length} outside 14..${Q.FRM_MAX_LEN}`);
    if (this._state !== "ready") throw new Error("qca7000: modem not in sync");
    if (this.txq.length >= this.txMax) throw new Error("qca7000: transmit queue full");
    this.enqueue(f);
    this.service();
  }

  /** FramePort (firmware/iso15118/link): write() that answers false instead of throwing for not-ready / full. */
  send(frame: Uint8Array): boolean {
    if (this._state !== "ready" || this.txq.length >= this.txMax) return false;
    this.write(frame);
    return true;
  }

  close(): void {
    if (this._state === "closed") return;
    if (this._state === "ready") {
      try {
        this.writeReg(Q.SPI_REG_INTR_ENABLE, 0);
      } catch {
        // the bus is going away anyway
      }
    }
    this._state = "closed";
    this.timers.clear(this.pollTimer);
    if (this.retryTimer >= 0) this.timers.clear(this.retryTimer);
    this.irq?.close();
    this.spi.close();
    this.txq.length = 0;
    this.rxq.length = 0;
  }

  /** The interrupt line rose. */
  interrupt(): void {
    if (this._state === "closed") return;
    this.stats.interrupts++;
    this.irqPending = true;
    this.service();
  }

  private poll(): void {
    if (!this.irq) this.irqPending = true;
    this.service();
  }

  /** Does whatever the chip needs now (sync, interrupt causes, receive, transmit). Never re-enters. */
  service(): void {
    if (this._state === "closed") return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      let rounds = 0;
      do {
        this.again = false;
        this.step();
      } while (this.again && ++rounds < 4 && !this.isClosed());
    } finally {
      this.busy = false;
    }
  }

  private isClosed(): boolean {
    return this._state === "closed";
  }

  private live(): void {
    if (this._state === "closed") throw new Error("qca7000: closed");
  }

  private enqueue(f: Uint8Array): void {
    const len = f.length < Q.FRM_MIN_LEN ? Q.FRM_MIN_LEN : f.length;
    const copy = new Uint8Array(len);
    copy.set(f);
    this.txq.push(copy);
  }

  // --- SPI primitives --------------------------------------------------------------------------------------

  private readReg(reg: number): number {
    const b = this.reg4;
    const cmd = Q.CMD_READ | Q.CMD_INTERNAL | reg;
    b[0] = cmd >> 8;
    b[1] = cmd & 0xff;
    b[2] = 0;
    b[3] = 0;
    this.spi.transfer(b);
    this.spi.flush();
    this.stats.spiTransactions++;
    return (b[2]! << 8) | b[3]!;
  }

  private writeReg(reg: number, value: number): void {
    const b = this.reg4;
    const cmd = Q.CMD_WRITE | Q.CMD_INTERNAL | reg;
    b[0] = cmd >> 8;
    b[1] = cmd & 0xff;
    b[2] = (value >> 8) & 0xff;
    b[3] = value & 0xff;
    this.spi.write(b);
    this.spi.flush();
    this.stats.spiTransactions++;
  }

  private external(read: boolean, data: Uint8Array): void {
    this.writeReg(Q.SPI_REG_BFR_SIZE, data.length);
    const c = this.cmd2;
    c[0] = (read ? Q.CMD_READ : Q.CMD_WRITE) >> 8;
    c[1] = 0;
    this.spi.write(c);
    if (read) this.spi.read(data);
    else this.spi.write(data);
    this.spi.flush();
    this.stats.spiTransactions++;
  }

  // --- state machine ---------------------------------------------------------------------------------------

  private step(): void {
    switch (this._state) {
      case "unknown":
        this.stepUnknown();
        return;
      case "reset":
        this.stepReset();
        return;
      case "ready":
        this.stepReady();
        return;
      default:
        return;
    }
  }

  private stepUnknown(): void {
    this.irqPending = false;
    const sig = this.readReg(Q.SPI_REG_SIGNATURE);
    if (sig !== Q.GOOD_SIGNATURE) {
      if (this.now() - this.unknownSince >= this.resetTimeoutMs) {
        this.report(sig === 0xffff ? "no-response" : "bad-signature", `signature 0x${sig.toString(16)} (expected 0xaa55)`);
      }
      return;
    }
    const cfg = this.readReg(Q.SPI_REG_SPI_CONFIG);
    this.writeReg(Q.SPI_REG_SPI_CONFIG, cfg | Q.SPI_CONFIG_SLAVE_RESET);
    this.stats.resets++;
    this._state = "reset";
    this.resetAt = this.now();
  }

  private stepReset(): void {
    this.irqPending = false;
    const cause = this.readReg(Q.SPI_REG_INTR_CAUSE);
    if (cause !== 0xffff && (cause & Q.SPI_INT_CPU_ON) !== 0) {
      this.cpuOn(cause);
      return;
    }
    if (this.now() - this.resetAt >= this.resetTimeoutMs) {
      this._state = "unknown";
      this.unknownSince = this.now();
      this.stats.resetTimeouts++;
      this.report("reset-timeout", `no CPU_ON within ${this.resetTimeoutMs} ms of a reset`);
    }
  }

  /** CPU_ON seen: check the signature twice and that the write buffer is empty, then enable interrupts. */
  private cpuOn(cause: number): void {
    this.readReg(Q.SPI_REG_SIGNATURE);
    const sig = this.readReg(Q.SPI_REG_SIGNATURE);
    if (sig !== Q.GOOD_SIGNATURE) {
      this.lose("bad-signature", `CPU_ON but signature 0x${sig.toString(16)}`);
      return;
    }
    const space = this.readReg(Q.SPI_REG_WRBUF_SPC_AVA);
    if (space !== Q.HW_BUF_LEN) {
      this.lose("buffer-error", `CPU_ON but write buffer space ${space} (expected ${Q.HW_BUF_LEN})`);
      return;
    }
    this.writeReg(Q.SPI_REG_INTR_CAUSE, cause);
    this.writeReg(Q.SPI_REG_INTR_ENABLE, ENABLED_INTERRUPTS);
    this._state = "ready";
    this.reported = false;
    this.stats.syncs++;
    this.cb.onStatus?.call(this, true);
    if (this._state === "ready") this.cb.onWritable?.call(this);
    // Frames may already be waiting (the chip had received them before we enabled the interrupt).
    if (this._state === "ready" && (cause & Q.SPI_INT_PKT_AVLBL) !== 0) this.receive();
  }

  private stepReady(): void {
    const sig = this.readReg(Q.SPI_REG_SIGNATURE);
    if (sig !== Q.GOOD_SIGNATURE) {
      this.lose(sig === 0xffff ? "no-response" : "bad-signature", `signature 0x${sig.toString(16)} (expected 0xaa55)`);
      return;
    }
    if (this.irqPending) {
      this.irqPending = false;
      this.writeReg(Q.SPI_REG_INTR_ENABLE, 0);
      const cause = this.readReg(Q.SPI_REG_INTR_CAUSE);
      if (cause & Q.SPI_INT_CPU_ON) {
        // The chip reset by itself (brown-out, watchdog): whatever was in its buffers is gone.
        this.report("chip-reset", "the modem reset itself (CPU_ON while in sync)");
        this.dropTx();
        this._state = "reset";
        this.resetAt = this.now();
        this.stats.syncLosses++;
        this.cb.onStatus?.call(this, false);
        if (this._state === "reset") this.cpuOn(cause);
        return;
      }
      if (cause & (Q.SPI_INT_RDBUF_ERR | Q.SPI_INT_WRBUF_ERR)) {
        this.lose("buffer-error", `INTR_CAUSE 0x${cause.toString(16)}`);
        return;
      }
      if (cause & Q.SPI_INT_PKT_AVLBL) this.receive();
      if (this._state !== "ready") return;
      this.writeReg(Q.SPI_REG_INTR_CAUSE, cause);
      this.writeReg(Q.SPI_REG_INTR_ENABLE, ENABLED_INTERRUPTS);
    }
    this.transmit();
  }

  /** Reads everything the chip has and unframes it. */
  private receive(): void {
    const avail = this.readReg(Q.SPI_REG_RDBUF_BYTE_AVA);
    if (avail === 0) return;
    if (avail > Q.HW_BUF_LEN) {
      this.lose("garbage", `read buffer count ${avail} > ${Q.HW_BUF_LEN}`);
      return;
    }
    const buf = this.rxBuf.subarray(0, avail);
    this.external(true, buf);
    let got = 0;
    let p = 0;
    while (p + Q.HW_PKT_LEN + Q.FRM_HEADER_LEN + Q.FRM_MIN_LEN + Q.FRM_FOOTER_LEN <= avail) {
      const s = p + Q.HW_PKT_LEN;
      if (buf[s] !== 0xaa || buf[s + 1] !== 0xaa || buf[s + 2] !== 0xaa || buf[s + 3] !== 0xaa) {
        this.stats.rxErrors++;
        p = this.hunt(buf, p + 1);
        continue;
      }
      const fl = buf[s + 4]! | (buf[s + 5]! << 8);
      const end = s + Q.FRM_HEADER_LEN + fl;
      if (fl < Q.FRM_MIN_LEN || fl > Q.FRM_MAX_LEN || end + Q.FRM_FOOTER_LEN > avail || buf[end] !== 0x55 || buf[end + 1] !== 0x55) {
        this.stats.rxErrors++;
        p = this.hunt(buf, p + 1);
        continue;
      }
      if (this.rxq.length >= this.rxMax) {
        this.rxq.shift();
        this.stats.rxDropped++;
      }
      this.rxq.push(buf.slice(s + Q.FRM_HEADER_LEN, end));
      this.stats.rxFrames++;
      this.stats.rxBytes += fl;
      got++;
      p = end + Q.FRM_FOOTER_LEN;
    }
    if (got === 0 && p === 0) this.stats.rxErrors++; // shorter than any framed packet
    if (got > 0) this.cb.onReadable?.call(this);
  }

  /** The next position whose SOF follows a 4-byte prefix, from `from` (or the end). */
  private hunt(buf: Uint8Array, from: number): number {
    for (let q = from; q + Q.HW_PKT_LEN + 4 <= buf.length; q++) {
      const s = q + Q.HW_PKT_LEN;
      if (buf[s] === 0xaa && buf[s + 1] === 0xaa && buf[s + 2] === 0xaa && buf[s + 3] === 0xaa && buf[s - 1] !== 0xaa) return q;
    }
    return buf.length;
  }

  /** Moves queued frames into the chip while its write buffer has room. */
  private transmit(): void {
    if (this.txq.length === 0) return;
    let space = this.readReg(Q.SPI_REG_WRBUF_SPC_AVA);
    if (space > Q.HW_BUF_LEN) {
      this.lose("garbage", `write buffer space ${space} > ${Q.HW_BUF_LEN}`);
      return;
    }
    const wasFull = this.txq.length >= this.txMax;
    let sent = 0;
    while (this.txq.length > 0) {
      const f = this.txq[0]!;
      const framed = Q.FRM_HEADER_LEN + f.length + Q.FRM_FOOTER_LEN;
      if (space < framed + Q.HW_PKT_LEN) {
        this.stats.txBufferFull++;
        this.scheduleRetry();
        break;
      }
      const b = this.txBuf;
      b[0] = b[1] = b[2] = b[3] = 0xaa;
      b[4] = f.length & 0xff;
      b[5] = f.length >> 8;
      b[6] = b[7] = 0;
      b.set(f, Q.FRM_HEADER_LEN);
      b[Q.FRM_HEADER_LEN + f.length] = 0x55;
      b[Q.FRM_HEADER_LEN + f.length + 1] = 0x55;
      this.external(false, b.subarray(0, framed));
      this.txq.shift();
      space -= framed + Q.HW_PKT_LEN;
      this.stats.txFrames++;
      this.stats.txBytes += f.length;
      sent++;
    }
    if (sent > 0 && wasFull && this._state === "ready") this.cb.onWritable?.call(this);
  }

  /** The chip's write buffer was full: look again soon (the kernel driver retries on its next event). */
  private scheduleRetry(): void {
    if (this.retryTimer >= 0) return;
    const self = this;
    this.retryTimer = this.timers.set(() => {
      self.retryTimer = -1;
      self.service();
    }, 5);
  }

  private dropTx(): void {
    this.stats.txDropped += this.txq.length;
    this.txq.length = 0;
  }

  /** Leaves sync: drop the queue, report once, and start over (UNKNOWN: signature, reset, CPU_ON). */
  private lose(code: string, message: string): void {
    const wasReady = this._state === "ready";
    this._state = "unknown";
    this.unknownSince = this.now();
    this.dropTx();
    if (wasReady) this.stats.syncLosses++;
    this.report(code, message);
    if (wasReady) this.cb.onStatus?.call(this, false);
  }

  private report(code: string, message: string): void {
    if (this.reported) return;
    this.reported = true;
    this.cb.onError?.call(this, { code, message: `qca7000: ${message}` });
  }
}
