/**
 * Board description: which pins and ADC channels the HAL binding uses, and the product facts the firmware
 * reads (hal.board). Edit a copy of ESP32_DEVKIT for your board and pass it to createHal(). Pin numbers are
 * ESP32 GPIO numbers, as ECMA-419 `pin` specifiers on Moddable's esp32 host provider.
 */
import type { Board } from "../index.js";

export interface NtcSensor {
  /** ADC pin of the divider: NTC to ground, `seriesOhms` to the ADC reference. */
  pin: number;
  seriesOhms: number;
  /** NTC resistance at 25 °C and its beta constant. */
  r25: number;
  beta: number;
}

export interface BoardDescription {
  board: Board;
  pilot: {
    /** PWM output driving the ±12 V pilot amplifier. */
    pwm: number;
    /** Digital output enabling the pilot driver; 0 = 0 V on the line (PILOT_OFF). */
    enable: number;
    /**
     * The native sampler's two sample-and-hold outputs, read as Analog channels: the ADC is triggered on
     * the PWM edges, one channel holds the plateau of the high half, the other of the low half.
     */
    sampleHigh: number;
    sampleLow: number;
    /** Pilot mV = offsetMv + spanMv * raw / (2^resolution - 1) (the divider maps ±12 V into the ADC range). */
    offsetMv: number;
    spanMv: number;
    /** Polling period for onReadable, ms (the native sampler refreshes at least this often). */
    sampleMs: number;
  };
  /** Proximity pilot: ADC pin, with `pullUpOhms` from PP to the ADC reference. Omit for a tethered cable. */
  proximity?: { pin: number; pullUpOhms: number };
  /** Socket cable lock: actuator drive output (1 = lock, held) and position-switch input (1 = locked). Omit for a tethered cable. */
  lock?: { drive: number; feedback: number };
  /** Contactor 0 (main) and 1 (phase switch): coil output and mirror-contact input (1 = closed). */
  contactors: { coil: number; mirror: number }[];
  rcm: { tripAc: number; tripDc: number; test: number; testMs: number };
  /** Interlock trip input (pulses on each native trip) and optional latched cause inputs. */
  interlock: { trip: number; causes?: { rcd?: number; pilot?: number; watchdog?: number; forbiddenClose?: number } };
  /** External hardware watchdog input toggled by feedWatchdog(); omit to rely on the ESP-IDF task watchdog. */
  watchdog?: number;
  temperature: Record<string, NtcSensor>;
  /** Metering IC on SPI (the driver comes from hal/drivers). */
  meterSpi?: { clock: number; in: number; out: number; select: number; hz: number; port?: number };
  /** DNS servers for the WebSocket and MQTT clients' resolver. */
  dns: string[];
}

/** An ESP32-DevKitC wired to a single-phase-capable 3-phase wallbox front end (reference wiring in README). */
export const ESP32_DEVKIT: BoardDescription = {
  board: {
    model: "ESP32-DevKitC-wallbox",
    vendor: "example",
    serialNumber: "0000",
    phases: 3,
    contactors: 2,
    ratedCurrent: 32,
    nominalVoltage: 230,
    temperatureSensors: ["board"],
    tetheredCable: false,
    // ADE9000 on VSPI (same pins as meterSpi below); the firmware drives it with hal/drivers/ade9000.ts.
    // Full scale: the reference front end's divider and CT burden put 800 V rms / 80 A rms on 0.707 V rms.
    meterIc: { chip: "ade9000", spi: { clock: 18, in: 19, out: 23, select: 5, hz: 1_000_000, mode: 0 }, vFullScale: 800, iFullScale: 80 },
    // QCA7000 HomePlug Green PHY modem (ISO 15118) on the same VSPI bus, own chip select; SPI mode 3 (CPOL and
    // CPHA set), 8 MHz (the chip takes 1..16 MHz). Its INT output (active high, low while idle) on GPIO 12, whose
    // boot strap wants low anyway; CS on GPIO 2 (pulled up). The firmware drives it with hal/drivers/qca7000.ts.
    plcModem: { chip: "qca7000", spi: { clock: 18, in: 19, out: 23, select: 2, hz: 8_000_000, mode: 3 }, irq: 12 },
  },
  pilot: { pwm: 4, enable: 16, sampleHigh: 36, sampleLow: 39, offsetMv: -12000, spanMv: 24000, sampleMs: 10 },
  proximity: { pin: 34, pullUpOhms: 1000 },
  lock: { drive: 17, feedback: 15 },
  contactors: [
    { coil: 25, mirror: 26 },
    { coil: 27, mirror: 14 },
  ],
  rcm: { tripAc: 32, tripDc: 33, test: 13, testMs: 40 },
  interlock: { trip: 21 },
  watchdog: 22,
  temperature: { board: { pin: 35, seriesOhms: 10000, r25: 10000, beta: 3950 } },
  meterSpi: { clock: 18, in: 19, out: 23, select: 5, hz: 1_000_000 },
  dns: ["1.1.1.1", "8.8.8.8"],
};
