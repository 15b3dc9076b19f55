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

/** The ECMA-419 IO classes the binding needs (Moddable: globalThis.device.io). SPI/Serial are for hal/drivers. */
export interface IoProvider {
  Digital: typeof Digital;
  PWM: typeof PWM;
  Analog: typeof Analog;
  SPI?: typeof SPI;
  Serial?: typeof Serial;
}

/** Device classes that come from chip drivers in hal/drivers (built over io.SPI / io.Serial), not from pins. */
export interface Drivers {
  Meter?: H.MeteringIo["Meter"];
  IdReader?: H.ChargingIo["IdReader"];
}

/** Closes ECMA-419 instances, including those whose typing lacks close() (PWM, Analog in @moddable/typings 5.6). */
const closeAll = (...io: (object | undefined)[]): void => io.forEach((x) => (x as { close?(): void } | undefined)?.close?.());

const rangeError = (message: string): never => {
  throw new RangeError(message);
};

export function notSupported(what: string): never {
  throw new Error(`${what}: not supported on this board`);
}

/** A class whose constructor throws "not supported on this board". */
const unsupported = (what: string) =>
  class {
    constructor(_options: object) {
      notSupported(what);
    }
  } as unknown as new (options: object) => never;

/** Closed-state tracking: methods call live() first; shut() returns true only on the first close(). */
class Device {
  #open = true;
  /** `_checked`: subclasses validate options in super(...) arguments, before their field initializers open pins. */
  constructor(_checked?: unknown) {}
  protected live(): void {
    if (!this.#open) throw new Error("closed");
  }
  protected shut(): boolean {
    const was = this.#open;
    this.#open = false;
    return was;
  }
}

export function createChargingIo(desc: BoardDescription, io: IoProvider, drivers: Drivers = {}): H.ChargingIo & H.MeteringIo {
  const { Digital, PWM, Analog } = io;
  const input = (pin: number, onReadable?: () => void): Digital =>
    onReadable
      ? new Digital({ pin, mode: Digital.Input, edge: Digital.Rising | Digital.Falling, onReadable })
      : new Digital({ pin, mode: Digital.Input });
  const output = (pin: number, value: 0 | 1): Digital => {
    const d = new Digital({ pin, mode: Digital.Output });
    d.write(value);
    return d;
  };
  /** Reading as a fraction 0..1 of the ADC range. */
  const fraction = (a: Analog): number => a.read() / ((1 << a.resolution) - 1);

  class ControlPilot extends Device implements H.ControlPilot {
    #p = desc.pilot;
    #enable = output(this.#p.enable, 0);
    #pwm = new PWM({ pin: this.#p.pwm, hz: 1000 });
    #high = new Analog({ pin: this.#p.sampleHigh });
    #low = new Analog({ pin: this.#p.sampleLow });
    #timer: Timer | undefined;
    #duty = H.PILOT_OFF;
    constructor(o: H.ControlPilotOptions) {
      super(o.hz === undefined || o.hz === 1000 || rangeError("pilot PWM must be 1000 Hz"));
      this.#pwm.write(0);
      const onReadable = o.onReadable;
      if (onReadable) this.#timer = Timer.repeat(() => onReadable.call(this), this.#p.sampleMs);
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
      into.high = Math.round(this.#p.offsetMv + this.#p.spanMv * fraction(this.#high));
      into.low = Math.round(this.#p.offsetMv + this.#p.spanMv * fraction(this.#low));
      return into;
    }
    close(): void {
      if (!this.shut()) return;
      Timer.clear(this.#timer);
      this.#enable.write(0);
      closeAll(this.#enable, this.#pwm, this.#high, this.#low);
    }
  }

  class Proximity extends Device implements H.Proximity {
    #pp = desc.proximity ?? notSupported("Proximity (tethered cable)");
    #adc = new Analog({ pin: this.#pp.pin });
    read(): number {
      this.live();
      const f = fraction(this.#adc);
      return f >= 0.98 ? H.PROXIMITY_OPEN : Math.round((this.#pp.pullUpOhms * f) / (1 - f));
    }
    close(): void {
      if (this.shut()) closeAll(this.#adc);
    }
  }

  class Contactor extends Device implements H.Contactor {
    #coil: Digital;
    #mirror: Digital;
    commanded: 0 | 1 = 0;
    constructor(o: H.ContactorOptions) {
      super();
      const c = desc.contactors[o.contactor] ?? notSupported(`contactor ${o.contactor}`);
      this.#coil = output(c.coil, 0);
      const onReadable = o.onReadable;
      this.#mirror = input(c.mirror, onReadable && (() => onReadable.call(this)));
    }
    write(value: 0 | 1): void {
      this.live();
      if (value !== 0 && value !== 1) throw new RangeError("contactor value");
      this.#coil.write(value);
      this.commanded = value;
    }
    read(): 0 | 1 {
      this.live();
      return this.#mirror.read();
    }
    close(): void {
      if (!this.shut()) return;
      this.#coil.write(0);
      closeAll(this.#coil, this.#mirror);
    }
  }

  /** Socket lock: a held drive output and the position switch (1 = locked); onReadable on every edge. */
  class ConnectorLock extends Device implements H.ConnectorLock {
    #drive: Digital;
    #feedback: Digital;
    commanded: 0 | 1 = 0;
    constructor(o: H.ConnectorLockOptions) {
      super();
      const l = (!desc.board.tetheredCable && desc.lock) || notSupported("connector lock");
      this.#drive = output(l.drive, 0);
      const onReadable = o.onReadable;
      this.#feedback = input(l.feedback, onReadable && (() => onReadable.call(this)));
    }
    write(value: 0 | 1): void {
      this.live();
      if (value !== 0 && value !== 1) throw new RangeError("lock value");
      this.#drive.write(value);
      this.commanded = value;
    }
    read(): 0 | 1 {
      this.live();
      return this.#feedback.read();
    }
    close(): void {
      if (this.shut()) closeAll(this.#drive, this.#feedback);
    }
  }

  /** Trip inputs are live levels from the RCM module; trips latch here until reset() finds them released. */
  class ResidualCurrentMonitor extends Device implements H.ResidualCurrentMonitor {
    #ac = input(desc.rcm.tripAc, () => this.#sample(true));
    #dc = input(desc.rcm.tripDc, () => this.#sample(true));
    #test = output(desc.rcm.test, 0);
    #status = H.RCM_OK;
    #timer: Timer | undefined;
    #onReadable: ((this: H.ResidualCurrentMonitor) => void) | undefined;
    constructor(o: H.ResidualCurrentMonitorOptions) {
      super();
      this.#onReadable = o.onReadable;
      this.#sample(false);
    }
    #sample(notify: boolean): void {
      const before = this.#status;
      this.#status |= (this.#ac.read() ? H.RCM_TRIP_AC : 0) | (this.#dc.read() ? H.RCM_TRIP_DC : 0);
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
      this.#status = latched | H.RCM_SELF_TEST_RUNNING;
      this.#test.write(1);
      this.#timer = Timer.set(() => {
        this.#test.write(0);
        // A passing test trips the AC channel through the test winding; that expected trip is not latched.
        this.#status = latched | (this.#status & H.RCM_TRIP_AC ? 0 : H.RCM_SELF_TEST_FAILED);
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
      closeAll(this.#ac, this.#dc, this.#test);
    }
  }

  class Interlock extends Device implements H.Interlock {
    #causes: [number, Digital][] = [];
    #trip: Digital;
    #count = 0;
    cause = 0;
    constructor(o: H.InterlockOptions) {
      super();
      const c = desc.interlock.causes ?? {};
      const pins: [number, number | undefined][] = [
        [H.INTERLOCK_RCD, c.rcd], [H.INTERLOCK_PILOT, c.pilot], [H.INTERLOCK_WATCHDOG, c.watchdog], [H.INTERLOCK_FORBIDDEN_CLOSE, c.forbiddenClose],
      ];
      for (const [bit, pin] of pins) if (pin !== undefined) this.#causes.push([bit, input(pin)]);
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
      if (this.shut()) closeAll(this.#trip, ...this.#causes.map(([, d]) => d));
    }
  }

  /** NTC thermistor on a divider (beta equation). */
  class Temperature extends Device implements H.Temperature {
    #ntc: BoardDescription["temperature"][string];
    #adc: Analog;
    constructor(o: H.TemperatureOptions) {
      super();
      this.#ntc = desc.temperature[o.sensor] ?? notSupported(`temperature sensor ${o.sensor}`);
      this.#adc = new Analog({ pin: this.#ntc.pin });
    }
    read(): number {
      this.live();
      const f = Math.min(Math.max(fraction(this.#adc), 1e-4), 1 - 1e-4);
      const r = (this.#ntc.seriesOhms * f) / (1 - f);
      return 1 / (1 / 298.15 + Math.log(r / this.#ntc.r25) / this.#ntc.beta) - 273.15;
    }
    close(): void {
      if (this.shut()) closeAll(this.#adc);
    }
  }

  return {
    ControlPilot, Proximity, Contactor, ResidualCurrentMonitor, Interlock, Temperature,
    ...(desc.lock && !desc.board.tetheredCable ? { ConnectorLock } : {}),
    Meter: drivers.Meter ?? unsupported("Meter (metering-IC driver from hal/drivers not wired yet)"),
    IdReader: drivers.IdReader ?? unsupported("IdReader (RFID/NFC driver from hal/drivers not wired yet)"),
  };
}
