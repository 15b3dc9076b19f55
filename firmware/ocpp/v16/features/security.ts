/**
 * Security (OCPP 1.6 security whitepaper, edition 3): security profiles 1–3 and SecurityEventNotification.
 *
 * - Profile 0: ws://, no credentials. 1: ws:// + HTTP Basic auth. 2: wss:// (the server certificate is
 *   validated against the CentralSystemRootCertificate, config `csmsCaCertificate`) + Basic auth. 3: wss://
 *   with the client certificate (config `clientCertificate`, key `clientKeyName` in the secure element).
 *   Basic auth: user = the charge point id, password = the AuthorizationKey (hex of 16..20 bytes, decoded),
 *   or the factory `basicAuthPassword` until the CSMS sets one.
 * - Keys: AuthorizationKey (write-only: GetConfiguration lists it without a value; a change reconnects with
 *   the new password, TC_073) and SecurityProfile (an upgrade whose prerequisites are met is Accepted and
 *   reconnects with the new profile, TC_083; a downgrade, or an upgrade without the certificate / URL /
 *   password it needs, is Rejected, TC_084).
 * - SecurityEventNotification (the whitepaper's critical events): StartupOfTheDevice, ResetOrReboot,
 *   FirmwareUpdated, ReconfigurationOfSecurityParameters, InvalidCentralSystemCertificate (TLS refused the CSMS
 *   certificate), FailedToAuthenticateAtCentralSystem (HTTP 401). Sent as the real SecurityEventNotification
 *   CALL (ocpp-rpc's strict 1.6 schemas include the security extension), queued until registered.
 *
 * Not here: the certificate-management and log messages of the extension (InstallCertificate,
 * SignCertificate, GetLog, SignedUpdateFirmware, ...): the generated 1.6 validators (ocpp-messages, 28
 * actions) do not know them, so a CALL of those is answered NotImplemented by the charge point's validator.
 */
import { base64Encode } from "../../../util/base64.js";
import { utf8Encode } from "../../../util/utf8.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";
import { Outbox, whenFirmwareInstalled } from "./firmware.js";

/** "" or 32..40 hex digits of even length (16..20 bytes). */
export function checkAuthorizationKey(value: string): string | null {
  if (value === "") return null;
  if (value.length < 32 || value.length > 40 || value.length % 2 !== 0) return "must be 32..40 hex digits (16..20 bytes)";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return "not hexadecimal";
  }
  return null;
}

