/**
 * The board's uplinks in the simulation: the Wi-Fi station (hal.network.WiFi, a Link whose state the scenario
 * drives; while it is down the Wi-Fi network is black-holed and refuses new connections) and the LTE modem
 * (simulator/chips/lte-modem.ts on the board's UART, its sockets proxied through a simulated network of its own
 * that the Wi-Fi faults do not touch). Lives as long as the board; `forBoot()` gives each MCU boot its IO.
 */
import type { Board, Link, LinkInfo, LinkOptions, LowLevelIo, NetworkInterfaces } from "../../hal/index.js";
import { createSimNetwork, type SimNetwork } from "../net/index.js";
import type { Scheduler } from "../scheduler.js";
import { LteModemModel, modemIo, webSocketStreamExpectsReply, type LteModemTiming } from "./lte-modem.js";

export type UplinkAction =
  | { do: "wifi"; up: boolean; rssi?: number }
  | { do: "lte"; fault: "coverage-lost" | "coverage-back" | "stall" | "no-sim" | "signal"; csq?: number };

export class WifiRadio {
  private up = true;
  private rssi = -55;
  private readonly listeners = new Set<() => void>();
  get info(): LinkInfo {
    return { state: this.up ? "up" : "down", rssi: this.up ? this.rssi : null, quality: this.up ? Math.max(0, Math.min(100, 2 * (this.rssi + 100))) : null };
  }
  get isUp(): boolean {
    return this.up;
  }
  set(up: boolean, rssi?: number): void {
    const changed = up !== this.up || (rssi !== undefined && rssi !== this.rssi);
    this.up = up;
    if (rssi !== undefined) this.rssi = rssi;
    if (changed) for (const l of [...this.listeners]) l();
  }
  listen(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export class BoardUplinks {
  readonly wifi = new WifiRadio();
  readonly modem: LteModemModel | null;
  private modemNet: SimNetwork | null = null;
  private wifiNet: SimNetwork | null = null;

  constructor(private readonly scheduler: Scheduler, private readonly board: Board, options: { wifiUp?: boolean; modemTiming?: Partial<LteModemTiming> } = {}) {
    const w = board.lteModem;
    this.modem = w ? new LteModemModel(scheduler, () => this.net(), w.serial.baud, options.modemTiming) : null;
    if (options.wifiUp === false) this.wifi.set(false);
  }

  /** The modem's own network (created on first use, recreated after shutdown). */
  private net(): SimNetwork {
    this.modemNet ??= createSimNetwork({ scheduler: this.scheduler, expectsReply: webSocketStreamExpectsReply() });
    return this.modemNet;
  }

  /** Board power on (every boot after a power loss, and the first). */
  powerOn(): void {
    this.modem?.powerOn();
  }

  powerLost(): void {
    this.modem?.powerLost();
    this.modemNet?.shutdown();
    this.modemNet = null;
  }

  /**
   * For one MCU boot: the Wi-Fi Link class added to the boot's network (and the Wi-Fi faults applied to it),
   * the modem's UART and RESET_N in the low-level IO. `deliver` posts a firmware callback unless the boot died.
   */
  forBoot(
    wifiNet: SimNetwork,
    base: Pick<Required<LowLevelIo>, "Digital">,
    check: () => void,
    deliver: (fn: () => void) => void,
  ): { WiFi: NonNullable<NetworkInterfaces["WiFi"]>; io: Partial<LowLevelIo> } {
    this.wifiNet = wifiNet;
    this.applyWifi();
    const radio = this.wifi;
    class SimWiFi implements Link {
      private off: (() => void) | null;
      constructor(options: LinkOptions = {}) {
        check();
        const self = this;
        const cb = options.onReadable;
        this.off = cb ? radio.listen(() => deliver(() => cb.call(self))) : null;
      }
      read(): LinkInfo {
        check();
        return radio.info;
      }
      close(): void {
        this.off?.();
        this.off = null;
      }
    }
    const io = this.modem && this.board.lteModem ? modemIo(this.modem, this.board.lteModem, base, check, deliver) : {};
    return { WiFi: SimWiFi, io };
  }

  private applyWifi(): void {
    const f = this.wifiNet?.faults;
    if (!f) return;
    const down = !this.wifi.isUp;
    f.refuse(down);
    f.blackhole(down);
  }

  act(a: UplinkAction): string | null {
    if (a.do === "wifi") {
      this.wifi.set(a.up, a.rssi);
      this.applyWifi();
      return null;
    }
    const m = this.modem;
    if (!m) return "this board has no LTE modem (board.lteModem)";
    switch (a.fault) {
      case "coverage-lost":
        m.setCoverage(false);
        break;
      case "coverage-back":
        m.setCoverage(true);
        break;
      case "stall":
        m.stall();
        break;
      case "no-sim":
        m.setSim(false);
        break;
      case "signal":
        if (a.csq !== undefined) m.csq = a.csq;
        break;
    }
    return null;
  }

  shutdown(): void {
    this.modemNet?.shutdown();
    this.modemNet = null;
  }
}
