/**
 * Local authorization (OCPP 1.6 LocalAuthListManagement profile, the Authorization Cache, the offline rules):
 * SendLocalList / GetLocalListVersion / ClearCache, and the authorization chain `ctx.authorizer` the session
 * uses for every identification:
 *
 *  1. Local knowledge: the Local Authorization List (LocalAuthListEnabled) first, then the cache
 *     (AuthorizationCacheEnabled); an entry past its expiryDate counts as Expired.
 *  2. Online (connected and registered): a locally Accepted id starts at once without an Authorize.req when
 *     LocalPreAuthorize is true (the StartTransaction.conf still checks it: StopTransactionOnInvalidId);
 *     otherwise Authorize.req decides, and its idTagInfo is cached. No answer (timeout, connection lost)
 *     falls through to the offline rules.
 *  3. Offline: a locally Accepted id starts when LocalAuthorizeOffline is true; a locally known but not
 *     Accepted one never does; an unknown one only when AllowOfflineTxForUnknownId is true.
 *
 * GetLocalListVersion answers -1 when the list is disabled (LocalAuthListEnabled false: for the CSMS the
 * charge point has no usable list, as the spec's "not supported" value says), 0 when the list is empty,
 * otherwise the version of the last accepted update. SendLocalList answers NotSupported while disabled.
 */
import type { AuthorizationInfo } from "../../../session/session.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";
import type { KeyDefinition } from "../keys.js";
import { AuthCache } from "./auth/cache.js";
import { LocalAuthList, type ListItem } from "./auth/local-list.js";
import { MemoryKeyValue } from "./auth/memory-kv.js";
import { effectiveStatus, entryFromIdTagInfo, type AuthEntry } from "./auth/records.js";

/** LocalAuthListMaxLength: bounded by the key-value store (NVS, 24 KB on the ESP32 layout), see README figures. */
export const LOCAL_LIST_MAX = 256;
/** SendLocalListMaxLength: entries per SendLocalList (bounds the frame a charge point must parse in RAM). */
export const SEND_LOCAL_LIST_MAX = 64;
/** Authorization Cache entries (one key-value string of at most 4000 bytes). */
export const CACHE_MAX = 50;

type Done = (accepted: boolean, detail: string, info?: AuthorizationInfo) => void;

/** Defines a key unless another module (e.g. Core) already did. */
function defineOnce(ctx: Ocpp16Context, key: string, def: KeyDefinition): void {
  if (!ctx.keys.has(key)) ctx.keys.define(key, def);
}