export function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export class Security {
  private profile: number;
  private readonly outbox: Outbox;

  constructor(private readonly ctx: Ocpp16Context) {
    const cfg = ctx.config;
    this.outbox = new Outbox(ctx, 32);
    this.profile = cfg.securityProfile;
    ctx.keys.define("AuthorizationKey", {
      type: "string",
      default: "",
      writeOnly: true,
      rule: checkAuthorizationKey,
      onChange: () => {
        this.event("ReconfigurationOfSecurityParameters", "AuthorizationKey changed");
        this.apply();
        if (this.profile === 1 || this.profile === 2) this.reconnectSoon("new AuthorizationKey");
      },
    });
    ctx.keys.define("SecurityProfile", {
      type: "integer",
      default: String(cfg.securityProfile),
      min: 0,
      max: 3,
      rule: (v) => this.refuseProfile(parseInt(v, 10)),
      onChange: (v) => {
        const from = this.profile;
        this.profile = parseInt(v, 10);
        if (this.profile === from) return;
        this.event("ReconfigurationOfSecurityParameters", `SecurityProfile ${from} -> ${this.profile}`);
        this.apply();
        this.reconnectSoon(`security profile ${this.profile}`);
      },
    });
    this.profile = Math.max(cfg.securityProfile, ctx.keys.getInt("SecurityProfile"));
    this.apply();

    const reason = ctx.hal.system.bootReason;
    this.event("StartupOfTheDevice", `boot reason ${reason}`);
    if (reason !== "power-on") this.event("ResetOrReboot", `boot reason ${reason}`);
    whenFirmwareInstalled(ctx, () => this.event("FirmwareUpdated", "booted into the new image"));
    ctx.listen({
      connectFailed: (e) => {
        if (e.code === "ETLS" && this.profile >= 2) this.event("InvalidCentralSystemCertificate", e.message.slice(0, 255));
        else if (e.code === "EHTTP401") this.event("FailedToAuthenticateAtCentralSystem", "HTTP 401 on the WebSocket upgrade");
      },
    });
  }

  get securityProfile(): number {
    return this.profile;
  }

  /** Why a SecurityProfile value cannot be taken now, or null. */
  private refuseProfile(n: number): string | null {
    if (n < this.profile) return "downgrade of the security profile";
    if (n === this.profile) return null;
    const cfg = this.ctx.config;
    if ((n === 1 || n === 2) && this.password().length < 16) return "no AuthorizationKey";
    if (n >= 2 && cfg.csmsCaCertificate === "") return "no CentralSystemRootCertificate";
    if (n >= 2 && !cfg.csmsUrl.startsWith("wss://") && cfg.csmsTlsUrl === "") return "no wss:// URL";
    if (n === 3 && (cfg.clientCertificate === "" || cfg.clientKeyName === "")) return "no ChargePointCertificate";
    return null;
  }

  /** The Basic-auth password bytes: the AuthorizationKey decoded, else the factory password. */
  private password(): Uint8Array {
    const key = this.ctx.keys.get("AuthorizationKey");
    return key !== "" ? hexBytes(key) : utf8Encode(this.ctx.config.basicAuthPassword);
  }

  /** Sets the link's endpoint for the current profile (used from the next connection on). */
  private apply(): void {
    const cfg = this.ctx.config;
    const p = this.profile;
    const base = p >= 2 && !cfg.csmsUrl.startsWith("wss://") && cfg.csmsTlsUrl !== "" ? cfg.csmsTlsUrl : cfg.csmsUrl;
    const url = `${base.replace(/\/+$/, "")}/${cfg.chargePointId}`;
    const headers: Record<string, string> = {};
    if (p === 1 || p === 2) {
      const user = utf8Encode(`${cfg.chargePointId}:`);
      const pass = this.password();
      const both = new Uint8Array(user.length + pass.length);
      both.set(user, 0);
      both.set(pass, user.length);
      headers["Authorization"] = "Basic " + base64Encode(both);
    }
    let secure = null;
    if (url.startsWith("wss://")) {
      secure = {
        ...(cfg.csmsCaCertificate ? { ca: [cfg.csmsCaCertificate] } : {}),
        ...(p === 3 ? { certificate: cfg.clientCertificate, key: cfg.clientKeyName } : {}),
      };
    }
    this.ctx.link.configure({ url, headers, secure });
    this.ctx.log("security", { profile: p, url, basicAuth: headers["Authorization"] !== undefined, tls: secure !== null });
  }

  /** Reconnects after the CALLRESULT that changed the configuration has gone out. */
  private reconnectSoon(reason: string): void {
    this.ctx.hal.timers.set(() => this.ctx.link.reconnect(reason), 0);
  }

  /** Queues a SecurityEventNotification (delivered once registered, also after a reconnect). */
  event(type: string, techInfo?: string): void {
    const payload: Record<string, unknown> = { type, timestamp: this.ctx.now() };
    if (techInfo) payload["techInfo"] = techInfo.slice(0, 255);
    this.ctx.log("security-event", { type, techInfo: techInfo ?? "" });
    this.outbox.send("SecurityEventNotification", payload);
  }
}

const instances = new WeakMap<Ocpp16Context, Security>();

/** Reports a security event from another module (e.g. InvalidMessages); no-op without the security module. */
export function securityEvent(ctx: Ocpp16Context, type: string, techInfo?: string): void {
  instances.get(ctx)?.event(type, techInfo);
}

export const security: Ocpp16Feature = {
  name: "security",
  install(ctx: Ocpp16Context): void {
    instances.set(ctx, new Security(ctx));
  },
};
