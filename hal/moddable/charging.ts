/**
 * Charging and metering devices over ECMA-419 IO (Digital, PWM, Analog from the host provider).
 * The pilot is sampled by a native sampler: the ADC is triggered on the PWM edges and two sample-and-hold
 * outputs keep the high and the low plateau; the binding reads them as two Analog channels.
 */
import type Analog from "embedded:io/analog";
import type Digital from "embedded:io/digital";
import type PWM from "embedded:io/pwm";
import type Serial from "embedded:io/serial";
import type SPI from "embedded:io/spi";
import Timer from "timer";
import * as H from "../index.js";
import type { BoardDescription } from "./board.js";

/** The ECMA-419 IO classes the binding needs (Moddable: globalThis.device.io). */
export interface IoProvider {
  Digital: typeof Digital;
  PWM: typeof PWM;
  Analog: typeof Analog;
  SPI?: typeof SPI;
  Serial?: typeof Serial;
}

/** Closes an ECMA-419 instance whose typing lacks close() (PWM, Analog in @moddable/typings 5.6). */
export const closeIo = (io: object | undefined): void => (io as { close?(): void } | undefined)?.close?.();

export function notSupported(what: string): never {
  throw new Error(`${what}: not supported on this board`);
}

/** Tracks the closed state: every method calls live() first; close() is idempotent. */
class Device {
  #open = true;
  protected live(): void {
    if (!this.#open) throw new Error("closed");
  }
  protected shut(): boolean {
    const was = this.#open;
    this.#open = false;
    return was;
  }
}

/** Device classes that come from chip drivers in hal/drivers (built over io.SPI / io.Serial) rather than from pins. */
export interface Drivers {
  Meter?: H.MeteringIo["Meter"];
  IdReader?: H.ChargingIo["IdReader"];
}

/** A class whose constructor throws "not supported on this board". */
const unsupported = (what: string): new (options: object) => never =>
  class {
    constructor(_options: object) {
      notSupported(what);
    }
  } as unknown as new (options: object) => never;

export function createChargingIo(desc: BoardDescription, io: IoProvider, drivers: Drivers = {}): H.ChargingIo & H.MeteringIo {
  const { Digital, PWM, Analog } = io;
  const both = Digital.Rising | Digital.Falling;
  const input = (pin: number, onReadable?: (this: Digital) => void): Digital =>
    onReadable ? new Digital({ pin, mode: Digital.Input, edge: both, onReadable }) : new Digital({ pin, mode: Digital.Input });
  const output = (pin: number, value: 0 | 1): Digital => {
    const d = new Digital({ pin, mode: Digital.Output });
    d.write(value);
    return d;
  };
  /** Reading as a fraction 0..1 of the ADC range. */
  const fraction = (a: Analog): number => a.read() / ((1 << a.resolution) - 1);

  class ControlPilot extends Device implements H.ControlPilot {
    #pwm: PWM;
    #enable: Digital;
    #high: Analog;
    #low: Analog;
    #timer: Timer | undefined;
    #duty = H.PILOT_OFF;
    constructor(o: H.ControlPilotOptions) {
      super();
      if (o.hz !== undefined && o.hz !== 1000) throw new RangeError("pilot PWM must be 1000 Hz");
      const p = desc.pilot;
      this.#enable = output(p.enable, 0);
      this.#pwm = new PWM({ pin: p.pwm, hz: 1000 });
      this.#pwm.write(0);
      this.#high = new Analog({ pin: p.sampleHigh });
      this.#low = new Analog({ pin: p.sampleLow });
      const onReadable = o.onReadable;
      if (onReadable) this.#timer = Timer.repeat(() => onReadable.call(this), p.sampleMs);
    }
    get duty(): number {
      return this.#duty;
    }
    write(duty: number): void {
      this.live();
      if (!Number.isInteger(duty) || duty < H.PILOT_OFF || duty > H.PILOT_DUTY_MAX) throw new RangeError("pilot duty");
      const max = (1 << this.#pwm.resolution) - 1;
      this.#pwm.write(duty <= 0 ? 0 : Math.round((duty * max) / H.PILOT_DUTY_MAX));
      this.#enable.write(duty === H.PILOT_OFF ? 0 : 1);
      this.#duty = duty;
    }
    read(into: H.PilotSample): H.PilotSample {
      this.live();
      const { offsetMv, spanMv } = desc.pilot;
      into.high = Math.round(offsetMv + spanMv * fraction(this.#high));
      into.low = Math.round(offsetMv + spanMv * fraction(this.#low));
      return into;
    }
    close(): void {
      if (!this.shut()) return;
      Timer.clear(this.#timer);
      this.#enable.write(0);
      this.#enable.close();
      for (const x of [this.#pwm, this.#high, this.#low]) closeIo(x);
    }
  }

  class Proximity extends Device implements H.Proximity {
    #adc: Analog;
    #pullUp: number;
    constructor(_o: H.ProximityOptions) {
      super();
      const pp = desc.proximity ?? notSupported("Proximity (tethered cable)");
      this.#adc = new Analog({ pin: pp.pin });
      this.#pullUp = pp.pullUpOhms;
    }
    read(): number {
      this.live();
      const f = fraction(this.#adc);
      return f >= 0.98 ? H.PROXIMITY_OPEN : Math.round((this.#pullUp * f) / (1 - f));
    }
    close(): void {
      if (this.shut()) closeIo(this.#adc);
    }
  }

  class Contactor extends Device implements H.Contactor {
    #coil: Digital;
    #mirror: Digital;
    #commanded: 0 | 1 = 0;
    constructor(o: H.ContactorOptions) {
      super();
      const c = desc.contactors[o.contactor];
      if (!c) throw new RangeError("no such contactor");
      this.#coil = output(c.coil, 0);
      const onReadable = o.onReadable;
      const self = this;
      this.#mirror = input(c.mirror, onReadable && (() => onReadable.call(self)));
    }
    get commanded(): 0 | 1 {
      return this.#commanded;
    }
    write(value: 0 | 1): void {
      this.live();
      if (value !== 0 && value !== 1) throw new RangeError("contactor value");
      this.#coil.write(value);
      this.#commanded = value;
    }
    read(): 0 | 1 {
      this.live();
      return this.#mirror.read();
    }
    close(): void {
      if (!this.shut()) return;
      this.#coil.write(0);
      this.#coil.close();
      this.#mirror.close();
    }
  }

  class ResidualCurrentMonitor extends Device implements H.ResidualCurrentMonitor {
    #ac: Digital;
    #dc: Digital;
    #test: Digital;
    #status = H.RCM_OK;
    #timer: Timer | undefined;
    #onReadable: ((this: H.ResidualCurrentMonitor) => void) | undefined;
    constructor(o: H.ResidualCurrentMonitorOptions) {
      super();
      const self = this;
      const edge = () => self.#sample(true);
      this.#onReadable = o.onReadable;
      this.#ac = input(desc.rcm.tripAc, edge);
      this.#dc = input(desc.rcm.tripDc, edge);
      this.#test = output(desc.rcm.test, 0);
      this.#sample(false);
    }
    #sample(notify: boolean): void {
      const trips = (this.#ac.read() ? H.RCM_TRIP_AC : 0) | (this.#dc.read() ? H.RCM_TRIP_DC : 0);
      const before = this.#status;
      this.#status |= trips;
      if (notify && before !== this.#status && !(before & H.RCM_SELF_TEST_RUNNING)) this.#onReadable?.call(this);
    }
    read(): number {
      this.live();
      return this.#status;
    }
    selfTest(): void {
      this.live();
      if (this.#status & H.RCM_SELF_TEST_RUNNING) throw new Error("self-test running");
      const latched = this.#status & (H.RCM_TRIP_AC | H.RCM_TRIP_DC);
      this.#status = (this.#status & ~H.RCM_SELF_TEST_FAILED) | H.RCM_SELF_TEST_RUNNING;
      this.#test.write(1);
      this.#timer = Timer.set(() => {
        this.#timer = undefined;
        this.#test.write(0);
        const tripped = this.#status & H.RCM_TRIP_AC;
        // A passing test trips the AC channel; that expected trip is not latched.
        this.#status = latched | (tripped ? 0 : H.RCM_SELF_TEST_FAILED);
        this.#onReadable?.call(this);
      }, desc.rcm.testMs);
    }
    reset(): void {
      this.live();
      this.#status &= ~(H.RCM_TRIP_AC | H.RCM_TRIP_DC);
      this.#sample(false);
    }
    close(): void {
      if (!this.shut()) return;
      Timer.clear(this.#timer);
      this.#test.write(0);
      for (const d of [this.#ac, this.#dc, this.#test]) d.close();
    }
  }

  class Interlock extends Device implements H.Interlock {
    #trip: Digital;
    #causes: [number, Digital][] = [];
    #count = 0;
    cause = 0;
    constructor(o: H.InterlockOptions) {
      super();
      const c = desc.interlock.causes ?? {};
      const bits: [number, number | undefined][] = [
        [H.INTERLOCK_RCD, c.rcd], [H.INTERLOCK_PILOT, c.pilot], [H.INTERLOCK_WATCHDOG, c.watchdog], [H.INTERLOCK_FORBIDDEN_CLOSE, c.forbiddenClose],
      ];
      for (const [bit, pin] of bits) if (pin !== undefined) this.#causes.push([bit, input(pin)]);
      const self = this;
      this.#trip = new Digital({
        pin: desc.interlock.trip, mode: Digital.Input, edge: Digital.Rising,
        onReadable() {
          self.#count++;
          self.cause = self.#causes.reduce((bits, [bit, d]) => (d.read() ? bits | bit : bits), 0);
          o.onReadable?.call(self);
        },
      });
    }
    read(): number {
      this.live();
      return this.#count;
    }
    close(): void {
      if (!this.shut()) return;
      this.#trip.close();
      for (const [, d] of this.#causes) d.close();
    }
  }

  class Temperature extends Device implements H.Temperature {
    #adc: Analog;
    #ntc: BoardDescription["temperature"][string];
    constructor(o: H.TemperatureOptions) {
      super();
      const ntc = desc.temperature[o.sensor];
      if (!ntc) throw new RangeError(`unknown temperature sensor ${o.sensor}`);
      this.#ntc = ntc;
      this.#adc = new Analog({ pin: ntc.pin });
    }
    read(): number {
      this.live();
      const f = Math.min(Math.max(fraction(this.#adc), 1e-4), 1 - 1e-4);
      const r = (this.#ntc.seriesOhms * f) / (1 - f);
      return 1 / (1 / 298.15 + Math.log(r / this.#ntc.r25) / this.#ntc.beta) - 273.15;
    }
    close(): void {
      if (this.shut()) closeIo(this.#adc);
    }
  }

  return {
    ControlPilot, Proximity, Contactor, ResidualCurrentMonitor, Interlock, Temperature,
    Meter: drivers.Meter ?? unsupported("Meter (metering-IC driver from hal/drivers not wired yet)"),
    IdReader: drivers.IdReader ?? unsupported("IdReader (RFID/NFC driver from hal/drivers not wired yet)"),
  };
}
