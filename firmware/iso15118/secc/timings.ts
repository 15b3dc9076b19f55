/**
 * The SECC's timers (ms). Working values from public implementations and test environments
 * (/work/shared/iso15118/README.md); every one is a firmware config key (firmware/config.ts, prefix v2g / din /
 * iso20). The channel runs the sequence and communication-setup timers itself; the response-time figures are for
 * the session layer (DIN 70121 / ISO 15118-2 / -20), which must answer within them.
 */
export interface SeccTimings {
  /** ISO 15118-2 / DIN: no next request for this long after a response → the session ends (60 s). */
  sequenceTimeout: number;
  /** ISO 15118-2 V2G_SECC_CommunicationSetup: SLAC match → session set up (SessionSetupRes sent) (18 s). */
  communicationSetup: number;
  /** ISO 15118-2 / DIN CurrentDemandRes (25 ms). */
  currentDemandRes: number;
  /** ISO 15118-2 PowerDeliveryRes (4.5 s). */
  powerDeliveryRes: number;
  /** ISO 15118-2 / DIN most other responses, ChargingStatusRes included (1.5 s). */
  defaultRes: number;
  /** ISO 15118-2: contactor closed after state C (≤ 3 s). */
  contactorClose: number;
  /** DIN CableCheck (38 s) and PreCharge (5 s), charger side. */
  cableCheck: number;
  preCharge: number;
  /** ISO 15118-20 DC_ChargeLoopRes (250 ms), other responses (1.5 s), the slow ones (4.5 s). */
  iso20ChargeLoopRes: number;
  iso20DefaultRes: number;
  iso20SlowRes: number;
  /** ISO 15118-20 sequence (60 s) and ongoing (55 s) timeouts. */
  iso20SequenceTimeout: number;
  iso20OngoingTimeout: number;
}

export function defaultSeccTimings(): SeccTimings {
  return {
    sequenceTimeout: 60_000,
    communicationSetup: 18_000,
    currentDemandRes: 25,
    powerDeliveryRes: 4_500,
    defaultRes: 1_500,
    contactorClose: 3_000,
    cableCheck: 38_000,
    preCharge: 5_000,
    iso20ChargeLoopRes: 250,
    iso20DefaultRes: 1_500,
    iso20SlowRes: 4_500,
    iso20SequenceTimeout: 60_000,
    iso20OngoingTimeout: 55_000,
  };
}
