/**
 * ISO 15118 on the charger: installs the SECC when the board has a PLC modem (Board.plcModem) and the config
 * enables high-level communication. The QCA7000 driver (hal/drivers) over hal.io.SPI (+ the interrupt line)
 * moves Ethernet frames; the Link demultiplexes them; the SECC (secc/secc.ts) runs SLAC, SDP and the V2GTP
 * server and hands each connection to the session layer as a V2gChannel. Platform-neutral.
 */
import type { Hal } from "../../hal/index.js";
import { Qca7000 } from "../../hal/drivers/qca7000.js";
import type { FirmwareConfig } from "../config.js";
import { Link } from "./link/port.js";
import { parseMac } from "./link/ethernet.js";
import { defaultSlacConfig, type SlacConfig } from "./slac/evse.js";
import { Secc, type HlcCore, type SeccConfig, type SeccEvents } from "./secc/secc.js";
import type { SeccTimings } from "./secc/timings.js";

export { Secc, type SeccConfig, type SeccEvents, type SeccState, type HlcCore } from "./secc/secc.js";
export { V2gChannel, CHANNEL_PAYLOAD_TYPES, type V2gSessionHandler, type ChannelCloseReason, type V2gChannelStats } from "./secc/channel.js";
export { defaultSeccTimings, type SeccTimings } from "./secc/timings.js";

export function seccTimings(cfg: FirmwareConfig): SeccTimings {
  return {
    sequenceTimeout: cfg.v2gSequenceTimeoutMs,
    communicationSetup: cfg.v2gCommunicationSetupMs,
    currentDemandRes: cfg.v2gCurrentDemandResMs,
    powerDeliveryRes: cfg.v2gPowerDeliveryResMs,
    defaultRes: cfg.v2gDefaultResMs,
    contactorClose: cfg.v2gContactorCloseMs,
    cableCheck: cfg.dinCableCheckMs,
    preCharge: cfg.dinPreChargeMs,
    iso20ChargeLoopRes: cfg.iso20ChargeLoopResMs,
    iso20DefaultRes: cfg.iso20DefaultResMs,
    iso20SlowRes: cfg.iso20SlowResMs,
    iso20SequenceTimeout: cfg.iso20SequenceTimeoutMs,
    iso20OngoingTimeout: cfg.iso20OngoingTimeoutMs,
  };
}

export function slacConfig(cfg: FirmwareConfig): SlacConfig {
  const c = defaultSlacConfig();
  c.timings = {
    ...c.timings,
    slacInit: cfg.slacInitTimeoutMs,
    matchSequence: cfg.slacMatchSequenceMs,
    matchResponse: cfg.slacMatchResponseMs,
    matchMnbc: Math.round(cfg.slacMatchMnbcMs / 100) * 100,
    matchSession: cfg.slacMatchSessionMs,
    matchJoin: cfg.slacMatchJoinMs,
  };
  c.fallback = cfg.slacFallback === "retry" ? "retry" : "basic";
  c.sessionRetries = cfg.slacSessionRetries;
  return c;
}

export function seccConfig(cfg: FirmwareConfig): SeccConfig {
  return {
    slac: slacConfig(cfg),
    timings: seccTimings(cfg),
    sdpPort: cfg.v2gSdpPort,
    sdpAddress: cfg.v2gSdpAddress,
    sdpMulticast: cfg.v2gSdpMulticast,
    v2gAddress: cfg.v2gAddress,
    v2gPort: cfg.v2gPort,
    maxPayload: cfg.v2gMaxPayload,
    tls: cfg.v2gTlsCertificate !== "" && cfg.v2gTlsKeyName !== "" ? { certificate: cfg.v2gTlsCertificate, key: cfg.v2gTlsKeyName } : null,
  };
}

export interface InstalledSecc {
  readonly secc: Secc;
  readonly modem: Qca7000;
  readonly link: Link;
  close(): void;
}

/** True when this board and config ask for HLC and the HAL can do it. */
export function hlcPossible(hal: Hal, cfg: FirmwareConfig): boolean {
  const m = hal.board.plcModem;
  return cfg.hlcEnabled && m !== undefined && m.chip === "qca7000" && hal.io.SPI !== undefined && hal.network.Listener !== undefined;
}

/**
 * Opens the modem and starts the SECC. `core` is told setHlc(false) on a fallback and setHlc(true) when the
 * next EV may try again; `events.channel` receives each V2GTP connection. Null (and a device-error log) when
 * hlcPossible() is false although hlcEnabled is set.
 */
export function installSecc(hal: Hal, cfg: FirmwareConfig, core: HlcCore, events: SeccEvents = {}): InstalledSecc | null {
  if (!cfg.hlcEnabled) return null;
  if (!hlcPossible(hal, cfg)) {
    hal.log.event("device-error", { device: "plc", code: "absent", message: "hlcEnabled needs Board.plcModem (qca7000), hal.io.SPI and hal.network.Listener" });
    return null;
  }
  const wiring = hal.board.plcModem!;
  let mac = wiring.mac !== undefined ? parseMac(wiring.mac) : null;
  if (mac === null) {
    // A locally administered unicast address from the HAL's random source.
    mac = new Uint8Array(hal.crypto.randomBytes(6));
    mac[0] = (mac[0]! & 0xfc) | 0x02;
  }
  const clock = hal.clock;
  let link: Link | null = null;
  const Digital = hal.io.Digital;
  const modem = new Qca7000({
    spi: new hal.io.SPI!({ ...wiring.spi }),
    timers: hal.timers,
    now: () => clock.now(),
    ...(Digital !== undefined && wiring.irq !== undefined ? { Digital, irqPin: wiring.irq } : {}),
    onReadable() {
      for (let f = this.read(); f !== undefined; f = this.read()) link?.receive(f);
    },
    onStatus(ready) {
      hal.log.event("hlc", { event: "modem", ready });
    },
    onError(e) {
      hal.log.event("device-error", { device: "plc", code: e.code, message: e.message });
    },
  });
  link = new Link(modem, mac);
  const crypto = hal.crypto;
  const secc = new Secc(
    {
      timers: hal.timers,
      now: () => clock.now(),
      network: hal.network,
      crypto: { randomBytes: (n) => crypto.randomBytes(n), sha256: (d) => crypto.sha256(d) },
      link,
      core,
      log: hal.log,
      events,
    },
    seccConfig(cfg),
  );
  core.setHlc(true);
  return {
    secc,
    modem,
    link,
    close() {
      secc.close();
      modem.close();
    },
  };
}
