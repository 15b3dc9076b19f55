/**
 * Measurement devices at device level. A metering IC driver (hal/drivers) implements Meter on top of
 * ECMA-419 SPI; the simulator implements it from its grid and EV models.
 */
import type { IoClass, IoInstance, OnError } from "./common.js";

/** One meter reading. Arrays are per phase L1, L2, L3 (length 3; unused phases read 0). */
export interface MeterReading {
  /** RMS voltage per phase, V. */
  voltage: number[];
  /** RMS current per phase, A (always >= 0). */
  current: number[];
  /** Active power per phase, W; positive = import (grid to car), negative = export (V2G). */
  power: number[];
  /** Line frequency, Hz. */
  frequency: number;
  /** Imported active energy register, Wh, monotonic for the life of the meter. */
  energyImport: number;
  /** Exported active energy register, Wh, monotonic for the life of the meter. */
  energyExport: number;
  /** Optional: per-phase import registers, Wh (filled when present and the meter measures per phase). */
  energyImportPhase?: number[];
  /** Optional: per-phase export registers, Wh. */
  energyExportPhase?: number[];
}

export interface MeterOptions {
  /** Called when a new reading is available (the IC's data-ready interrupt). */
  onReadable?: (this: Meter) => void;
  /** Called when the meter stops answering or answers garbage. */
  onError?: OnError<Meter>;
}

export interface Meter extends IoInstance {
  /** Fills `into` with the latest reading and returns it (no allocation on the hot path). */
  read(into: MeterReading): MeterReading;
}

export interface TemperatureOptions {
  /** Which sensor, by the board's name for it (see Board.temperatureSensors). Unknown name: throws. */
  sensor: string;
  onError?: OnError<Temperature>;
}

export interface Temperature extends IoInstance {
  /** Degrees Celsius. */
  read(): number;
}

export interface MeteringIo {
  Meter: IoClass<MeterOptions, Meter>;
  Temperature: IoClass<TemperatureOptions, Temperature>;
}
