/**
 * Wires the uplinks: Wi-Fi (the HAL's network, state from hal.network.WiFi) and, when the board has an LTE
 * modem (Board.lteModem) and a UART (hal.io.Serial), the modem driver from hal/drivers/lte. See manager.ts.
 */
import { Bg95, type Bg95Timing } from "../../hal/drivers/lte/bg95.js";
import type { Hal } from "../../hal/index.js";
import { lteUplink, NetworkManager, wifiUplink, type NetworkManagerOptions } from "./manager.js";

export { NetworkManager, type UplinkStatus, type LinkName, type Uplink } from "./manager.js";
export { webSocketOverTcp, parseWsUrl } from "./websocket.js";

export interface Uplinks {
  manager: NetworkManager;
  /** The LTE modem driver, when the board has one. */
  modem: Bg95 | null;
  close(): void;
}

export interface UplinkOptions extends NetworkManagerOptions {
  /** APN (overrides Board.lteModem.apn). */
  apn?: string;
  modemTiming?: Partial<Bg95Timing>;
}

export function startUplinks(hal: Hal, options: UplinkOptions = {}): Uplinks {
  const manager = new NetworkManager(hal, options);
  const wifi = wifiUplink(hal, () => manager.changed("wifi"));
  manager.add(wifi);
  let modem: Bg95 | null = null;
  const wiring = hal.board.lteModem;
  const Serial = hal.io.Serial;
  if (wiring && Serial) {
    try {
      modem = new Bg95({
        Serial,
        ...(hal.io.Digital ? { Digital: hal.io.Digital } : {}),
        timers: hal.timers,
        clock: hal.clock,
        log: (kind, fields) => hal.log.event(kind, fields),
        wiring,
        ...(options.apn ? { apn: options.apn } : {}),
        ...(options.modemTiming ? { timing: options.modemTiming } : {}),
        onChange: () => manager.changed("lte"),
      });
      manager.add(lteUplink(hal, modem));
      modem.start();
    } catch (e) {
      hal.log.event("device-error", { device: "lte", code: "open", message: (e as Error).message });
      modem = null;
    }
  } else if (wiring) {
    hal.log.event("device-error", { device: "lte", code: "absent", message: "the board has an LTE modem but the HAL has no Serial" });
  }
  return {
    manager,
    modem,
    close() {
      manager.stop();
      modem?.close();
      wifi.close();
    },
  };
}
