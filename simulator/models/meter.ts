/**
 * An energy meter that is physically consistent by construction.
 *
 *  - Per phase: P_i = V_i · |I_i| · PF · sign(I_i)  (I > 0 import, grid → car; I < 0 export, V2G).
 *  - The registers integrate the total active power exactly over virtual time, piecewise constant between
 *    steps: step(now, …) first adds P_held · (now − last) to the import (P > 0) or export (P < 0) register,
 *    then holds the new values. Wh are float64 and never rounded.
 *  - read() returns exactly the held values, so P = V·I·PF holds at every reading, to the last bit.
 *
 * The meter sits upstream of the contactor (the usual wallbox layout), so it reads the grid voltage even
 * while the contacts are open.
 */
import type { MeterReading } from "../../hal/metering.js";

export class MeterModel {
  private readonly v = [0, 0, 0];
  private readonly i = [0, 0, 0];
  private readonly p = [0, 0, 0];
  private f = 50;
  private lastT: number;
  private importWh: number;
  private exportWh: number;

  constructor(init: { energyImportWh?: number; energyExportWh?: number } = {}, now = 0) {
    const imp = init.energyImportWh ?? 0;
    const exp = init.energyExportWh ?? 0;
    if (!Number.isFinite(imp) || imp < 0 || !Number.isFinite(exp) || exp < 0) throw new RangeError("MeterModel: bad initial register");
    this.importWh = imp;
    this.exportWh = exp;
    this.lastT = now;
  }

  /**
   * Integrates the interval since the last step with the held values, then holds the new ones.
   * `amps` are signed (negative = export). `pf` is the load's power factor (0 < pf ≤ 1).
   */
  step(now: number, volts: ArrayLike<number>, amps: ArrayLike<number>, pf: number, frequency: number): void {
    if (!Number.isFinite(now) || now < this.lastT) throw new RangeError(`MeterModel.step: bad time ${now} (last ${this.lastT})`);
    if (!(pf > 0 && pf <= 1)) throw new RangeError(`MeterModel.step: bad power factor ${pf}`);
    const dt = now - this.lastT;
    if (dt > 0) {
      const pTot = this.p[0] + this.p[1] + this.p[2];
      const wh = (pTot * dt) / 3600000;
      if (wh > 0) this.importWh += wh;
      else if (wh < 0) this.exportWh -= wh;
    }
    this.lastT = now;
    for (let k = 0; k < 3; k++) {
      const v = volts[k] ?? 0;
      const a = amps[k] ?? 0;
      if (!Number.isFinite(v) || !Number.isFinite(a)) throw new RangeError("MeterModel.step: non-finite voltage or current");
      this.v[k] = v;
      this.i[k] = a;
      this.p[k] = v * a * pf;
    }
    this.f = frequency;
  }

  get energyImport(): number {
    return this.importWh;
  }

  get energyExport(): number {
    return this.exportWh;
  }

  /** Total active power now, W (positive = import). */
  get totalPower(): number {
    return this.p[0] + this.p[1] + this.p[2];
  }

  /** Fills `into` (hal/metering.ts MeterReading) without allocating when its arrays exist. */
  read(into: MeterReading): MeterReading {
    if (!Array.isArray(into.voltage)) into.voltage = [];
    if (!Array.isArray(into.current)) into.current = [];
    if (!Array.isArray(into.power)) into.power = [];
    for (let k = 0; k < 3; k++) {
      into.voltage[k] = this.v[k];
      into.current[k] = Math.abs(this.i[k]);
      into.power[k] = this.p[k];
    }
    into.frequency = this.f;
    into.energyImport = this.importWh;
    into.energyExport = this.exportWh;
    return into;
  }
}
