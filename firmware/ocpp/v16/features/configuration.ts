/**
 * GetConfiguration / ChangeConfiguration (Core profile) over the key registry (keys.ts), and the keys that
 * describe it: GetConfigurationMaxKeys (enforced), SupportedFeatureProfiles (built from the CALLs the installed
 * modules handle) and SupportedFeatureProfilesMaxLength.
 */
import { RpcError } from "../../rpc/errors.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";

/** Largest number of keys one GetConfiguration.req may ask for. */
export const GET_CONFIGURATION_MAX_KEYS = 100;

/** Feature profiles and a CSMS-initiated CALL that shows a module of that profile is installed. */
const PROFILE_MARKERS: ReadonlyArray<readonly [string, string]> = [
  ["FirmwareManagement", "UpdateFirmware"],
  ["LocalAuthListManagement", "SendLocalList"],
  ["Reservation", "ReserveNow"],
  ["SmartCharging", "SetChargingProfile"],
  ["RemoteTrigger", "TriggerMessage"],
];

/** The profiles the installed modules implement: Core always, the others when their CALLs are handled. */
export function supportedProfiles(ctx: Ocpp16Context): string {
  let out = "Core";
  for (const [profile, action] of PROFILE_MARKERS) if (ctx.handles(action)) out += "," + profile;
  return out;
}

export const configuration: Ocpp16Feature = {
  name: "configuration",
  install(ctx: Ocpp16Context): void {
    const keys = ctx.keys;
    keys.define("GetConfigurationMaxKeys", { type: "integer", default: String(GET_CONFIGURATION_MAX_KEYS), readonly: true });
    keys.define("SupportedFeatureProfilesMaxLength", { type: "integer", default: "6", readonly: true });
    keys.define("SupportedFeatureProfiles", { type: "csl", default: "Core", readonly: true, volatile: true });
    // Modules installed after this one count too: refresh when the list is read and when the link opens.
    const refresh = (): void => {
      const v = supportedProfiles(ctx);
      if (v !== keys.get("SupportedFeatureProfiles")) keys.setInternal("SupportedFeatureProfiles", v);
    };
    ctx.listen({ connection: refresh });

    ctx.handle("GetConfiguration", (p) => {
      const wanted = p["key"] as string[] | undefined;
      const max = keys.getInt("GetConfigurationMaxKeys");
      if (wanted !== undefined && wanted.length > max) {
        throw new RpcError("OccurenceConstraintViolation", `at most ${max} keys per GetConfiguration (GetConfigurationMaxKeys)`);
      }
      refresh();
      const { configurationKey, unknownKey } = keys.list(wanted);
      const out: Record<string, unknown> = {};
      if (configurationKey.length > 0) out["configurationKey"] = configurationKey;
      if (unknownKey.length > 0) out["unknownKey"] = unknownKey;
      return out;
    });

    ctx.handle("ChangeConfiguration", (p) => {
      const key = p["key"] as string;
      const status = keys.change(key, p["value"] as string);
      ctx.log("configuration", { key, status });
      return { status };
    });
  },
};