export const localAuth: Ocpp16Feature = {
  name: "local-auth",
  install(ctx: Ocpp16Context): void {
    const keys = ctx.keys;
    keys.define("LocalAuthListEnabled", { type: "boolean", default: "true" });
    keys.define("LocalAuthListMaxLength", { type: "integer", default: String(LOCAL_LIST_MAX), readonly: true });
    keys.define("SendLocalListMaxLength", { type: "integer", default: String(SEND_LOCAL_LIST_MAX), readonly: true });
    defineOnce(ctx, "AuthorizationCacheEnabled", { type: "boolean", default: "true" });
    defineOnce(ctx, "LocalAuthorizeOffline", { type: "boolean", default: "true" });
    defineOnce(ctx, "LocalPreAuthorize", { type: "boolean", default: "false" });
    defineOnce(ctx, "AllowOfflineTxForUnknownId", { type: "boolean", default: "false" });

    const kv = ctx.store ?? new MemoryKeyValue();
    const list = new LocalAuthList(kv, LOCAL_LIST_MAX);
    const cache = new AuthCache(ctx.store, CACHE_MAX);
    for (const p of [...list.problems, ...cache.problems]) ctx.log("auth-store", { problem: p });

    const nowS = () => Math.floor(ctx.hal.clock.wall() / 1000);
    const listOn = () => keys.getBool("LocalAuthListEnabled");
    const cacheOn = () => keys.getBool("AuthorizationCacheEnabled");
    const inList = (idTag: string) => listOn() && list.lookup(idTag) !== null;

    /** Caches what the CSMS said about an idTag (not for ids of the local list: the list has precedence). */
    const remember = (idTag: string, info: unknown) => {
      if (!cacheOn() || info === null || typeof info !== "object" || inList(idTag)) return;
      const entry = entryFromIdTagInfo(idTag, info as Record<string, unknown>);
      if (entry) cache.put(entry, nowS());
    };

    const local = (idTag: string): { entry: AuthEntry; from: string } | null => {
      if (listOn()) {
        const e = list.lookup(idTag);
        if (e) return { entry: e, from: "list" };
      }
      if (cacheOn()) {
        const e = cache.get(idTag);
        if (e) return { entry: e, from: "cache" };
      }
      return null;
    };

    const decide = (idTag: string, accepted: boolean, detail: string, parent: string | null, done: Done) => {
      ctx.log("auth", { idTag, accepted, detail });
      done(accepted, detail, { parentIdTag: parent });
    };

    const offline = (idTag: string, known: { entry: AuthEntry; from: string } | null, done: Done) => {
      if (known) {
        const status = effectiveStatus(known.entry, nowS());
        const ok = status === "Accepted" && keys.getBool("LocalAuthorizeOffline");
        decide(idTag, ok, ok ? `offline-${known.from}` : status === "Accepted" ? "offline" : status, known.entry.parentIdTag, done);
      } else {
        const ok = keys.getBool("AllowOfflineTxForUnknownId");
        decide(idTag, ok, ok ? "offline-unknown" : "offline", null, done);
      }
    };

    ctx.authorizer = (idTag, done) => {
      const known = local(idTag);
      if (!ctx.online || !ctx.registered) {
        offline(idTag, known, done);
        return;
      }
      if (known && keys.getBool("LocalPreAuthorize") && effectiveStatus(known.entry, nowS()) === "Accepted") {
        decide(idTag, true, known.from, known.entry.parentIdTag, done);
        return;
      }
      ctx.call("Authorize", { idTag }, (error, result) => {
        if (error || !result) {
          if (error && (error.details["transport"] || error.details["timeout"])) offline(idTag, known, done);
          else decide(idTag, false, error ? error.code : "no answer", null, done);
          return;
        }
        const info = result["idTagInfo"] as Record<string, unknown>;
        remember(idTag, info);
        const parent = typeof info["parentIdTag"] === "string" ? (info["parentIdTag"] as string) : null;
        decide(idTag, info["status"] === "Accepted", String(info["status"]), parent, done);
      });
    };

    // StartTransaction.conf: its idTagInfo refreshes the cache and tells the transaction's parentIdTag.
    const tags = new Map<number, string>();
    ctx.session.listen({
      started(s) {
        tags.set(s.number, s.idTag);
        if (tags.size > 8) tags.delete(tags.keys().next().value!);
      },
    });
    ctx.listen({
      startConfirmed(session, result) {
        const idTag = tags.get(session);
        tags.delete(session);
        const info = result["idTagInfo"] as Record<string, unknown> | undefined;
        if (idTag === undefined || !info) return;
        remember(idTag, info);
        const cur = ctx.session.current;
        if (cur && cur.number === session && cur.parentIdTag === null && typeof info["parentIdTag"] === "string") cur.parentIdTag = info["parentIdTag"] as string;
      },
      // StopTransaction.conf: its idTagInfo is about the idTag of the StopTransaction.req; it refreshes the cache.
      stopConfirmed(_session, idTag, result) {
        const info = result["idTagInfo"];
        if (idTag !== undefined && info !== undefined) remember(idTag, info);
      },
    });

    ctx.handle("SendLocalList", (p) => {
      if (!listOn()) return { status: "NotSupported" };
      const items = (p["localAuthorizationList"] as ListItem[] | undefined) ?? [];
      const status = items.length > SEND_LOCAL_LIST_MAX ? "Failed" : list.update(p["updateType"] as "Full" | "Differential", p["listVersion"] as number, items);
      ctx.log("local-list", { status, version: list.listVersion, entries: list.size });
      return { status };
    });
    ctx.handle("GetLocalListVersion", () => ({ listVersion: listOn() ? list.listVersion : -1 }));
    ctx.handle("ClearCache", () => {
      if (!cacheOn()) return { status: "Rejected" };
      try {
        cache.clear();
      } catch {
        return { status: "Rejected" };
      }
      return { status: "Accepted" };
    });
  },
};
