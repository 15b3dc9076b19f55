/**
 * Known interoperability deviations of modems and cars met during SLAC, each with the evidence it rests on.
 * A quirk applies to a peer by the OUI (first three bytes) of its MAC, or by behaviour (then it is opt-in
 * through SlacConfig.behaviourQuirks, because acting on a behaviour weakens a check for every peer).
 */

export interface SlacQuirkEffects {
  /** CM_SET_KEY.CNF with Result != 0 is taken as success (the key is in use nonetheless). */
  setKeyResultIgnored?: boolean;
  /**
   * The modem emits no CM_ATTEN_PROFILE.IND: when the sounding window ends with CM_MNBC_SOUND.INDs received but no
   * profile, report a flat profile of this attenuation (dB) over the sounds received. Only sound on a charger
   * whose cable cannot be crosstalked (one EVSE, one EV): the attenuation then carries no information.
   */
  flatProfileDb?: number;
}

export interface SlacQuirk {
  id: string;
  /** The modem's OUIs ("88:FC:A6"), matched against the source MAC of its CM_SET_KEY.CNF / CM_ATTEN_PROFILE.IND. */
  modemOui?: string[];
  /** The car's OUIs, matched against the EV MAC of CM_SLAC_PARM.REQ. */
  evOui?: string[];
  /** A behaviour-keyed quirk: applies only when its id is listed in SlacConfig.behaviourQuirks. */
  behaviour?: boolean;
  effects: SlacQuirkEffects;
  /** Where the deviation was seen. */
  source: string;
}

export const SLAC_QUIRKS: readonly SlacQuirk[] = [
  {
    id: "set-key-result-1",
    modemOui: ["88:FC:A6", "BC:F2:AF"],
    effects: { setKeyResultIgnored: true },
    source:
      "/work/shared/iso15118/README.md (\"one modem answers CM_SET_KEY with result 1 although the key is then in use\"); " +
      "slac-frames.jsonl: every CM_SET_KEY.CNF from 88:FC:A6:1C:7C:88 (dsV2Gshark DIN_DC_DS5366_Josev, ISO-20_BPT_AC, " +
      "ISO-20_TLS13_DC, IEC61851_AC_PWM_Basic) and from BC:F2:AF:F1:CC:0C (ISO-20_mTLS_DC) carries Result 1, and the " +
      "sessions then match with that NMK (CM_SLAC_MATCH.CNF, V2G traffic follows)",
  },
  {
    id: "no-atten-profile",
    behaviour: true,
    effects: { flatProfileDb: 20 },
    source:
      "qca/open-plc-utils issue #156 (\"bad mmv\"): the AR7420 in its default configuration generates no CM_ATTEN_PROFILE " +
      "frames; the workaround reported there fakes the profile for a one-EVSE-one-EV setup",
  },
];

/** "88:FC:A6" of a 6-byte MAC. */
export function ouiOf(mac: Uint8Array): string {
  const h = "0123456789ABCDEF";
  let s = "";
  for (let i = 0; i < 3; i++) {
    if (i) s += ":";
    s += h[mac[i]! >> 4]! + h[mac[i]! & 15]!;
  }
  return s;
}

/** The merged effects of the quirks that apply to this modem / EV. */
export function quirkEffects(
  table: readonly SlacQuirk[],
  who: { modem?: Uint8Array; ev?: Uint8Array },
  behaviourQuirks: readonly string[],
): { effects: SlacQuirkEffects; ids: string[] } {
  const effects: SlacQuirkEffects = {};
  const ids: string[] = [];
  const modemOui = who.modem ? ouiOf(who.modem) : "";
  const evOui = who.ev ? ouiOf(who.ev) : "";
  for (const q of table) {
    const hit =
      (q.behaviour === true && behaviourQuirks.includes(q.id)) ||
      (modemOui !== "" && q.modemOui !== undefined && q.modemOui.includes(modemOui)) ||
      (evOui !== "" && q.evOui !== undefined && q.evOui.includes(evOui));
    if (!hit) continue;
    ids.push(q.id);
    if (q.effects.setKeyResultIgnored) effects.setKeyResultIgnored = true;
    if (q.effects.flatProfileDb !== undefined) effects.flatProfileDb = q.effects.flatProfileDb;
  }
  return { effects, ids };
}
