/**
 * The simulated low-level IO of hal/io.ts: an SPI bus with the board's chips on it (by chip-select pin),
 * Digital pins, and the supply monitor (PowerFail). Platform-neutral.
 *
 * One ChipIo per boot (like DeviceHal): `check()` throws once the boot is dead; the chips themselves (their
 * registers, accumulators) belong to the board and survive a reboot of the MCU unless the board lost power
 * (the simulation resets them then).
 */
import type { BufferLike, Digital, DigitalOptions, LowLevelIo, PowerFail, PowerFailOptions, Spi, SpiOptions } from "../../hal/index.js";
import { DIGITAL_FALLING, DIGITAL_OUTPUT, DIGITAL_OUTPUT_OPEN_DRAIN, DIGITAL_RISING } from "../../hal/index.js";

/** The low-level IO classes the simulated board provides. */
export type ChipIo = Required<Pick<LowLevelIo, "SPI" | "Digital" | "PowerFail">>;

/** A chip on the bus. */
export interface SpiDevice {
  select(): void;
  deselect(): void;
  exchange(mosi: number): number;
}

/** The supply monitor's line, raised by the simulation before a power cut. */
export class PowerFailLine {
  private failing = false;
  private listeners: Array<() => void> = [];
  get value(): 0 | 1 {
    return this.failing ? 1 : 0;
  }
  /** The supply starts failing: every open PowerFail's onReadable is called (through `deliver`). */
  raise(): void {
    if (this.failing) return;
    this.failing = true;
    for (const l of this.listeners) l();
  }
  /** Power is back (new boot). */
  clear(): void {
    this.failing = false;
    this.listeners = [];
  }
  listen(fn: () => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }
}

/**
 * A chip's output wired to an MCU input pin (an interrupt line such as the QCA7000's INT): the chip sets the
 * level; a Digital opened on that pin reads it, and one opened with `edge` gets onReadable (through `deliver`)
 * on that edge.
 */
export class InputLine {
  private level: 0 | 1;
  private listeners: Array<(rising: boolean) => void> = [];
  constructor(initial: 0 | 1 = 0) {
    this.level = initial;
  }
  get value(): 0 | 1 {
    return this.level;
  }
  set(value: 0 | 1): void {
    if (value === this.level) return;
    this.level = value;
    const rising = value === 1;
    for (const l of this.listeners.slice()) l(rising);
  }
  listen(fn: (rising: boolean) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }
}

export interface ChipIoOptions {
  /** Throws when the boot is dead (DeviceHal semantics). */
  check: () => void;
  /** Devices by chip-select pin. */
  devices: Map<number, SpiDevice>;
  powerFail: PowerFailLine | null;
  /** Runs a firmware callback later (the event queue), unless the boot died meanwhile. */
  deliver: (fn: () => void) => void;
  /** Chip outputs wired to input pins, by pin (optional). */
  inputs?: Map<number, InputLine>;
  /** Counts SPI bytes for the bench (optional). */
  stats?: { spiBytes: number; spiTransactions: number };
}

function bytesOf(buffer: BufferLike): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (buffer instanceof DataView) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new TypeError("SPI: expected an ArrayBuffer, Uint8Array or DataView");
}

export function createChipIo(o: ChipIoOptions): ChipIo {
  class SimSpi implements Spi {
    private closed = false;
    private selected = false;
    private readonly device: SpiDevice | null;
    constructor(options: SpiOptions) {
      o.check();
      if (!options || typeof options !== "object") throw new TypeError("SPI: options required");
      if (typeof options.hz !== "number" || !(options.hz > 0 && options.hz <= 50_000_000)) throw new RangeError("SPI: hz must be in 1..50000000");
      if (options.mode !== undefined && ![0, 1, 2, 3].includes(options.mode)) throw new RangeError("SPI: mode must be 0..3");
      this.device = options.select === undefined ? null : (o.devices.get(options.select) ?? null);
    }
    private live(): void {
      o.check();
      if (this.closed) throw new Error("SPI: closed");
    }
    private shift(b: Uint8Array, keepIn: boolean, send: boolean): void {
      const d = this.device;
      if (!this.selected) {
        this.selected = true;
        d?.select();
        if (o.stats) o.stats.spiTransactions++;
      }
      for (let k = 0; k < b.length; k++) {
        const miso = d ? d.exchange(send ? b[k]! : 0) : 0xff;
        if (keepIn) b[k] = miso;
      }
      if (o.stats) o.stats.spiBytes += b.length;
    }
    write(buffer: BufferLike): void {
      this.live();
      this.shift(bytesOf(buffer), false, true);
    }
    read(buffer: Uint8Array | ArrayBuffer): void {
      this.live();
      this.shift(bytesOf(buffer), true, false);
    }
    transfer(buffer: Uint8Array | ArrayBuffer): void {
      this.live();
      this.shift(bytesOf(buffer), true, true);
    }
    flush(deselect = true): void {
      this.live();
      if (deselect && this.selected) {
        this.selected = false;
        this.device?.deselect();
      }
    }
    close(): void {
      if (this.closed) return;
      if (this.selected) this.device?.deselect();
      this.closed = true;
    }
  }

  class SimDigital implements Digital {
    private closed = false;
    private value: 0 | 1 = 1;
    private readonly output: boolean;
    private readonly line: InputLine | null;
    private off: (() => void) | null = null;
    constructor(options: DigitalOptions) {
      o.check();
      if (!options || !Number.isInteger(options.pin) || options.pin < 0) throw new RangeError("Digital: bad pin");
      if (!Number.isInteger(options.mode)) throw new RangeError("Digital: bad mode");
      this.output = options.mode === DIGITAL_OUTPUT || options.mode === DIGITAL_OUTPUT_OPEN_DRAIN;
      this.line = this.output ? null : (o.inputs?.get(options.pin) ?? null);
      const cb = options.onReadable;
      const edge = options.edge ?? 0;
      if (this.line && cb && edge) {
        const self = this;
        this.off = this.line.listen((rising) => {
          // The callback's result is handed back (the XS bridge returns a promise the scheduler must wait for).
          if ((rising && edge & DIGITAL_RISING) || (!rising && edge & DIGITAL_FALLING)) o.deliver(() => (self.closed ? undefined : cb.call(self)));
        });
      }
    }
    read(): 0 | 1 {
      o.check();
      if (this.closed) throw new Error("Digital: closed");
      return this.line ? this.line.value : this.value;
    }
    write(value: 0 | 1): void {
      o.check();
      if (this.closed) throw new Error("Digital: closed");
      if (!this.output) throw new Error("Digital: not an output");
      if (value !== 0 && value !== 1) throw new RangeError("Digital: value must be 0 or 1");
      this.value = value;
    }
    close(): void {
      this.closed = true;
      this.off?.();
      this.off = null;
    }
  }

  class SimPowerFail implements PowerFail {
    private off: (() => void) | null = null;
    constructor(options: PowerFailOptions = {}) {
      o.check();
      const line = o.powerFail;
      if (!line) throw new RangeError("PowerFail: this board has no supply monitor");
      const cb = options.onReadable;
      if (cb) {
        const self = this;
        this.off = line.listen(() => o.deliver(() => cb.call(self)));
      }
    }
    read(): 0 | 1 {
      o.check();
      return o.powerFail ? o.powerFail.value : 0;
    }
    close(): void {
      this.off?.();
      this.off = null;
    }
  }

  return { SPI: SimSpi, Digital: SimDigital, PowerFail: SimPowerFail };
}
