/**
 * The board's chips for one simulated charger: the metering IC model on the SPI bus (when Board.meterIc says
 * so), fed by the World's grid/EV/meter models, and the supply monitor line. Lives as long as the board (across
 * MCU reboots); `powerLost()` resets what loses power with the board.
 */
import type { Board } from "../../hal/index.js";
import type { World } from "../models/world.js";
import type { Rng } from "../rng.js";
import { Ade9000Chip, type AnalogSample } from "./ade9000.js";
import { createChipIo, PowerFailLine, type ChipIo, type SpiDevice } from "./io.js";

export class BoardChips {
  readonly meterChip: Ade9000Chip | null;
  readonly powerFail: PowerFailLine | null;
  readonly stats = { spiBytes: 0, spiTransactions: 0 };
  private readonly devices = new Map<number, SpiDevice>();
  private readonly reading = { voltage: [0, 0, 0], current: [0, 0, 0], power: [0, 0, 0], frequency: 0, energyImport: 0, energyExport: 0 };

  constructor(private readonly world: World, board: Board, rng: Rng, now: () => number) {
    const ic = board.meterIc;
    if (ic && ic.chip === "ade9000") {
      const self = this;
      this.meterChip = new Ade9000Chip({
        vFullScale: ic.vFullScale,
        iFullScale: ic.iFullScale,
        rng: rng.fork("ade9000-miso"),
        frontEnd: {
          sample(out: AnalogSample): void {
            self.world.advance(now());
            const m = self.world.readMeter(self.reading);
            for (let k = 0; k < 3; k++) {
              out.volts[k] = m.voltage[k]!;
              out.amps[k] = m.current[k]!;
              out.watts[k] = m.power[k]!;
            }
            out.hz = m.frequency;
            out.netWh = m.energyImport - m.energyExport;
          },
        },
      });
      if (ic.spi.select !== undefined) this.devices.set(ic.spi.select, this.meterChip);
    } else {
      this.meterChip = null;
    }
    this.powerFail = (board.holdUpMs ?? 0) > 0 ? new PowerFailLine() : null;
  }

  /** The low-level IO for one boot. */
  io(check: () => void, deliver: (fn: () => void) => void): ChipIo {
    return createChipIo({ check, devices: this.devices, powerFail: this.powerFail, deliver, stats: this.stats });
  }

  /** The board lost power: the chips reset, the supply monitor rearms. */
  powerLost(): void {
    this.meterChip?.reset();
    this.powerFail?.clear();
  }
}
