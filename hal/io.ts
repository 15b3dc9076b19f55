/**
 * Low-level IO after ECMA-419 (the Embedded Systems API, "embedded:io/*"), so that chip drivers written in
 * TypeScript (hal/drivers) run unchanged on the device (Moddable's embedded:io/spi and embedded:io/digital)
 * and against the simulator's register-level chip models.
 *
 * SPI (ECMA-419 "SPI" class, embedded:io/spi):
 *  - constructed with { clock, in, out, select, hz, mode, port } (pins are board numbers, hz the SCLK rate,
 *    mode the SPI mode 0..3 (CPOL << 1 | CPHA));
 *  - write(buffer) shifts the bytes out (what comes in is discarded); read(buffer) shifts zeros out and fills
 *    the buffer with what comes in; transfer(buffer) does both in place (full duplex, what came in replaces
 *    what went out);
 *  - the select line is asserted by the first read/write/transfer and stays asserted across calls until
 *    flush(true) (or flush() with no argument) deselects it: one chip transaction = calls + flush();
 *  - a bus with nothing on it (a broken MISO line) reads 0xFF bytes (the chip's pull-up), it does not throw.
 *
 * Digital (ECMA-419 "Digital" class, embedded:io/digital): { pin, mode, edge, onReadable }, read() 0 | 1,
 * write(0 | 1). An input with `edge` set calls onReadable on that edge (an interrupt line).
 *
 * Serial (ECMA-419 "Serial" class, embedded:io/serial): { port, baud, receive, transmit, flowControl,
 * onReadable(count), onWritable(count), onError }. read(byteLength?) returns an ArrayBuffer of up to byteLength
 * of the bytes received so far (all of them when omitted; an empty one when none is pending); write(buffer)
 * queues bytes for transmission (throws RangeError above the space the last onWritable reported); flush()
 * discards what was received and not yet read. onReadable(count) says `count` bytes are pending; onWritable
 * (count) says the transmit buffer has room for `count` bytes (the first call comes once the port is open).
 *
 * PowerFail is not in ECMA-419; it follows its class pattern: the board's brown-out / supply-monitor
 * comparator (mains gone, bulk capacitor discharging). onReadable is called once when the supply starts
 * failing; from then the firmware has `Board.holdUpMs` milliseconds before the MCU stops.
 */
import type { BufferLike, IoClass, IoInstance, OnError } from "./common.js";

export interface SpiOptions {
  /** SCLK pin. */
  clock?: number;
  /** MISO pin. */
  in?: number;
  /** MOSI pin. */
  out?: number;
  /** Chip-select pin (active low). */
  select?: number;
  /** SCLK frequency, Hz. */
  hz: number;
  /** SPI mode 0..3 (CPOL << 1 | CPHA). Default 0. */
  mode?: 0 | 1 | 2 | 3;
  /** The host's SPI peripheral (e.g. 1 or 2 on an ESP32). */
  port?: number;
  onError?: OnError<Spi>;
}

export interface Spi extends IoInstance {
  /** Shifts `buffer` out; the bytes clocked in are discarded. */
  write(buffer: BufferLike): void;
  /** Shifts zeros out and fills `buffer` with the bytes clocked in. */
  read(buffer: Uint8Array | ArrayBuffer): void;
  /** Full duplex in place: each byte of `buffer` is sent and replaced by the byte received. */
  transfer(buffer: Uint8Array | ArrayBuffer): void;
  /** Waits for the bus to be idle; deselects the chip unless `deselect` is false. */
  flush(deselect?: boolean): void;
}

/** Digital modes (ECMA-419 Digital.Input etc.). */
export const DIGITAL_INPUT = 0;
export const DIGITAL_INPUT_PULL_UP = 1;
export const DIGITAL_INPUT_PULL_DOWN = 2;
export const DIGITAL_OUTPUT = 8;
export const DIGITAL_OUTPUT_OPEN_DRAIN = 9;
/** Edges (ECMA-419 Digital.Rising / Digital.Falling, may be or-ed). */
export const DIGITAL_RISING = 1;
export const DIGITAL_FALLING = 2;

export interface DigitalOptions {
  pin: number;
  mode: number;
  /** For inputs: call onReadable on this edge (DIGITAL_RISING | DIGITAL_FALLING). */
  edge?: number;
  onReadable?: (this: Digital) => void;
  onError?: OnError<Digital>;
}

