/**
 * Stand-ins for Digital, PWM and Analog where the host has none (the lin host build): outputs remember
 * what was written, Analog inputs read fixed levels. main.ts sets the pilot samples and PP to full scale, so
 * the pilot reads a steady +12 V (state A, no car), the cable is absent, the contactors' mirrors read open and
 * the RCM reads no trip: the firmware boots and talks to its CSMS.
 */
import type Analog from "embedded:io/analog";
import type Digital from "embedded:io/digital";
import type PWM from "embedded:io/pwm";
import type { IoProvider } from "./charging.js";

interface PinOptions {
  pin: number;
}

/** Digital: reads the last value written (0 at start). */
class LoopDigital {
  static readonly Input = 0;
  static readonly InputPullUp = 1;
  static readonly InputPullDown = 2;
  static readonly InputPullUpDown = 3;
  static readonly Output = 8;
  static readonly OutputOpenDrain = 9;
  static readonly Rising = 1;
  static readonly Falling = 2;
  #value: 0 | 1 = 0;
  constructor(_options: PinOptions) {}
  read(): 0 | 1 {
    return this.#value;
  }
  write(value: 0 | 1): void {
    this.#value = value;
  }
  close(): void {}
}

class LoopPWM {
  readonly resolution = 10;
  readonly hz: number;
  value = 0;
  constructor(options: PinOptions & { hz?: number }) {
    this.hz = options.hz ?? 1000;
  }
  write(value: number): void {
    this.value = value;
  }
  close(): void {}
}

/**
 * Builds the stand-in provider. `analog` gives each Analog pin its fixed reading as a fraction of full scale
 * (default 0.5: mid-scale, 25 °C on the reference NTC divider).
 */
export function createLoopbackIo(analog: Record<number, number>): IoProvider {
  class LoopAnalog {
    readonly resolution = 12;
    readonly #value: number;
    constructor(options: PinOptions) {
      this.#value = Math.round((analog[options.pin] ?? 0.5) * 4095);
    }
    read(): number {
      return this.#value;
    }
    close(): void {}
  }
  return {
    Digital: LoopDigital as unknown as typeof Digital,
    PWM: LoopPWM as unknown as typeof PWM,
    Analog: LoopAnalog as unknown as typeof Analog,
  };
}
