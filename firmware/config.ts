/**
 * The firmware's configuration: one declarative schema, validated before anything starts.
 *
 * Precedence: schema defaults < values persisted on the device (later: OCPP ChangeConfiguration) < the
 * object given to start(). An unknown key or a value out of range is a ConfigError that names the key and
 * the allowed range; the firmware does not start on a bad configuration.
 */

type NumberSpec = { type: "number"; default: number; min: number; max: number; integer?: boolean; doc: string };
type BooleanSpec = { type: "boolean"; default: boolean; doc: string };
type StringSpec = { type: "string"; default: string; minLength?: number; maxLength: number; pattern?: string; patternDoc?: string; doc: string };
type EnumSpec = { type: "enum"; default: string; values: readonly string[]; doc: string };
type CurveSpec = { type: "curve"; default: ReadonlyArray<readonly [number, number]>; doc: string; xRange: [number, number]; yRange: [number, number] };
export type KeySpec = NumberSpec | BooleanSpec | StringSpec | EnumSpec | CurveSpec;

export const CONFIG_SCHEMA = {
  // identity and uplink
  chargePointId: { type: "string", default: "CP-SIM-0001", minLength: 1, maxLength: 48, pattern: "^[A-Za-z0-9._:*+-]+$", patternDoc: "letters, digits and ._:*+-", doc: "OCPP identity, the last path segment of the CSMS URL" },
  csmsUrl: { type: "string", default: "ws://127.0.0.1:9000/ocpp", minLength: 6, maxLength: 512, pattern: "^wss?://[^\\s/]+(/\\S*)?$", patternDoc: "a ws:// or wss:// URL", doc: "CSMS base URL; the charge point id is appended" },
  ocppVersion: { type: "enum", default: "1.6", values: ["1.6"], doc: "OCPP version spoken (2.0.1 comes later)" },
  securityProfile: { type: "number", default: 0, min: 0, max: 3, integer: true, doc: "OCPP security profile: 0 none, 1 Basic auth, 2 TLS + Basic auth, 3 mutual TLS" },
  basicAuthPassword: { type: "string", default: "", maxLength: 40, doc: "factory Basic-auth password for security profiles 1 and 2 (an AuthorizationKey set by the CSMS replaces it)" },
  csmsTlsUrl: { type: "string", default: "", maxLength: 512, pattern: "^wss://[^\\s/]+(/\\S*)?$", patternDoc: "a wss:// URL", doc: "CSMS base URL for security profiles 2 and 3 when csmsUrl is ws:// (an upgrade switches to it)" },
  csmsCaCertificate: { type: "string", default: "", maxLength: 8_000, doc: "CentralSystemRootCertificate (PEM) that validates the CSMS server certificate (profiles 2, 3)" },
  clientCertificate: { type: "string", default: "", maxLength: 8_000, doc: "ChargePointCertificate chain (PEM) for security profile 3" },
  clientKeyName: { type: "string", default: "", maxLength: 32, doc: "name of the private key in the HAL's secure element matching clientCertificate" },
  webSocketPingIntervalS: { type: "number", default: 0, min: 0, max: 3_600, integer: true, doc: "WebSocketPingInterval default: ping period and dead-link check, s (0 = off)" },
  callTimeoutMs: { type: "number", default: 30_000, min: 1_000, max: 300_000, integer: true, doc: "how long to wait for a CALLRESULT" },
  reconnectMinMs: { type: "number", default: 2_000, min: 100, max: 600_000, integer: true, doc: "first reconnect back-off" },
  reconnectMaxMs: { type: "number", default: 300_000, min: 1_000, max: 3_600_000, integer: true, doc: "largest reconnect back-off" },
  heartbeatIntervalS: { type: "number", default: 300, min: 10, max: 86_400, integer: true, doc: "heartbeat until the CSMS sets one in BootNotification" },
  meterValueSampleIntervalS: { type: "number", default: 60, min: 0, max: 86_400, integer: true, doc: "sampled meter values during a transaction (0 = off)" },
  // charging
  controlPeriodMs: { type: "number", default: 10, min: 1, max: 50, integer: true, doc: "control loop period; at most 50 so that a pilot change seen up to a period late still opens well inside the 100 ms IEC 61851-1 allows for C->B (and the interlock's grace)" },
  installerCurrentLimit: { type: "number", default: 32, min: 6, max: 80, doc: "installer's limit, A per phase" },
  minCurrent: { type: "number", default: 6, min: 6, max: 80, doc: "below this the charge pauses, A" },
  pilotDebounceSamples: { type: "number", default: 3, min: 1, max: 100, integer: true, doc: "consecutive equal pilot samples before a state change" },
  ventilationAllowed: { type: "boolean", default: false, doc: "allow charging in state D (ventilation required)" },
  evStopTimeoutMs: { type: "number", default: 3_000, min: 100, max: 30_000, integer: true, doc: "after PWM off, how long to wait for the EV to go to B before opening anyway" },
  weldSettleMs: { type: "number", default: 200, min: 20, max: 5_000, integer: true, doc: "mirror contact must show open this long after an open command" },
  overdrawToleranceA: { type: "number", default: 2, min: 0, max: 20, doc: "current above the signalled value tolerated, A" },
  overdrawTimeMs: { type: "number", default: 5_000, min: 1_000, max: 60_000, integer: true, doc: "overdraw longer than this opens the contactor" },
  overTemperatureC: { type: "number", default: 90, min: 40, max: 150, doc: "cut-off temperature" },
  overTemperatureHysteresisC: { type: "number", default: 10, min: 1, max: 50, doc: "cool-down below the cut-off before charging resumes" },
  thermalDerating: { type: "curve", default: [[60, 80], [70, 32], [80, 16], [85, 6]], xRange: [-40, 150], yRange: [0, 80], doc: "temperature (°C) -> max current (A), linear between points" },
  phaseSwitching: { type: "boolean", default: false, doc: "1p/3p switching with the second contactor" },
  phaseSwitchPauseMs: { type: "number", default: 5_000, min: 1_000, max: 300_000, integer: true, doc: "pause before and after a phase switch" },
  phaseSwitchHysteresisA: { type: "number", default: 2, min: 0, max: 30, doc: "hysteresis of the 1p/3p decision" },
  phaseSwitchHoldMs: { type: "number", default: 60_000, min: 0, max: 3_600_000, integer: true, doc: "a new limit must hold this long before switching" },
  phaseSwitchMaxPerSession: { type: "number", default: 10, min: 0, max: 1_000, integer: true, doc: "maximum phase switches per session" },
  signedMeterValues: { type: "boolean", default: false, doc: "sign meter values (OCMF, ECDSA P-256) and send them in StopTransaction transactionData" },
  // authorization
  freeCharging: { type: "boolean", default: false, doc: "charge without identification (uses freeChargingIdTag)" },
  freeChargingIdTag: { type: "string", default: "FREECHARGING", minLength: 1, maxLength: 20, doc: "idTag used when freeCharging is on" },
  connectionTimeOutS: { type: "number", default: 60, min: 5, max: 3_600, integer: true, doc: "authorization without a plugged EV expires after this" },
  // MQTT telemetry and control (firmware/telemetry/README.md); off while mqttUrl is empty
  mqttUrl: { type: "string", default: "", maxLength: 256, pattern: "^mqtts?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$", patternDoc: "mqtt://host[:port] or mqtts://host[:port]", doc: "MQTT broker; empty = no telemetry" },
  mqttClientId: { type: "string", default: "", maxLength: 64, pattern: "^[A-Za-z0-9._:-]+$", patternDoc: "letters, digits and ._:-", doc: "MQTT client id (empty: chargePointId)" },
  mqttUser: { type: "string", default: "", maxLength: 64, doc: "MQTT user name (the mosquitto ACL expects the charger id)" },
  mqttPassword: { type: "string", default: "", maxLength: 128, doc: "MQTT password" },
  mqttCaCertificate: { type: "string", default: "", maxLength: 8_000, doc: "CA certificate (PEM) for mqtts://" },
  mqttTopicPrefix: { type: "string", default: "evse", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", patternDoc: "topic levels of letters, digits, _ and -", doc: "topics are <prefix>/<chargePointId>/..." },
  mqttPayloadFormat: { type: "enum", default: "cbor", values: ["cbor", "json"], doc: "telemetry payload encoding" },
  mqttKeepAliveS: { type: "number", default: 30, min: 5, max: 600, integer: true, doc: "MQTT keep-alive; a missing PINGRESP after 1.5x is a dead link" },
  mqttBufferBytes: { type: "number", default: 16_384, min: 1_024, max: 262_144, integer: true, doc: "offline buffer budget (measurements dropped first, the latest state never)" },
  mqttMeasurementIntervalS: { type: "number", default: 10, min: 1, max: 3_600, integer: true, doc: "period of <base>/measurements" },
  mqttCommandMaxHoldS: { type: "number", default: 3_600, min: 10, max: 604_800, integer: true, doc: "a commanded limit or pause expires after its ttl, at most this" },
  mqttStartIdTag: { type: "string", default: "", maxLength: 20, doc: "idTag the MQTT start command presents (empty: start only with freeCharging)" },
  mqttDiscovery: { type: "boolean", default: true, doc: "publish Home Assistant MQTT discovery configs" },
  mqttDiscoveryPrefix: { type: "string", default: "homeassistant", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$", patternDoc: "topic levels of letters, digits, _ and -", doc: "Home Assistant discovery prefix" },
  // wall clock (firmware/time)
  ntpServers: { type: "string", default: "", maxLength: 256, pattern: "^[0-9]{1,3}([.][0-9]{1,3}){3}(:[0-9]{1,5})?(\\s*,\\s*[0-9]{1,3}([.][0-9]{1,3}){3}(:[0-9]{1,5})?)*$", patternDoc: "IPv4 address[:port], comma separated", doc: "SNTP servers (empty: the clock comes from the CSMS only)" },
  ntpPollIntervalS: { type: "number", default: 3_600, min: 16, max: 86_400, integer: true, doc: "SNTP poll period" },
  clockStepThresholdMs: { type: "number", default: 1_000, min: 1, max: 3_600_000, integer: true, doc: "a larger clock error steps the clock, a smaller one is slewed" },
  clockMaxSlewPpm: { type: "number", default: 500, min: 1, max: 100_000, integer: true, doc: "largest slew rate" },
  clockOutlierMs: { type: "number", default: 10_000, min: 1_000, max: 86_400_000, integer: true, doc: "a synchronised clock takes a sample further off only when a second one confirms it" },
  clockSyncValidityS: { type: "number", default: 86_400, min: 60, max: 2_592_000, integer: true, doc: "the clock counts as unsynchronised this long after the last sync" },
  // local load balancing (firmware/loadbalancing/README.md)
  loadBalancing: { type: "enum", default: "off", values: ["off", "meter", "leader"], doc: "share a site limit with other chargers over MQTT: a site meter feed, or a leader among the chargers" },
  siteGroup: { type: "string", default: "site", minLength: 1, maxLength: 32, pattern: "^[A-Za-z0-9_-]+$", patternDoc: "letters, digits, _ and -", doc: "chargers of one site share topics lb/<group>/..." },
  siteBrokerHost: { type: "string", default: "127.0.0.1", minLength: 1, maxLength: 253, pattern: "^[A-Za-z0-9.-]+$", patternDoc: "a host name or IPv4 address", doc: "MQTT broker of the site coordination" },
  siteBrokerPort: { type: "number", default: 1883, min: 1, max: 65_535, integer: true, doc: "its port" },
  siteCurrentLimit: { type: "number", default: 32, min: 6, max: 2_000, doc: "site budget for the group, A per line" },
  siteFailsafeCurrent: { type: "number", default: 6, min: 0, max: 80, doc: "current of a charger cut off from the feed or the leader, A (choose it so that chargers x failsafe <= siteCurrentLimit)" },
  siteSilenceTimeoutMs: { type: "number", default: 10_000, min: 300, max: 600_000, integer: true, doc: "no feed/allocation for this long: failsafe" },
  siteHeartbeatMs: { type: "number", default: 2_000, min: 100, max: 60_000, integer: true, doc: "heartbeat and allocation period" },
  siteReactionMs: { type: "number", default: 6_000, min: 0, max: 60_000, integer: true, doc: "time an EV is given to follow a lower allocation before its share goes to another charger (IEC 61851-1: 5 s)" },
  siteRotationMs: { type: "number", default: 900_000, min: 10_000, max: 86_400_000, integer: true, doc: "when sessions must pause (no 6 A for all), each admitted one gives way after this" },
  siteMarginA: { type: "number", default: 1, min: 0, max: 10, doc: "give-back margin above an EV's measured current; headroom margin in meter mode" },
  siteRampA: { type: "number", default: 2, min: 0.1, max: 80, doc: "most an allocation grows per period" },
  siteForgetMs: { type: "number", default: 3_600_000, min: 0, max: 604_800_000, integer: true, doc: "a departed charger's failsafe reservation is kept this long" },
  siteOnePhaseLine: { type: "number", default: 1, min: 1, max: 3, integer: true, doc: "the site line this charger's L1 is wired to (what a 1-phase car uses)" },
  // ISO 15118 high-level communication (firmware/iso15118/secc/README.md); needs Board.plcModem and a network Listener
  hlcEnabled: { type: "boolean", default: false, doc: "attempt ISO 15118 / DIN 70121 high-level communication (5 % PWM, SLAC, SDP, V2GTP) when the board has a PLC modem" },
  hlcProtocols: { type: "enum", default: "iso2,din", values: ["iso2,din", "din,iso2", "iso2", "din"], doc: "protocols offered in supportedAppProtocol, in the charger's order (DIN 70121 is DC only: dropped on an AC charger)" },
  hlcEvseId: { type: "string", default: "", maxLength: 37, pattern: "^([A-Za-z0-9*]{7,37})?$", patternDoc: "7..37 letters, digits and * (e.g. DE*ABC*E123456) or empty", doc: "ISO 15118-2 EVSEID (empty: ZZ*000*E + chargePointId, letters and digits only)" },
  hlcDinEvseId: { type: "string", default: "", maxLength: 64, pattern: "^([0-9A-Fa-f]{2}){0,32}$", patternDoc: "hex, whole bytes, at most 32", doc: "DIN 70121 EVSEID, hexBinary (empty: the ISO EVSEID's ASCII bytes)" },
  hlcRenegotiateDeltaA: { type: "number", default: 1, min: 0, max: 80, doc: "ISO 15118-2: ask the EV to renegotiate when the charger's limit moved this far from its schedule, A (0: never)" },
  dcConverterEfficiency: { type: "number", default: 0.93, min: 0.5, max: 1, doc: "DC charger: power module efficiency, at or below the real one; the AC limit times this is the DC power offered (so the AC input, which the overdraw check measures, stays within the limit)" },
  dcTestCurrentA: { type: "number", default: 2, min: 0.1, max: 10, doc: "DC charger: current limit while the output charges to the isolation test voltage, A" },
  slacFallback: { type: "enum", default: "basic", values: ["basic", "retry"], doc: "after a failed SLAC session: basic (PWM) charging at once, or first slacSessionRetries new sessions" },
  slacSessionRetries: { type: "number", default: 1, min: 0, max: 10, integer: true, doc: "SLAC sessions restarted with slacFallback retry before basic charging" },
  slacInitTimeoutMs: { type: "number", default: 50_000, min: 1_000, max: 600_000, integer: true, doc: "TT_EVSE_SLAC_init: waiting for CM_SLAC_PARM.REQ (20-50 s)" },
  slacMatchSequenceMs: { type: "number", default: 400, min: 1, max: 600_000, integer: true, doc: "TT_match_sequence" },
  slacMatchResponseMs: { type: "number", default: 200, min: 1, max: 600_000, integer: true, doc: "TT_match_response" },
  slacMatchMnbcMs: { type: "number", default: 600, min: 100, max: 25_500, integer: true, doc: "TT_EVSE_match_MNBC (a multiple of 100 ms)" },
  slacMatchSessionMs: { type: "number", default: 10_000, min: 1, max: 600_000, integer: true, doc: "TT_EVSE_match_session" },
  slacMatchJoinMs: { type: "number", default: 12_000, min: 1, max: 600_000, integer: true, doc: "TT_match_join" },
  v2gSdpPort: { type: "number", default: 15118, min: 1, max: 65_535, integer: true, doc: "SDP UDP port (15118; the simulator may move it)" },
  v2gSdpAddress: { type: "string", default: "", maxLength: 64, pattern: "^[0-9A-Fa-f:.]*$", patternDoc: "an IP address or empty", doc: "SDP bind address (empty: \"::\", which receives the v2gSdpMulticast group; a unicast address receives unicast SDP requests only)" },
  v2gSdpMulticast: { type: "string", default: "ff02::1", maxLength: 64, pattern: "^([Ff][Ff][0-9A-Fa-f:]+)?$", patternDoc: "an IPv6 multicast address or empty", doc: "IPv6 group the SDP server joins on the PLC interface (ISO 15118-2: ff02::1, all nodes); empty: none" },
  v2gAddress: { type: "string", default: "", maxLength: 64, pattern: "^([0-9A-Fa-f:]{2,}(%[0-9A-Za-z_.-]+)?)?$", patternDoc: "an IPv6 address (zone allowed) or empty", doc: "IPv6 address the V2GTP server binds and SDP announces; empty: the PLC interface's link-local address from the HAL (hal.network.plcInterface), ::1 when the HAL does not know it" },
  v2gPort: { type: "number", default: 0, min: 0, max: 65_535, integer: true, doc: "V2GTP TCP port (0: any free port, announced by SDP)" },
  v2gMaxPayload: { type: "number", default: 8_192, min: 256, max: 65_536, integer: true, doc: "largest V2GTP payload accepted (a longer one closes the connection)" },
  v2gTlsCertificate: { type: "string", default: "", maxLength: 8_000, doc: "SECC certificate chain (PEM) for TLS; empty: SDP never offers TLS" },
  v2gTlsKeyName: { type: "string", default: "", maxLength: 32, doc: "name of the SECC's private key in the HAL's secure element" },
  v2gSequenceTimeoutMs: { type: "number", default: 60_000, min: 1_000, max: 600_000, integer: true, doc: "ISO 15118-2 / DIN sequence timeout" },
  v2gCommunicationSetupMs: { type: "number", default: 18_000, min: 1_000, max: 600_000, integer: true, doc: "ISO 15118-2 communication setup timeout: SLAC match to SessionSetupRes" },
  v2gCurrentDemandResMs: { type: "number", default: 25, min: 1, max: 60_000, integer: true, doc: "CurrentDemandRes response time" },
  v2gPowerDeliveryResMs: { type: "number", default: 4_500, min: 1, max: 60_000, integer: true, doc: "ISO 15118-2 PowerDeliveryRes response time" },
  v2gDefaultResMs: { type: "number", default: 1_500, min: 1, max: 60_000, integer: true, doc: "ISO 15118-2 / DIN response time of the other messages" },
  v2gContactorCloseMs: { type: "number", default: 3_000, min: 1, max: 60_000, integer: true, doc: "ISO 15118-2: contactor closed after state C" },
  dinCableCheckMs: { type: "number", default: 38_000, min: 1, max: 600_000, integer: true, doc: "DIN 70121 CableCheck, charger side" },
  dinPreChargeMs: { type: "number", default: 5_000, min: 1, max: 600_000, integer: true, doc: "DIN 70121 PreCharge, charger side" },
  iso20ChargeLoopResMs: { type: "number", default: 250, min: 1, max: 60_000, integer: true, doc: "ISO 15118-20 DC_ChargeLoopRes response time" },
  iso20DefaultResMs: { type: "number", default: 1_500, min: 1, max: 60_000, integer: true, doc: "ISO 15118-20 response time of the other messages" },
  iso20SlowResMs: { type: "number", default: 4_500, min: 1, max: 60_000, integer: true, doc: "ISO 15118-20 ServiceDetail / CertificateInstallation response time" },
  iso20SequenceTimeoutMs: { type: "number", default: 60_000, min: 1_000, max: 600_000, integer: true, doc: "ISO 15118-20 sequence timeout" },
  iso20OngoingTimeoutMs: { type: "number", default: 55_000, min: 1_000, max: 600_000, integer: true, doc: "ISO 15118-20 ongoing timeout" },
  // telemetry of the firmware itself
  statusIntervalMs: { type: "number", default: 1_000, min: 100, max: 3_600_000, integer: true, doc: "period of the status log event" },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

type ValueOf<S> = S extends NumberSpec ? number : S extends BooleanSpec ? boolean : S extends CurveSpec ? Array<[number, number]> : string;

export type FirmwareConfig = { -readonly [K in ConfigKey]: ValueOf<(typeof CONFIG_SCHEMA)[K]> };

export class ConfigError extends Error {
  constructor(readonly key: string, readonly reason: string) {
    super(`config ${key}: ${reason}`);
    this.name = "ConfigError";
  }
}

/** Describes the allowed values of a key, for error messages and documentation. */
export function describeKey(spec: KeySpec): string {
  switch (spec.type) {
    case "number":
      return `${spec.integer ? "an integer" : "a number"} in ${spec.min}..${spec.max}`;
    case "boolean":
      return "true or false";
    case "string":
      return `a string of ${spec.minLength ?? 0}..${spec.maxLength} characters${spec.patternDoc ? ` (${spec.patternDoc})` : ""}`;
    case "enum":
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "curve":
      return `a list of [x, y] points with x in ${spec.xRange[0]}..${spec.xRange[1]} ascending and y in ${spec.yRange[0]}..${spec.yRange[1]}`;
  }
}

/** Checks one value against its spec; returns the normalised value or throws ConfigError. */
export function checkValue(key: string, spec: KeySpec, value: unknown): unknown {
  const bad = (why: string): never => {
    throw new ConfigError(key, `${why}; allowed: ${describeKey(spec)}`);
  };
  switch (spec.type) {
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) bad(`${show(value)} is not a number`);
      if (spec.integer && !Number.isInteger(value)) bad(`${show(value)} is not an integer`);
      if ((value as number) < spec.min || (value as number) > spec.max) bad(`${show(value)} is out of range`);
      return value;
    case "boolean":
      if (typeof value !== "boolean") bad(`${show(value)} is not a boolean`);
      return value;
    case "string": {
      if (typeof value !== "string") bad(`${show(value)} is not a string`);
      const s = value as string;
      if (s.length < (spec.minLength ?? 0) || s.length > spec.maxLength) bad(`length ${s.length} is out of range`);
      if (spec.pattern && s.length > 0 && !new RegExp(spec.pattern).test(s)) bad(`${show(value)} is not well formed`);
      return s;
    }
    case "enum":
      if (typeof value !== "string" || !spec.values.includes(value)) bad(`${show(value)} is not allowed`);
      return value;
    case "curve": {
      if (!Array.isArray(value) || value.length === 0) bad("not a non-empty list");
      const out: Array<[number, number]> = [];
      let lastX = -Infinity;
      for (const p of value as unknown[]) {
        if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "number" || typeof p[1] !== "number") bad(`point ${show(p)} is not [x, y]`);
        const [x, y] = p as [number, number];
        if (!(x >= spec.xRange[0] && x <= spec.xRange[1]) || !(y >= spec.yRange[0] && y <= spec.yRange[1])) bad(`point ${show(p)} is out of range`);
        if (x <= lastX) bad("points are not in ascending x order");
        lastX = x;
        out.push([x, y]);
      }
      return out;
    }
  }
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + "..." : s;
  } catch {
    return String(v);
  }
}

