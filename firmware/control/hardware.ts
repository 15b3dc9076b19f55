/**
 * The charging hardware as the control loop sees it: opens the HAL devices once and samples them into
 * preallocated records, so a control tick allocates nothing.
 */
import type { Contactor, ControlPilot, Hal, Interlock, Meter, MeterReading, PilotSample, Proximity, ResidualCurrentMonitor, Temperature } from "../../hal/index.js";
import { PROXIMITY_OPEN } from "../../hal/index.js";
import { AccountedMeter } from "../metering/meter.js";

export interface HardwareEvents {
  /** The RCM tripped or finished a self-test (interrupt): the loop reacts at once, not at the next tick. */
  onResidualCurrent(): void;
  /** A mirror contact changed. */
  onMirror(index: 0 | 1): void;
  /** The hardware interlock acted by itself (the firmware should have prevented it). */
  onInterlock(count: number, cause: number): void;
  /** A device failed (meter not answering, sensor broken). */
  onDeviceError(device: string, code: string, message: string): void;
}

export class ChargingHardware {
  readonly pilot: ControlPilot;
  readonly proximity: Proximity | null;
  readonly contactors: Contactor[];
  readonly rcm: ResidualCurrentMonitor;
  readonly interlock: Interlock;
  /** The board's meter (the metering IC's driver when Board.meterIc says so) behind the energy accounting. */
  readonly meter: Meter & AccountedMeter;
  readonly temperatures: Temperature[];
  readonly pilotSample: PilotSample = { high: 0, low: 0 };
  readonly meterReading: MeterReading = {
    voltage: [0, 0, 0],
    current: [0, 0, 0],
    power: [0, 0, 0],
    frequency: 0,
    energyImport: 0,
    energyExport: 0,
    energyImportPhase: [0, 0, 0],
    energyExportPhase: [0, 0, 0],
  };
  private readonly commanded: Array<0 | 1> = [0, 0];
  private _meterFault = "";
  private _sensorFault = "";

  constructor(hal: Hal, events: HardwareEvents) {
    const io = hal.io;
    this.pilot = new io.ControlPilot({
      hz: 1000,
      onError(e) {
        events.onDeviceError("pilot", e.code, e.message);
      },
    });
    // Power-up state: +12 V steady (state A signalling, "not ready") until the loop decides.
    this.pilot.write(1000);
    this.proximity = hal.board.tetheredCable
      ? null
      : new io.Proximity({
          onError(e) {
            events.onDeviceError("proximity", e.code, e.message);
          },
        });
    this.contactors = [];
    for (let i = 0; i < hal.board.contactors; i++) {
      const index = i as 0 | 1;
      const c = new io.Contactor({
        contactor: index,
        onReadable() {
          events.onMirror(index);
        },
        onError(e) {
          events.onDeviceError(`contactor${index}`, e.code, e.message);
        },
      });
      c.write(0);
      this.contactors.push(c);
    }
    this.rcm = new io.ResidualCurrentMonitor({
      onReadable() {
        events.onResidualCurrent();
      },
      onError(e) {
        events.onDeviceError("rcm", e.code, e.message);
      },
    });
    this.interlock = new io.Interlock({
      onReadable() {
        events.onInterlock(this.read(), this.cause);
      },
    });
    const self = this;
    this.meter = new AccountedMeter(hal, {
      onError(e) {
        self._meterFault = e.code;
        events.onDeviceError("meter", e.code, e.message);
      },
    });
    this.temperatures = hal.board.temperatureSensors.map(
      (sensor) =>
        new io.Temperature({
          sensor,
          onError(e) {
            self._sensorFault = sensor;
            events.onDeviceError(`temperature:${sensor}`, e.code, e.message);
          },
        }),
    );
  }

  /** A persistent meter failure code ("" when healthy). */
  get meterFault(): string {
    return this._meterFault;
  }

  get sensorFault(): string {
    return this._sensorFault;
  }

  readProximity(): number {
    return this.proximity ? this.proximity.read() : PROXIMITY_OPEN;
  }

  /** Hottest sensor, °C. */
  readTemperature(): number {
    let max = -273;
    const t = this.temperatures;
    for (let i = 0; i < t.length; i++) {
      const v = t[i]!.read();
      if (v > max) max = v;
    }
    return max;
  }

  readMirror(index: 0 | 1): 0 | 1 {
    const c = this.contactors[index];
    return c ? c.read() : 0;
  }

  writeContactor(index: 0 | 1, value: 0 | 1): void {
    const c = this.contactors[index];
    if (c && this.commanded[index] !== value) {
      this.commanded[index] = value;
      c.write(value);
    }
  }

  close(): void {
    for (const c of this.contactors) {
      c.write(0);
      c.close();
    }
    this.pilot.write(1000);
    this.pilot.close();
    this.proximity?.close();
    this.rcm.close();
    this.interlock.close();
    this.meter.close();
    for (const t of this.temperatures) t.close();
  }
}
