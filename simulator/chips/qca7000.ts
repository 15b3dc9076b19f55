/**
 * A register-level model of the QCA7000's SPI host interface (burst mode), in front of a HomePlug modem
 * (homeplug.ts). The driver under test is the one that ships (hal/drivers/qca7000.ts). Facts:
 * hal/drivers/qca7000/registers.ts (Linux qca_7k.h / qca_spi.c, I2SE AN4, open-plc-utils docs).
 *
 * Byte by byte, chip select framing one command:
 *  - a 16-bit command word, MSB first (bit 15 read, bit 14 internal, low bits the register); MISO is 0 meanwhile;
 *  - internal read: the register's 16 bits follow; internal write: 16 data bits, applied when complete;
 *  - external write: up to BFR_SIZE bytes into the write buffer; more than BFR_SIZE, or more than the space left,
 *    sets WRBUF_ERR; complete QcaFrm packets (SOF AAAAAAAA, FL LE, RSVD, frame, EOF 5555) are parsed at
 *    deselect and each occupies framed length + 4 bytes until the modem has sent it (`txDelayMs` each, or never
 *    while `holdTx`); a malformed packet sets WRBUF_ERR and is discarded;
 *  - external read: up to BFR_SIZE bytes out of the read buffer, where each received frame is a 4-byte little-
 *    endian length of the framed packet followed by the framed packet; reading past the data sets RDBUF_ERR;
 *  - RDBUF_BYTE_AVA = bytes in the read buffer; WRBUF_SPC_AVA = 3163 − bytes held; SIGNATURE = 0xAA55;
 *    INTR_CAUSE bits are cleared by writing them back; INTR_ENABLE masks the interrupt output, which is high
 *    while (cause & enable) ≠ 0 (an InputLine wired to an MCU pin);
 *  - SPI_CONFIG bit 6 (SLAVE_RESET) resets the chip: buffers emptied, the modem's network forgotten, the SPI
 *    port dead (MISO floats: 0xFF) for `bootMs`; then CPU_ON is raised. Model assumption: CPU_ON is enabled in
 *    INTR_ENABLE after boot so the host sees the interrupt (the driver also polls INTR_CAUSE while waiting);
 *  - a received frame that does not fit the read buffer (3163 bytes) is dropped (`stats.rxOverflow`).
 *
 * Faults of the line, `fault`: "none", "silent" (nothing drives MISO: 0xFF), "garbage" (MISO carries seeded
 * random bytes), "stuck" (MISO stuck low). The chip still hears MOSI. `spontaneousReset()` is a chip that resets
 * by itself (brown-out, firmware watchdog).
 */
import * as Q from "../../hal/drivers/qca7000/registers.js";
import type { Rng } from "../rng.js";
import { HomePlugModem, type SimClock } from "./homeplug.js";
import { InputLine, type SpiDevice } from "./io.js";

export type QcaLineFault = "none" | "silent" | "garbage" | "stuck";

export interface Qca7000ChipOptions {
  modem: HomePlugModem;
  clock: SimClock;
  rng: Rng;
  /** Time from reset to CPU_ON, ms. Default 50. */
  bootMs?: number;
  /** Time the modem takes to send one frame out of the write buffer, ms. Default 1. */
  txDelayMs?: number;
}

export interface Qca7000ChipStats {
  transactions: number;
  resets: number;
  framesFromHost: number;
  framesToHost: number;
  /** Frames dropped because the read buffer was full. */
  rxOverflow: number;
  wrbufErrors: number;
  rdbufErrors: number;
}

type Phase = "cmd" | "regRead" | "regWrite" | "extWrite" | "extRead" | "ignore";

export class Qca7000Chip implements SpiDevice {
  fault: QcaLineFault = "none";
  /** While true the modem does not send: the write buffer fills (back-pressure). */
  holdTx = false;
  /** This many SLAVE_RESET requests are ignored (a reset that does not take). */
  ignoreResets = 0;
  /** The interrupt output (wire it to an MCU input pin). */
  readonly irq = new InputLine(0);
  readonly stats: Qca7000ChipStats = { transactions: 0, resets: 0, framesFromHost: 0, framesToHost: 0, rxOverflow: 0, wrbufErrors: 0, rdbufErrors: 0 };
  readonly modem: HomePlugModem;
  private booted = false;
  private generation = 0;
  private cause = 0;
  private enable = 0;
  private bfrSize = 0;
  private spiConfig = 0;
  private wrWatermark = 0;
  private rdWatermark = 0;
  /** Read buffer bytes (prefix + framed packets). */
  private rd: number[] = [];
  /** Frames accepted from the host and not yet sent: their sizes in the write buffer. */
  private wrFrames: Uint8Array[] = [];
  private wrHeld = 0;
  private sending = false;
  // transaction state
  private phase: Phase = "cmd";
  private cmd = 0;
  private count = 0;
  private regOut = 0;
  private wdata = 0;
  private ext: number[] = [];
  private readonly bootMs: number;
  private readonly txDelayMs: number;

