/**
 * OCPP 1.6 SampledValue lists from a meter reading: the measurands this charge point supports, with the
 * units and phases OCPP expects (Energy Wh and Power W as totals, Current.Import per phase L1..L3 in A,
 * Voltage per phase L1-N.. in V, Frequency Hz without a phase, Temperature in Celsius at the Body,
 * Current.Offered the current signalled to the EV, A; SoC the EV's state of charge as the car reported it
 * (ISO 15118 / DIN 70121), an integer in Percent at location EV, and no value at all while none is known).
 */
import type { MeterReading } from "../../../hal/index.js";

export const MEASURANDS = [
  "Energy.Active.Import.Register",
  "Power.Active.Import",
  "Current.Import",
  "Voltage",
  "Frequency",
  "Temperature",
  "Current.Offered",
  "SoC",
] as const;

export type Measurand = (typeof MEASURANDS)[number];

export interface MeterSources {
  reading: MeterReading;
  phases: number;
  /** Degrees Celsius, or NaN when there is no sensor. */
  temperature(): number;
  /** The current offered to the EV, A per phase. */
  offered(): number;
  /** The EV's state of charge, % (0..100), or null when the EV has not reported one. Absent: never known. */
  soc?(): number | null;
}

type Sv = Record<string, unknown>;

/** Appends the sampled values of `measurands` (in the order given) with this context to `out`. */
export function sampledValues(measurands: readonly string[], context: string, src: MeterSources, out: Sv[] = []): Sv[] {
  const m = src.reading;
  for (const name of measurands) {
    switch (name) {
      case "Energy.Active.Import.Register":
        out.push({ value: String(Math.floor(m.energyImport)), context, measurand: name, unit: "Wh" });
        break;
      case "Power.Active.Import": {
        let p = 0;
        for (let i = 0; i < 3; i++) p += m.power[i]! > 0 ? m.power[i]! : 0;
        out.push({ value: p.toFixed(0), context, measurand: name, unit: "W" });
        break;
      }
      case "Current.Import":
        for (let i = 0; i < src.phases; i++) out.push({ value: m.current[i]!.toFixed(1), context, measurand: name, phase: `L${i + 1}`, unit: "A" });
        break;
      case "Voltage":
        for (let i = 0; i < src.phases; i++) out.push({ value: m.voltage[i]!.toFixed(1), context, measurand: name, phase: `L${i + 1}-N`, unit: "V" });
        break;
      case "Frequency":
        // Hz is not in the 1.6 UnitOfMeasure list: Frequency goes without a unit (the spec's own examples do so).
        out.push({ value: m.frequency.toFixed(2), context, measurand: name });
        break;
      case "Temperature": {
        const t = src.temperature();
        if (Number.isFinite(t)) out.push({ value: t.toFixed(1), context, measurand: name, location: "Body", unit: "Celsius" });
        break;
      }
      case "Current.Offered":
        out.push({ value: src.offered().toFixed(1), context, measurand: name, unit: "A" });
        break;
      case "SoC": {
        const sv = socSampledValue(src.soc ? src.soc() : null, context);
        if (sv !== null) out.push(sv);
        break;
      }
    }
  }
  return out;
}

/**
 * The SampledValue of the EV's state of charge: an integer (rounded down, so "100" means full), unit Percent,
 * location EV; null when no valid SoC (finite, 0..100) is known: the value is left out, never a made-up 0.
 */
export function socSampledValue(soc: number | null | undefined, context: string): Sv | null {
  if (typeof soc !== "number" || !(soc >= 0 && soc <= 100)) return null;
  return { value: String(Math.floor(soc)), context, measurand: "SoC", location: "EV", unit: "Percent" };
}
