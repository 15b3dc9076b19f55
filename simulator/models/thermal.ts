/**
 * First-order thermal model per temperature sensor:
 *
 *   τ · dT/dt = T_ss − T,   T_ss = T_ambient + selfHeatingK + k · f · Σ I_i²
 *
 * (a thermal resistance R_th and capacitance C give τ = R_th·C; the ohmic losses of the current path give
 * k = R_th · R_el, in K/A²). `f` is the fault factor: 1 normally; a loose terminal multiplies the contact
 * resistance and so the heating (overheat(sensor, factor)).
 *
 * Integration: backward Euler, T ← (T + a·T_ss)/(1 + a) with a = dt/τ, which is unconditionally stable and
 * uses arithmetic only (no exp), so it is bit-identical on every IEEE engine. With 10 ms steps and τ of
 * minutes the difference from the exact exponential is negligible (a ≈ 2·10⁻⁵).
 *
 * Default calibration (typical design targets, not normative figures): at the rated current on every
 * phase the connector rises 30 K, the relay 25 K and the board 10 K (plus 8 K of electronics self-heating).
 * IEC 62196-1 allows a 50 K terminal temperature rise, so a loose terminal at factor 4..5 is well over it.
 */

export interface ThermalSensorConfig {
  /** Steady-state rise per Σ I², K/A². */
  kPerA2: number;
  /** Time constant, s. */
  tauS: number;
  /** Constant rise from the sensor's own surroundings (electronics), K. */
  selfHeatingK: number;
}

/** Default sensors calibrated for `ratedCurrent` A on each of `phases` phases. */
export function defaultThermalSensors(ratedCurrent: number, phases: 1 | 3): Record<string, ThermalSensorConfig> {
  const i2 = phases * ratedCurrent * ratedCurrent;
  return {
    connector: { kPerA2: 30 / i2, tauS: 600, selfHeatingK: 0 },
    relay: { kPerA2: 25 / i2, tauS: 300, selfHeatingK: 0 },
    board: { kPerA2: 10 / i2, tauS: 900, selfHeatingK: 8 },
  };
}

interface Sensor extends ThermalSensorConfig {
  t: number;
  fault: number;
}

export class ThermalModel {
  private ambientC: number;
  private readonly sensors = new Map<string, Sensor>();
  private lastT: number;

  constructor(ambientC: number, sensors: Record<string, ThermalSensorConfig>, now = 0) {
    if (!Number.isFinite(ambientC)) throw new RangeError("ThermalModel: bad ambient");
    this.ambientC = ambientC;
    for (const name of Object.keys(sensors)) {
      const s = sensors[name];
      if (!(s.kPerA2 >= 0 && Number.isFinite(s.kPerA2)) || !(s.tauS > 0 && Number.isFinite(s.tauS)) || !Number.isFinite(s.selfHeatingK)) {
        throw new RangeError(`ThermalModel: bad sensor ${name}`);
      }
      this.sensors.set(name, { ...s, t: ambientC + s.selfHeatingK, fault: 1 });
    }
    this.lastT = now;
  }

  /** Advances to `now` with the currents (A per phase) that flowed since the last step. */
  step(now: number, amps: ArrayLike<number>): void {
    if (!Number.isFinite(now) || now < this.lastT) throw new RangeError(`ThermalModel.step: bad time ${now}`);
    const dtS = (now - this.lastT) / 1000;
    this.lastT = now;
    if (dtS === 0) return;
    let i2 = 0;
    for (let k = 0; k < amps.length && k < 3; k++) i2 += amps[k] * amps[k];
    for (const s of this.sensors.values()) {
      const tss = this.ambientC + s.selfHeatingK + s.kPerA2 * s.fault * i2;
      const a = dtS / s.tauS;
      s.t = (s.t + a * tss) / (1 + a);
    }
  }

  private sensor(name: string): Sensor {
    const s = this.sensors.get(name);
    if (s === undefined) throw new RangeError(`unknown temperature sensor "${name}"`);
    return s;
  }

  /** Temperature of a sensor, °C. Unknown name: RangeError. */
  temperature(name: string): number {
    return this.sensor(name).t;
  }

  /** The steady-state temperature the sensor is heading for with the given currents, °C. */
  steadyState(name: string, amps: ArrayLike<number>): number {
    const s = this.sensor(name);
    let i2 = 0;
    for (let k = 0; k < amps.length && k < 3; k++) i2 += amps[k] * amps[k];
    return this.ambientC + s.selfHeatingK + s.kPerA2 * s.fault * i2;
  }

  sensorNames(): string[] {
    return [...this.sensors.keys()];
  }

  get ambient(): number {
    return this.ambientC;
  }

  setAmbient(c: number): void {
    if (!Number.isFinite(c)) throw new RangeError("ThermalModel.setAmbient: bad temperature");
    this.ambientC = c;
  }

  /** Loose-terminal fault: the sensor's ohmic heating is multiplied by `factor` (≥ 1; 1 clears it). */
  overheat(name: string, factor = 5): void {
    if (!(factor >= 1 && Number.isFinite(factor))) throw new RangeError("ThermalModel.overheat: factor must be ≥ 1");
    this.sensor(name).fault = factor;
  }
}
