/**
 * Calibration constants of the board's metering IC, from the config store (key-value namespace "metercal",
 * written at end-of-line calibration). Every value is validated (firmware/storage/config-store.ts): a stored
 * value that is missing, malformed or out of range falls back to the default and is logged.
 */
import type { Hal } from "../../hal/index.js";
import { defaultCalibration, type Ade9000Calibration } from "../../hal/drivers/ade9000.js";
import { ConfigStore, type ConfigSchema } from "../storage/config-store.js";

const I32 = { type: "number", default: 0, min: -0x80000000, max: 0x7fffffff, integer: true } as const;

export const CALIBRATION_SCHEMA = {
  igainA: I32, igainB: I32, igainC: I32,
  vgainA: I32, vgainB: I32, vgainC: I32,
  pgainA: I32, pgainB: I32, pgainC: I32,
  irmsosA: I32, irmsosB: I32, irmsosC: I32,
  vrmsosA: I32, vrmsosB: I32, vrmsosC: I32,
  wattosA: I32, wattosB: I32, wattosC: I32,
  noLoad: { type: "number", default: 2_000, min: 0, max: 0xffffff, integer: true },
  zxThreshold: { type: "number", default: 0x0a00, min: 0, max: 0xffff, integer: true },
  lineHz: { type: "number", default: 50, min: 50, max: 60, integer: true, enum: [50, 60] },
} as const satisfies ConfigSchema;

/** Reads the calibration from the "metercal" store; defaults when the store cannot be opened. */
export function loadMeterCalibration(hal: Hal): Ade9000Calibration {
  let store: ConfigStore<typeof CALIBRATION_SCHEMA>;
  try {
    store = new ConfigStore(hal.storage.keyValue.open({ path: "metercal" }), CALIBRATION_SCHEMA, {
      onInvalid: (key, reason) => hal.log.event("calibration", { key, invalid: reason }),
    });
  } catch (e) {
    hal.log.event("device-error", { device: "metercal", code: "open", message: (e as Error).message });
    return defaultCalibration();
  }
  const v = store.all();
  return {
    igain: [v.igainA, v.igainB, v.igainC],
    vgain: [v.vgainA, v.vgainB, v.vgainC],
    pgain: [v.pgainA, v.pgainB, v.pgainC],
    irmsos: [v.irmsosA, v.irmsosB, v.irmsosC],
    vrmsos: [v.vrmsosA, v.vrmsosB, v.vrmsosC],
    wattos: [v.wattosA, v.wattosB, v.wattosC],
    activeNoLoad: v.noLoad,
    zxThreshold: v.zxThreshold,
    lineHz: v.lineHz === 60 ? 60 : 50,
  };
}
