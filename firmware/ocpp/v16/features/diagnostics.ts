/**
 * Diagnostics (FirmwareManagement profile): GetDiagnostics uploads the firmware's RAM log (hal.log.recent(),
 * optionally cut to startTime..stopTime) with a short header, by HTTP PUT to `<location>/<fileName>` (http://
 * or https://), with DiagnosticsStatusNotification Uploading → Uploaded / UploadFailed, retried `retries`
 * times `retryInterval` s apart. ftp:// (and every other scheme) is not supported: the answer still names the
 * file, and the upload is reported UploadFailed at once.
 */
import type { HalError, TimerId } from "../../../../hal/index.js";
import { parseIsoTime } from "../../../util/time.js";
import { utf8Encode } from "../../../util/utf8.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";
import { httpClientFor, Outbox, parseHttpUrl } from "./firmware.js";

export type DiagnosticsStatus = "Idle" | "Uploading" | "Uploaded" | "UploadFailed";

const DEFAULT_RETRY_S = 30;
const CHUNK = 1024;

export class DiagnosticsUploader {
  private statusValue: DiagnosticsStatus = "Idle";
  private timer: TimerId | 0 = 0;
  private busy = false;
  private readonly outbox: Outbox;
  readonly stats = { uploads: 0, failures: 0, bytes: 0 };

  constructor(private readonly ctx: Ocpp16Context) {
    this.outbox = new Outbox(ctx);
    ctx.handle("GetDiagnostics", (p) => this.request(p));
  }

  /** Idle unless an upload is under way (for TriggerMessage DiagnosticsStatusNotification). */
  get status(): DiagnosticsStatus {
    return this.busy ? "Uploading" : "Idle";
  }

  get lastStatus(): DiagnosticsStatus {
    return this.statusValue;
  }

  private notify(status: DiagnosticsStatus): void {
    this.statusValue = status;
    this.ctx.log("diagnostics", { status });
    this.outbox.send("DiagnosticsStatusNotification", { status });
  }

  private request(p: Record<string, unknown>): Record<string, unknown> {
    const ctx = this.ctx;
    const location = p["location"] as string;
    const wall = ctx.hal.clock.wall();
    const fileName = `diag-${ctx.config.chargePointId}-${wall > 0 ? Math.floor(wall / 1000) : ctx.hal.clock.now()}.log`.slice(0, 255);
    const start = typeof p["startTime"] === "string" ? parseIsoTime(p["startTime"]) : NaN;
    const stop = typeof p["stopTime"] === "string" ? parseIsoTime(p["stopTime"]) : NaN;
    const retries = typeof p["retries"] === "number" && p["retries"] > 0 ? Math.min(p["retries"], 10) : 0;
    const interval = typeof p["retryInterval"] === "number" && p["retryInterval"] > 0 ? Math.min(p["retryInterval"], 86_400) : DEFAULT_RETRY_S;
    if (this.timer) ctx.hal.timers.clear(this.timer);
    const body = this.collect(start, stop);
    // Start after the answer has gone out, so the notifications follow the GetDiagnostics.conf.
    this.timer = ctx.hal.timers.set(() => {
      this.timer = 0;
      this.upload(location, fileName, body, retries, interval * 1000);
    }, 0);
    return { fileName };
  }

  /** The diagnostics file: a header, then the RAM log's JSON lines within the window (wall-clock ms). */
  private collect(start: number, stop: number): Uint8Array {
    const ctx = this.ctx;
    const nowMono = ctx.hal.clock.now();
    const nowWall = ctx.hal.clock.wall();
    const head = {
      chargePointId: ctx.config.chargePointId,
      model: ctx.hal.board.model,
      serialNumber: ctx.hal.board.serialNumber,
      bootReason: ctx.hal.system.bootReason,
      uptimeMs: nowMono,
      wall: nowWall,
      freeMemory: ctx.hal.system.freeMemory(),
      online: ctx.online,
      registered: ctx.registered,
    };
    const lines = [JSON.stringify({ diagnostics: head })];
    const recent = ctx.hal.log.recent ? ctx.hal.log.recent() : [];
    for (const line of recent) {
      if ((Number.isFinite(start) || Number.isFinite(stop)) && nowWall > 0) {
        let t = NaN;
        try {
          t = Number((JSON.parse(line) as { t?: unknown }).t);
        } catch {
          // not a JSON line: keep it
        }
        if (Number.isFinite(t)) {
          const wallAt = nowWall - (nowMono - t);
          if (Number.isFinite(start) && wallAt < start) continue;
          if (Number.isFinite(stop) && wallAt > stop) continue;
        }
      }
      lines.push(line);
    }
    return utf8Encode(lines.join("\n") + "\n");
  }

  private upload(location: string, fileName: string, body: Uint8Array, retriesLeft: number, retryMs: number): void {
    const ctx = this.ctx;
    // One Uploading per GetDiagnostics: retries continue it.
    if (!this.busy) this.notify("Uploading");
    this.busy = true;
    this.stats.uploads++;
    const url = parseHttpUrl(location);
    const client = url ? httpClientFor(ctx, url) : null;
    if (!url || !client) {
      this.busy = false;
      ctx.log("diagnostics", { status: "UploadFailed", reason: !url ? "unsupported location (only http:// and https://)" : "no HTTP client" });
      this.notify("UploadFailed");
      return;
    }
    const path = url.path + (url.path.endsWith("/") ? "" : "/") + fileName;
    let status = 0;
    let offset = 0;
    const done = (why: string) => {
      client.close();
      if (why === "") {
        this.stats.bytes += body.length;
        this.busy = false;
        this.notify("Uploaded");
        return;
      }
      this.stats.failures++;
      ctx.log("diagnostics", { status: "attempt-failed", reason: why, retriesLeft });
      if (retriesLeft > 0) {
        this.timer = ctx.hal.timers.set(() => {
          this.timer = 0;
          this.upload(location, fileName, body, retriesLeft - 1, retryMs);
        }, retryMs);
        return;
      }
      this.busy = false;
      this.notify("UploadFailed");
    };
    try {
      client.request({
        method: "PUT",
        path,
        headers: { "content-type": "text/plain; charset=utf-8", "content-length": String(body.length) },
        onWritable(n: number) {
          if (offset >= body.length) return;
          const end = Math.min(body.length, offset + Math.min(n, CHUNK));
          this.write(body.subarray(offset, end));
          offset = end;
          if (offset >= body.length) this.write(undefined);
        },
        onHeaders(s: number) {
          status = s;
        },
        onReadable(n: number) {
          this.read(n);
        },
        onDone(error: HalError | null) {
          if (error) done(`${error.code}: ${error.message}`);
          else if (status < 200 || status > 299) done(`HTTP ${status}`);
          else done("");
        },
      });
    } catch (e) {
      done((e as Error).message);
    }
  }
}

const uploaders = new WeakMap<Ocpp16Context, DiagnosticsUploader>();

/** The diagnostics uploader of a charge point (for TriggerMessage DiagnosticsStatusNotification). */
export function diagnosticsUploader(ctx: Ocpp16Context): DiagnosticsUploader | undefined {
  return uploaders.get(ctx);
}

export const diagnostics: Ocpp16Feature = {
  name: "diagnostics",
  install(ctx: Ocpp16Context): void {
    uploaders.set(ctx, new DiagnosticsUploader(ctx));
  },
};
