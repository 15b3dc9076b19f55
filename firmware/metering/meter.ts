/**
 * The Meter the firmware uses: the board's meter device (the ADE9000 driver of hal/drivers, or the HAL's own
 * Meter) behind the energy accounting, so that `energyImport`/`energyExport` of every reading are the
 * charger's lifetime registers (persisted, monotonic) whatever the device does across resets.
 *
 * It also wires the power-fail early warning: on hal.io.PowerFail's onReadable it takes a fresh reading and
 * commits the registers within the board's hold-up time (the commit is one key-value set).
 */
import type { Hal, KeyValue, Meter, MeterOptions, MeterReading, PowerFail } from "../../hal/index.js";
import { Ade9000 } from "../../hal/drivers/ade9000.js";
import { loadMeterCalibration } from "./calibration.js";
import { EnergyAccounting } from "./energy.js";

export interface AccountedMeterOptions extends MeterOptions {
  /** Commit at least this often while energy flows, ms. */
  commitIntervalMs?: number;
}

function newReading(perPhase: boolean): MeterReading {
  const r: MeterReading = { voltage: [0, 0, 0], current: [0, 0, 0], power: [0, 0, 0], frequency: 0, energyImport: 0, energyExport: 0 };
  // Per-phase registers only for a device that fills them (else the accounting splits by phase power).
  if (perPhase) {
    r.energyImportPhase = [0, 0, 0];
    r.energyExportPhase = [0, 0, 0];
  }
  return r;
}

export class AccountedMeter implements Meter {
  readonly accounting: EnergyAccounting;
  readonly device: Meter;
  /** The device's raw reading (its own registers). */
  readonly raw: MeterReading;
  private readonly powerFail: PowerFail | null = null;
  private closed = false;
  /** Power-fail warnings seen and what the commit took. */
  readonly powerFailStats = { warnings: 0, committed: 0 };
  /** The latest reading given out (for the power-fail path). */
  private last: MeterReading | null = null;

  constructor(private readonly hal: Hal, options: AccountedMeterOptions = {}) {
    let store: KeyValue | null = null;
    try {
      store = hal.storage.keyValue.open({ path: "meter" });
    } catch (e) {
      hal.log.event("device-error", { device: "meter-store", code: "open", message: (e as Error).message });
    }
    const log = (kind: string, fields: Record<string, number | string | boolean>) => hal.log.event(kind, fields);
    this.accounting = new EnergyAccounting({ store, log, ...(options.commitIntervalMs !== undefined ? { commitIntervalMs: options.commitIntervalMs } : {}) });
    this.device = openMeterDevice(hal, options);
    this.raw = newReading(this.device instanceof Ade9000);
    const io = hal.io;
    if (io.PowerFail && (hal.board.holdUpMs ?? 0) > 0) {
      const self = this;
      try {
        this.powerFail = new io.PowerFail({
          onReadable() {
            self.onPowerFail();
          },
        });
      } catch (e) {
        hal.log.event("device-error", { device: "powerfail", code: "absent", message: (e as Error).message });
      }
    }
  }

  /** The supply is failing: read once more and commit within the hold-up time. */
  onPowerFail(): void {
    if (this.closed) return;
    this.powerFailStats.warnings++;
    const now = this.hal.clock.now();
    this.device.read(this.raw);
    this.accounting.update(this.raw, now);
    if (this.last) this.fill(this.last);
    if (this.accounting.commit("power-fail", now)) this.powerFailStats.committed++;
  }

  read(into: MeterReading): MeterReading {
    if (this.closed) throw new Error("meter closed");
    const r = this.device.read(this.raw);
    this.accounting.update(r, this.hal.clock.now());
    this.last = into;
    return this.fill(into);
  }

  private fill(into: MeterReading): MeterReading {
    const r = this.raw;
    for (let k = 0; k < 3; k++) {
      into.voltage[k] = r.voltage[k]!;
      into.current[k] = r.current[k]!;
      into.power[k] = r.power[k]!;
    }
    into.frequency = r.frequency;
    const a = this.accounting;
    into.energyImport = a.totalImport;
    into.energyExport = a.totalExport;
    const ip = into.energyImportPhase;
    if (ip) for (let k = 0; k < 3; k++) ip[k] = a.importWh[k]!;
    const ep = into.energyExportPhase;
    if (ep) for (let k = 0; k < 3; k++) ep[k] = a.exportWh[k]!;
    return into;
  }

  /** Persists the registers now (session start/end). */
  commit(reason: string): boolean {
    if (this.closed) return false;
    return this.accounting.commit(reason, this.hal.clock.now());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.powerFail?.close();
    this.device.close();
  }
}

/**
 * The meter device the board says it has: the ADE9000 driver over hal.io.SPI when Board.meterIc names it (and
 * the HAL offers SPI), else the HAL's Meter.
 */
export function openMeterDevice(hal: Hal, options: MeterOptions): Meter {
  const ic = hal.board.meterIc;
  const io = hal.io;
  if (ic && ic.chip === "ade9000" && io.SPI) {
    const spi = new io.SPI({ ...ic.spi });
    const clock = hal.clock;
    return new Ade9000({
      spi,
      vFullScale: ic.vFullScale,
      iFullScale: ic.iFullScale,
      calibration: loadMeterCalibration(hal),
      now: () => clock.now(),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.onReadable ? { onReadable: options.onReadable } : {}),
    });
  }
  return new io.Meter(options);
}
