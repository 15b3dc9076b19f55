/** MQTT telemetry and control: built from the firmware configuration (README.md in this folder). */
import type { FirmwareConfig } from "../config.js";
import { Telemetry, type TelemetryConfig, type TelemetryDeps } from "./telemetry.js";

export { Telemetry, type TelemetryConfig, type TelemetryDeps, type TelemetrySnapshot, type PayloadFormat } from "./telemetry.js";
export { OfflineQueue } from "./buffer.js";
export { parseCommand, decodePayload, CommandError } from "./commands.js";
export { discoveryMessages, haNodeId } from "./discovery.js";
export { UserClaim } from "./user-claim.js";

/** mqtt://host[:port] / mqtts://host[:port] -> parts; null for an empty URL. Throws RangeError otherwise. */
export function parseMqttUrl(url: string): { host: string; port: number; tls: boolean } | null {
  if (url === "") return null;
  const m = /^(mqtts?):\/\/([A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!m) throw new RangeError(`bad MQTT URL ${url}`);
  const tls = m[1] === "mqtts";
  const port = m[3] === undefined ? (tls ? 8883 : 1883) : Number(m[3]);
  if (port < 1 || port > 65535) throw new RangeError(`bad MQTT port in ${url}`);
  return { host: m[2]!, port, tls };
}

export function telemetryConfig(cfg: FirmwareConfig, maxAmps: number): TelemetryConfig | null {
  const u = parseMqttUrl(cfg.mqttUrl);
  if (!u) return null;
  return {
    ...u,
    ca: cfg.mqttCaCertificate,
    clientId: cfg.mqttClientId || cfg.chargePointId,
    user: cfg.mqttUser,
    password: cfg.mqttPassword,
    chargerId: cfg.chargePointId,
    prefix: cfg.mqttTopicPrefix,
    format: cfg.mqttPayloadFormat as "cbor" | "json",
    keepAliveS: cfg.mqttKeepAliveS,
    bufferBytes: cfg.mqttBufferBytes,
    measurementIntervalMs: cfg.mqttMeasurementIntervalS * 1000,
    maxHoldS: cfg.mqttCommandMaxHoldS,
    discovery: cfg.mqttDiscovery,
    discoveryPrefix: cfg.mqttDiscoveryPrefix,
    maxAmps,
  };
}

export function installTelemetry(cfg: FirmwareConfig, maxAmps: number, deps: TelemetryDeps): Telemetry | null {
  const tc = telemetryConfig(cfg, maxAmps);
  return tc ? new Telemetry(tc, deps) : null;
}