export interface Digital extends IoInstance {
  read(): 0 | 1;
  /** Outputs only; throws on an input. */
  write(value: 0 | 1): void;
}

export interface SerialOptions {
  /** The host's UART (e.g. 1 or 2 on an ESP32). */
  port?: number;
  /** Bits per second. */
  baud: number;
  /** RX pin (data from the peripheral). */
  receive?: number;
  /** TX pin (data to the peripheral). */
  transmit?: number;
  /** RTS/CTS hardware flow control ("hardware") or none (default). */
  flowControl?: "hardware" | "none";
  /** `count` received bytes are pending. */
  onReadable?: (this: Serial, count: number) => void;
  /** The transmit buffer has room for `count` bytes. */
  onWritable?: (this: Serial, count: number) => void;
  onError?: OnError<Serial>;
}

export interface Serial extends IoInstance {
  /** Up to byteLength received bytes (all pending when omitted); an empty buffer when none are pending. */
  read(byteLength?: number): ArrayBuffer;
  /** Queues bytes for transmission; RangeError above the room the last onWritable reported. */
  write(buffer: BufferLike): void;
  /** Discards received bytes not yet read. */
  flush(): void;
}

export interface PowerFailOptions {
  /** Called once when the supply starts failing (the hold-up time starts). */
  onReadable?: (this: PowerFail) => void;
}

/** The supply monitor: read() is 1 while the supply is failing, 0 while it is good. */
export interface PowerFail extends IoInstance {
  read(): 0 | 1;
}

/**
 * Low-level IO a board may offer. Optional members: a board (or an older simulator) without them still
 * satisfies the contract; the firmware then uses the board-level devices (hal.io.Meter) and has no power-fail
 * early warning.
 */
export interface LowLevelIo {
  SPI?: IoClass<SpiOptions, Spi>;
  Digital?: IoClass<DigitalOptions, Digital>;
  PowerFail?: IoClass<PowerFailOptions, PowerFail>;
  /** UARTs (an LTE modem's AT port: Board.lteModem). */
  Serial?: IoClass<SerialOptions, Serial>;
}

/** Where a board's metering IC sits (Board.meterIc). */
export interface MeterIcWiring {
  /** The chip; the firmware picks the driver from hal/drivers by this name. */
  chip: "ade9000";
  /** The SPI bus and chip select. */
  spi: Omit<SpiOptions, "onError">;
  /** The chip's IRQ1 line (RSTDONE, errors; open drain, active low), if wired. */
  irq1?: number;
  /** Full-scale ratings of the board's sensing network (V rms / A rms at the ADC's 0.707 V rms full scale). */
  vFullScale: number;
  iFullScale: number;
}

/**
 * Where a board's HomePlug Green PHY modem sits (Board.plcModem): a QCA7000/QCA7005 on SPI (mode 3, 1..16 MHz)
 * with its interrupt output; the firmware drives it with hal/drivers/qca7000.ts (ISO 15118 over the pilot line).
 */
export interface PlcModemWiring {
  /** The chip; the firmware picks the driver from hal/drivers by this name. */
  chip: "qca7000";
  /** The SPI bus and chip select. */
  spi: Omit<SpiOptions, "onError">;
  /** The chip's interrupt output (active high, rising edge), if wired; absent: the driver polls. */
  irq?: number;
  /** The charger's own MAC address on the PLC link ("02:..."); absent: the firmware derives one. */
  mac?: string;
}

/** Where a board's LTE modem sits (Board.lteModem): its AT-command UART and its control lines. */
export interface LteModemWiring {
  /** The modem family; the firmware picks the driver from hal/drivers/lte by this name. */
  chip: "bg95";
  /** The AT-command UART. */
  serial: Omit<SerialOptions, "onReadable" | "onWritable" | "onError">;
  /** Output pin driving the modem's RESET_N line through an inverting transistor: 1 holds the modem in reset. */
  reset?: number;
  /** Output pin driving PWRKEY through an inverting transistor: a 1 pulse toggles the modem's power. */
  powerKey?: number;
  /** Access point name of the SIM's data plan (default "internet"). */
  apn?: string;
}
