/**
 * What a DC charger's output sees of the car (the contract between the EVSE-side DC models, simulator/models/dc.ts,
 * and the EV model, simulator/models/ev.ts). The car's high-voltage battery sits behind its own DC contactors at the
 * inlet; the charger's power module pushes current into it through the board's output contactor (contactor 0).
 * Platform-neutral.
 */
export interface DcLoad {
  /** The car's DC contactors are closed: its battery is on the inlet (else the inlet is open circuit). */
  readonly dcContactorClosed: boolean;
  /** Battery open-circuit voltage at the present state of charge, V. */
  batteryVoltage(): number;
  /** Battery internal resistance (plus cable), ohms: terminal voltage = OCV + I·R while charging. */
  readonly batteryOhms: number;
  /** The largest current the battery accepts now (its BMS limit at this SoC), A. */
  dcCurrentLimit(): number;
  /** Energy delivered into the battery over an interval, Wh (raises the state of charge). */
  acceptDcWh(wh: number): void;
}
