/** createHal(): the HAL contract bound to Moddable modules, for one board description. */
import type * as H from "../index.js";
import { ESP32_DEVKIT, type BoardDescription } from "./board.js";
import { createChargingIo, type Drivers, type IoProvider } from "./charging.js";
import { ModdableClock, ModdableTimers } from "./clock.js";
import { ModdableCrypto } from "./crypto.js";
import { createNetwork } from "./network.js";
import { moddableStorage } from "./storage.js";
import { ModdableSystem, TraceLog } from "./system.js";

export interface HalExtras extends Drivers {
  /** What the board's native code reports as the reset cause. */
  bootReason?: H.BootReason;
  /**
   * The PLC interface's IPv6 name, scope id and link-local address, from the board's native code (an lwIP netif
   * fed with the QCA7000's IPv6 frames). Moddable has no module that reports IPv6 addresses: absent, the SECC
   * uses config v2gAddress (README.md "IPv6 and multicast").
   */
  plcInterface?: () => H.Ipv6Interface | null;
}

export function createHal(io: IoProvider, desc: BoardDescription = ESP32_DEVKIT, extras: HalExtras = {}): H.Hal {
  const clock = new ModdableClock();
  const watchdog = desc.watchdog === undefined ? undefined : new io.Digital({ pin: desc.watchdog, mode: io.Digital.Output });
  return {
    board: desc.board,
    clock,
    timers: new ModdableTimers(),
    // ECMA-419 SPI, Serial and Digital for the chip drivers of hal/drivers (the metering IC: Board.meterIc; the
    // LTE modem's AT port: Board.lteModem, format "buffer" so read() returns an ArrayBuffer).
    io: {
      ...createChargingIo(desc, io, extras),
      ...(io.SPI ? { SPI: io.SPI as unknown as NonNullable<H.LowLevelIo["SPI"]> } : {}),
      ...(io.Serial ? { Serial: io.Serial as unknown as NonNullable<H.LowLevelIo["Serial"]> } : {}),
      Digital: io.Digital as unknown as NonNullable<H.LowLevelIo["Digital"]>,
    },
    storage: moddableStorage,
    crypto: new ModdableCrypto(),
    network: extras.plcInterface ? { ...createNetwork(desc.dns), plcInterface: extras.plcInterface } : createNetwork(desc.dns),
    system: new ModdableSystem(extras.bootReason, watchdog),
    log: new TraceLog(() => clock.now()),
  };
}