/**
 * Builds the effective configuration from layers (later layers win). Throws ConfigError on the first unknown
 * key or bad value, naming the key and the allowed range. Cross-key rules are checked last.
 */
export function resolveConfig(...layers: Array<Record<string, unknown> | undefined>): FirmwareConfig {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(CONFIG_SCHEMA) as ConfigKey[]) {
    const d = CONFIG_SCHEMA[key].default;
    out[key] = Array.isArray(d) ? d.map((p) => [p[0], p[1]]) : d;
  }
  for (const layer of layers) {
    if (layer === undefined) continue;
    if (layer === null || typeof layer !== "object" || Array.isArray(layer)) throw new ConfigError("(root)", "configuration must be an object");
    for (const key of Object.keys(layer)) {
      const spec = (CONFIG_SCHEMA as Record<string, KeySpec>)[key];
      if (!spec) throw new ConfigError(key, `unknown key; known keys: ${Object.keys(CONFIG_SCHEMA).join(", ")}`);
      out[key] = checkValue(key, spec, layer[key]);
    }
  }
  const cfg = out as FirmwareConfig;
  if (cfg.minCurrent > cfg.installerCurrentLimit)
    throw new ConfigError("minCurrent", `${cfg.minCurrent} is above installerCurrentLimit ${cfg.installerCurrentLimit}`);
  if (cfg.reconnectMinMs > cfg.reconnectMaxMs)
    throw new ConfigError("reconnectMinMs", `${cfg.reconnectMinMs} is above reconnectMaxMs ${cfg.reconnectMaxMs}`);
  if (cfg.securityProfile >= 1 && cfg.basicAuthPassword.length < 16 && cfg.securityProfile <= 2)
    throw new ConfigError("basicAuthPassword", "security profiles 1 and 2 need an AuthorizationKey of 16..40 characters");
  if (cfg.securityProfile >= 2 && !cfg.csmsUrl.startsWith("wss://") && cfg.csmsTlsUrl === "")
    throw new ConfigError("csmsUrl", "security profiles 2 and 3 need a wss:// URL (csmsUrl or csmsTlsUrl)");
  if (cfg.securityProfile === 3 && (cfg.clientCertificate === "" || cfg.clientKeyName === ""))
    throw new ConfigError("clientCertificate", "security profile 3 needs clientCertificate and clientKeyName");
  if (cfg.mqttUrl !== "" && !/^[A-Za-z0-9._:-]+$/.test(cfg.chargePointId))
    throw new ConfigError("chargePointId", "with mqttUrl the charge point id is a topic level and may not contain * or +");
  if (cfg.loadBalancing !== "off" && cfg.siteSilenceTimeoutMs < 3 * cfg.siteHeartbeatMs)
    throw new ConfigError("siteSilenceTimeoutMs", `${cfg.siteSilenceTimeoutMs} is below 3 x siteHeartbeatMs (${3 * cfg.siteHeartbeatMs})`);
  if (cfg.loadBalancing !== "off" && cfg.siteFailsafeCurrent > cfg.siteCurrentLimit)
    throw new ConfigError("siteFailsafeCurrent", `${cfg.siteFailsafeCurrent} is above siteCurrentLimit ${cfg.siteCurrentLimit}`);
  return cfg;
}