  constructor(private readonly o: Qca7000ChipOptions) {
    this.modem = o.modem;
    this.bootMs = o.bootMs ?? 50;
    this.txDelayMs = o.txDelayMs ?? 1;
    const self = this;
    this.modem.onHostFrame = (f) => self.fromModem(f);
    this.reset();
  }

  /** Bytes in the write buffer (framed + 4 per frame). */
  get writeBufferUsed(): number {
    return this.wrHeld;
  }
  get readBufferBytes(): number {
    return this.rd.length;
  }
  get isBooted(): boolean {
    return this.booted;
  }

  /** Power-on / SLAVE_RESET: everything cleared; CPU_ON after bootMs. */
  reset(): void {
    this.stats.resets++;
    this.generation++;
    this.booted = false;
    this.cause = 0;
    this.enable = 0;
    this.bfrSize = 0;
    this.spiConfig = 0;
    this.rd = [];
    this.wrFrames = [];
    this.wrHeld = 0;
    this.sending = false;
    this.modem.up = false;
    this.modem.resetState();
    this.updateIrq();
    const gen = this.generation;
    const self = this;
    this.o.clock.after(this.bootMs, () => {
      if (self.generation !== gen) return;
      self.booted = true;
      self.modem.up = true;
      self.enable = Q.SPI_INT_CPU_ON;
      self.raise(Q.SPI_INT_CPU_ON);
    });
  }

  /** The chip resets by itself (not asked by the host). */
  spontaneousReset(): void {
    this.reset();
  }

  /** Releases held frames (after holdTx = false). */
  kick(): void {
    this.pump();
  }

  // --- SPI -------------------------------------------------------------------------------------------------

  select(): void {
    this.phase = "cmd";
    this.count = 0;
    this.cmd = 0;
    this.ext = [];
  }

  deselect(): void {
    if (this.booted && this.phase === "extWrite") this.acceptWrite(this.ext);
    this.phase = "cmd";
    this.count = 0;
    this.ext = [];
    this.stats.transactions++;
  }

  exchange(mosi: number): number {
    const out = this.booted ? this.shift(mosi & 0xff) : 0xff;
    switch (this.fault) {
      case "silent":
        return 0xff;
      case "stuck":
        return 0x00;
      case "garbage":
        return this.o.rng.next() & 0xff;
      default:
        return out;
    }
  }

  private shift(mosi: number): number {
    switch (this.phase) {
      case "cmd": {
        this.cmd = ((this.cmd << 8) | mosi) & 0xffff;
        if (++this.count < 2) return 0;
        this.count = 0;
        const read = (this.cmd & Q.CMD_READ) !== 0;
        const internal = (this.cmd & Q.CMD_INTERNAL) !== 0;
        const reg = this.cmd & Q.CMD_ADDR_MASK;
        if (internal) {
          if (read) {
            this.regOut = this.readReg(reg);
            this.phase = "regRead";
          } else {
            this.wdata = 0;
            this.phase = "regWrite";
          }
        } else if (reg !== 0) {
          this.raise(Q.SPI_INT_ADDR_ERR);
          this.phase = "ignore";
        } else {
          this.phase = read ? "extRead" : "extWrite";
        }
        return 0;
      }
      case "regRead": {
        const b = this.count === 0 ? this.regOut >> 8 : this.count === 1 ? this.regOut & 0xff : 0;
        this.count++;
        return b;
      }
      case "regWrite": {
        if (this.count < 2) this.wdata = ((this.wdata << 8) | mosi) & 0xffff;
        if (++this.count === 2) this.writeReg(this.cmd & Q.CMD_ADDR_MASK, this.wdata);
        return 0;
      }
      case "extWrite": {
        if (this.ext.length >= this.bfrSize || this.wrHeld + this.ext.length >= Q.HW_BUF_LEN) {
          if (this.phase === "extWrite") this.wrbufError();
          return 0;
        }
        this.ext.push(mosi);
        return 0;
      }
      case "extRead": {
        if (this.count >= this.bfrSize || this.rd.length === 0) {
          this.count++;
          this.stats.rdbufErrors++;
          this.raise(Q.SPI_INT_RDBUF_ERR);
          this.phase = "ignore";
          return 0;
        }
        this.count++;
        return this.rd.shift()!;
      }
      default:
        return 0;
    }
  }

  private readReg(reg: number): number {
    switch (reg) {
      case Q.SPI_REG_BFR_SIZE:
        return this.bfrSize;
      case Q.SPI_REG_WRBUF_SPC_AVA:
        return Q.HW_BUF_LEN - this.wrHeld;
      case Q.SPI_REG_RDBUF_BYTE_AVA:
        return this.rd.length;
      case Q.SPI_REG_SPI_CONFIG:
        return this.spiConfig;
      case Q.SPI_REG_SPI_STATUS:
        return 0;
      case Q.SPI_REG_INTR_CAUSE:
        return this.cause;
      case Q.SPI_REG_INTR_ENABLE:
        return this.enable;
      case Q.SPI_REG_RDBUF_WATERMARK:
        return this.rdWatermark;
      case Q.SPI_REG_WRBUF_WATERMARK:
        return this.wrWatermark;
      case Q.SPI_REG_SIGNATURE:
        return Q.GOOD_SIGNATURE;
      case Q.SPI_REG_ACTION_CTRL:
        return 0;
      default:
        this.raise(Q.SPI_INT_ADDR_ERR);
        return 0;
    }
  }

