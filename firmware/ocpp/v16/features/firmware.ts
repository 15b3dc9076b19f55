/**
 * FirmwareManagement: UpdateFirmware (download at retrieveDate over HTTP(S) with retries, install into the
 * inactive A/B slot when no transaction runs, restart into it) with FirmwareStatusNotification.
 *
 * Life cycle: Downloading → Downloaded (or DownloadFailed after `retries` attempts, `retryInterval` apart) →
 * wait for the transaction to end → Installing → commit (the HAL verifies the image) → restart →
 * Installed after the next BootNotification; a rejected image is InstallationFailed (no restart).
 * The image streams from the socket into the slot; it is never held in RAM. The server must send a
 * Content-Length (the slot is sized up front); without one the download fails.
 *
 * Also the shared pieces of the transfer modules: an HTTP(S) URL parser, the HTTP client factory and the
 * Outbox that delivers status notifications once the charge point is registered (kept across reconnects).
 */
import type { HalError, HTTPClient, TimerId } from "../../../../hal/index.js";
import { parseIsoTime } from "../../../util/time.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";

export interface HttpUrl {
  secure: boolean;
  host: string;
  port: number;
  /** Path and query, starting with "/". */
  path: string;
}

/** Parses http:// and https:// URLs (user info is not supported); null for anything else. */
export function parseHttpUrl(url: string): HttpUrl | null {
  const m = /^(https?):\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(\/[^\s#]*)?(?:#.*)?$/.exec(url);
  if (!m) return null;
  const secure = m[1] === "https";
  const port = m[3] ? parseInt(m[3], 10) : secure ? 443 : 80;
  if (port < 1 || port > 65535) return null;
  return { secure, host: m[2]!, port, path: m[4] ?? "/" };
}

/** An HTTP client for the URL through the HAL (TLS trusts the configured CA when one is set), or null. */
export function httpClientFor(ctx: Ocpp16Context, url: HttpUrl): HTTPClient | null {
  const Http = ctx.hal.network.HTTPClient;
  if (!Http) return null;
  const ca = ctx.config.csmsCaCertificate;
  return new Http({ host: url.host, port: url.port, ...(url.secure ? { secure: ca ? { ca: [ca] } : {} } : {}) });
}

/**
 * Notifications that must reach the CSMS even across a lost connection: queued, sent one at a time once
 * registered, re-sent after a transport failure. Bounded: the oldest is dropped beyond `limit`.
 */
export class Outbox {
  private readonly queue: Array<{ action: string; payload: Record<string, unknown> }> = [];
  private busy = false;
  dropped = 0;

  constructor(private readonly ctx: Ocpp16Context, private readonly limit = 16) {
    ctx.listen({ registered: () => this.pump(), connection: (open) => open && this.pump() });
  }

  get length(): number {
    return this.queue.length;
  }

  send(action: string, payload: Record<string, unknown>): void {
    this.queue.push({ action, payload });
    if (this.queue.length > this.limit) {
      this.queue.shift();
      this.dropped++;
    }
    this.pump();
  }

  pump(): void {
    const ctx = this.ctx;
    if (this.busy || this.queue.length === 0 || !ctx.online || !ctx.registered) return;
    const next = this.queue[0]!;
    this.busy = true;
    ctx.call(next.action, next.payload, (error) => {
      this.busy = false;
      // A lost connection: keep it for the next one. An answer (even a CALLERROR or a timeout): done.
      if (error && error.details["transport"]) return;
      if (this.queue[0] === next) this.queue.shift();
      this.pump();
    });
  }
}

export type FirmwareStatus = "Idle" | "Downloading" | "Downloaded" | "DownloadFailed" | "Installing" | "Installed" | "InstallationFailed";

/** Persisted across the restart into the new image (key-value store "ocpp"). */
const STATE_KEY = "fw.install";
const DEFAULT_RETRY_S = 30;

interface Job {
  location: string;
  retriesLeft: number;
  retryIntervalMs: number;
  /** Downloading was reported (once per UpdateFirmware: retries continue it). */
  started: boolean;
}

export class FirmwareUpdater {
  private statusValue: FirmwareStatus = "Idle";
  private job: Job | null = null;
  private timer: TimerId | 0 = 0;
  private client: HTTPClient | null = null;
  /** Downloaded and verified-to-be-complete, waiting for the transaction to end. */
  private waitingToInstall = false;
  readonly outbox: Outbox;
  readonly stats = { downloads: 0, failures: 0, bytes: 0 };

  constructor(private readonly ctx: Ocpp16Context) {
    this.outbox = new Outbox(ctx);
    ctx.handle("UpdateFirmware", (p) => this.update(p));
    ctx.session.listen({ ended: () => this.maybeInstall() });
    // Booted after an install: report it once registered.
    const pending = ctx.store?.get(STATE_KEY);
    if (pending !== undefined) {
      ctx.store!.delete(STATE_KEY);
      this.statusValue = "Installed";
      ctx.log("firmware", { status: "Installed", location: pending });
      this.outbox.send("FirmwareStatusNotification", { status: "Installed" });
      onInstalled.get(ctx)?.();
    }
  }

  /** The last status (for TriggerMessage FirmwareStatusNotification: Idle unless an update is under way). */
  get status(): FirmwareStatus {
    return this.statusValue;
  }

  private notify(status: FirmwareStatus): void {
    this.statusValue = status;
    this.ctx.log("firmware", { status });
    this.outbox.send("FirmwareStatusNotification", { status });
  }

  private update(p: Record<string, unknown>): Record<string, unknown> {
    const location = p["location"] as string;
    const retrieve = parseIsoTime(p["retrieveDate"] as string);
    const retries = typeof p["retries"] === "number" && p["retries"] > 0 ? Math.min(p["retries"], 10) : 0;
    const interval = typeof p["retryInterval"] === "number" && p["retryInterval"] > 0 ? Math.min(p["retryInterval"], 86_400) : DEFAULT_RETRY_S;
    this.cancel();
    this.job = { location, retriesLeft: retries, retryIntervalMs: interval * 1000, started: false };
    const wall = this.ctx.hal.clock.wall();
    const delay = Number.isFinite(retrieve) && wall > 0 && retrieve > wall ? Math.min(retrieve - wall, 30 * 86_400_000) : 0;
    this.ctx.log("firmware", { status: "Scheduled", location, delayMs: delay, retries });
    this.timer = this.ctx.hal.timers.set(() => {
      this.timer = 0;
      this.download();
    }, delay);
    return {};
  }

  private cancel(): void {
    if (this.timer) this.ctx.hal.timers.clear(this.timer);
    this.timer = 0;
    if (this.client) this.client.close();
    this.client = null;
    this.waitingToInstall = false;
    this.job = null;
    this.ctx.hal.system.firmware?.abort();
  }

  private download(): void {
    const job = this.job;
    if (!job) return;
    this.stats.downloads++;
    if (!job.started) this.notify("Downloading");
    job.started = true;
    const slot = this.ctx.hal.system.firmware;
    const url = parseHttpUrl(job.location);
    const client = url && slot ? httpClientFor(this.ctx, url) : null;
    if (!url || !slot || !client) {
      // ftp:// and other schemes, or a board without an update slot or HTTP client: nothing to retry.
      this.ctx.log("firmware", { status: "DownloadFailed", reason: !url ? "unsupported location" : "no update slot or HTTP client" });
      this.job = null;
      this.notify("DownloadFailed");
      return;
    }
    this.client = client;
    let expected = -1;
    let received = 0;
    let failed = "";
    const self = this;
    const finish = (why: string) => {
      client.close();
      if (this.client === client) this.client = null;
      if (this.job !== job) return;
      if (why === "") {
        this.notify("Downloaded");
        this.waitingToInstall = true;
        this.maybeInstall();
        return;
      }
      this.stats.failures++;
      slot.abort();
      this.ctx.log("firmware", { status: "attempt-failed", reason: why, retriesLeft: job.retriesLeft });
      if (job.retriesLeft > 0) {
        job.retriesLeft--;
        this.timer = this.ctx.hal.timers.set(() => {
          this.timer = 0;
          this.download();
        }, job.retryIntervalMs);
        return;
      }
      this.job = null;
      this.notify("DownloadFailed");
    };
    try {
      client.request({
        method: "GET",
        path: url.path,
        headers: { accept: "application/octet-stream" },
        onHeaders(status: number, headers: Record<string, string>) {
          if (status !== 200) {
            failed = `HTTP ${status}`;
            return;
          }
          const len = parseInt(headers["content-length"] ?? "", 10);
          if (!(len > 0) || len > slot.capacity) {
            failed = !(len > 0) ? "no content-length" : `image of ${len} bytes exceeds the slot`;
            return;
          }
          expected = len;
          slot.begin(len);
        },
        onReadable(n: number) {
          const data = this.read(n);
          if (failed || expected < 0) return;
          if (received + data.byteLength > expected) {
            failed = "longer than content-length";
            return;
          }
          received += data.byteLength;
          self.stats.bytes += data.byteLength;
          slot.write(data);
        },
        onDone(error: HalError | null) {
          if (error) finish(`${error.code}: ${error.message}`);
          else if (failed) finish(failed);
          else if (received !== expected) finish(`truncated: ${received} of ${expected} bytes`);
          else finish("");
        },
      });
    } catch (e) {
      finish((e as Error).message);
    }
  }

  /** Installs once downloaded and no transaction runs (OCPP 1.6 §5.19: not during a transaction). */
  private maybeInstall(): void {
    if (!this.waitingToInstall || this.ctx.session.current) return;
    this.waitingToInstall = false;
    const job = this.job;
    this.job = null;
    const slot = this.ctx.hal.system.firmware!;
    this.notify("Installing");
    if (!slot.commit()) {
      this.notify("InstallationFailed");
      return;
    }
    // Restart once the notification had its chance to go out (a short grace, then restart regardless).
    this.ctx.store?.set(STATE_KEY, (job?.location ?? "").slice(0, 200));
    let left = 20;
    const tick = (id: number) => {
      if (this.outbox.length > 0 && --left > 0) return;
      this.ctx.hal.timers.clear(id);
      this.ctx.log("firmware", { status: "restarting" });
      this.ctx.hal.system.restart("firmware update");
    };
    this.ctx.hal.timers.set(tick, 500, 500);
  }
}

const updaters = new WeakMap<Ocpp16Context, FirmwareUpdater>();
/** Hooks run when the firmware finds it booted into a freshly installed image (the security module's event). */
const onInstalled = new WeakMap<Ocpp16Context, () => void>();

/** The updater of a charge point (for TriggerMessage FirmwareStatusNotification). */
export function firmwareUpdater(ctx: Ocpp16Context): FirmwareUpdater | undefined {
  return updaters.get(ctx);
}

/** Registers what to do after booting into a new image; call before the firmware module installs. */
export function whenFirmwareInstalled(ctx: Ocpp16Context, fn: () => void): void {
  onInstalled.set(ctx, fn);
}

export const firmware: Ocpp16Feature = {
  name: "firmware",
  install(ctx: Ocpp16Context): void {
    updaters.set(ctx, new FirmwareUpdater(ctx));
  },
};
