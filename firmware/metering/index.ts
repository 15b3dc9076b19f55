/**
 * firmware/metering: energy accounting (energy.ts), the accounted Meter and the power-fail commit (meter.ts),
 * the metering IC's calibration (calibration.ts), OCMF signed meter values (ocmf.ts, signed.ts).
 */
import type { Hal, KeyValue } from "../../hal/index.js";
import type { Session } from "../session/session.js";
import type { AccountedMeter } from "./meter.js";
import { SignedMeterService } from "./signed.js";

export { AccountedMeter } from "./meter.js";
export { EnergyAccounting } from "./energy.js";
export { SignedMeterService, signedMeterFor, type SignedMeterValues } from "./signed.js";

/**
 * Wires metering into a session: the registers are committed at every transaction start and end, and, when
 * `signed`, the OCMF service is attached to the session (the OCPP modules find it with signedMeterFor()).
 * Call before the protocol stacks listen to the session, so that the signed data is ready when they build
 * their messages.
 */
export function installMetering(hal: Hal, session: Session, meter: AccountedMeter, signed: boolean, gatewayVersion: string): SignedMeterService | null {
  session.listen({
    started: () => meter.commit("session-start"),
    ended: () => meter.commit("session-end"),
  });
  if (!signed) return null;
  let store: KeyValue | null = null;
  try {
    store = hal.storage.keyValue.open({ path: "meter" });
  } catch {
    store = null;
  }
  const b = hal.board;
  const ic = b.meterIc;
  const service = new SignedMeterService(hal, {
    identity: {
      GI: b.model,
      GS: b.serialNumber,
      GV: gatewayVersion,
      MV: ic ? "Analog Devices" : b.vendor,
      MM: ic ? "ADE9000" : "board meter",
      MS: `${b.serialNumber}-M1`,
      MF: "",
    },
    meterFault: () => (meter.device as { fault?: string }).fault ?? "",
    store,
  });
  service.attach(session);
  return service;
}