  private writeReg(reg: number, v: number): void {
    switch (reg) {
      case Q.SPI_REG_BFR_SIZE:
        this.bfrSize = v;
        return;
      case Q.SPI_REG_SPI_CONFIG:
        this.spiConfig = v & ~Q.SPI_CONFIG_SLAVE_RESET;
        if (v & Q.SPI_CONFIG_SLAVE_RESET) {
          if (this.ignoreResets > 0) this.ignoreResets--;
          else this.reset();
        }
        return;
      case Q.SPI_REG_INTR_CAUSE:
        this.cause &= ~v;
        this.updateIrq();
        return;
      case Q.SPI_REG_INTR_ENABLE:
        this.enable = v;
        this.updateIrq();
        return;
      case Q.SPI_REG_RDBUF_WATERMARK:
        this.rdWatermark = v;
        return;
      case Q.SPI_REG_WRBUF_WATERMARK:
        this.wrWatermark = v;
        return;
      case Q.SPI_REG_ACTION_CTRL:
        return;
      default:
        this.raise(Q.SPI_INT_ADDR_ERR);
    }
  }

  private raise(bits: number): void {
    this.cause |= bits;
    this.updateIrq();
  }

  private updateIrq(): void {
    this.irq.set(this.booted && (this.cause & this.enable) !== 0 ? 1 : 0);
  }

  private wrbufError(): void {
    this.stats.wrbufErrors++;
    this.raise(Q.SPI_INT_WRBUF_ERR);
    this.phase = "ignore";
  }

  /** Parses complete framed packets written by the host into the write buffer. */
  private acceptWrite(bytes: number[]): void {
    let p = 0;
    while (p < bytes.length) {
      if (bytes.length - p < Q.FRM_HEADER_LEN + Q.FRM_FOOTER_LEN) return this.wrbufError();
      for (let k = 0; k < 4; k++) if (bytes[p + k] !== Q.FRM_SOF_BYTE) return this.wrbufError();
      const fl = bytes[p + 4]! | (bytes[p + 5]! << 8);
      const end = p + Q.FRM_HEADER_LEN + fl;
      if (fl < Q.FRM_MIN_LEN || fl > Q.FRM_MAX_LEN || end + 2 > bytes.length) return this.wrbufError();
      if (bytes[end] !== Q.FRM_EOF_BYTE || bytes[end + 1] !== Q.FRM_EOF_BYTE) return this.wrbufError();
      const frame = Uint8Array.from(bytes.slice(p + Q.FRM_HEADER_LEN, end));
      this.wrFrames.push(frame);
      this.wrHeld += fl + Q.FRM_HEADER_LEN + Q.FRM_FOOTER_LEN + Q.HW_PKT_LEN;
      this.stats.framesFromHost++;
      p = end + 2;
    }
    this.pump();
  }

  /** Sends frames out of the write buffer, one per txDelayMs. */
  private pump(): void {
    if (this.sending || this.holdTx || this.wrFrames.length === 0 || !this.booted) return;
    this.sending = true;
    const gen = this.generation;
    const self = this;
    this.o.clock.after(this.txDelayMs, () => {
      if (self.generation !== gen) return;
      self.sending = false;
      if (self.holdTx) return;
      const f = self.wrFrames.shift();
      if (!f) return;
      self.wrHeld -= f.length + Q.FRM_HEADER_LEN + Q.FRM_FOOTER_LEN + Q.HW_PKT_LEN;
      self.modem.hostSend(f);
      self.pump();
    });
  }

  /** A frame for the host: into the read buffer (prefix + framed), PKT_AVLBL. */
  private fromModem(f: Uint8Array): void {
    if (!this.booted) return;
    let frame = f;
    if (frame.length < Q.FRM_MIN_LEN) {
      frame = new Uint8Array(Q.FRM_MIN_LEN);
      frame.set(f);
    }
    const framed = Q.FRM_HEADER_LEN + frame.length + Q.FRM_FOOTER_LEN;
    if (this.rd.length + Q.HW_PKT_LEN + framed > Q.HW_BUF_LEN) {
      this.stats.rxOverflow++;
      return;
    }
    const r = this.rd;
    r.push(framed & 0xff, (framed >> 8) & 0xff, 0, 0);
    r.push(0xaa, 0xaa, 0xaa, 0xaa, frame.length & 0xff, frame.length >> 8, 0, 0);
    for (let i = 0; i < frame.length; i++) r.push(frame[i]!);
    r.push(0x55, 0x55);
    this.stats.framesToHost++;
    this.raise(Q.SPI_INT_PKT_AVLBL);
  }
}
