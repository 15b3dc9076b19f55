/**
 * The board's chips for one simulated charger: the metering IC model on the SPI bus (when Board.meterIc says
 * so), fed by the World's grid/EV/meter models, and the supply monitor line. Lives as long as the board (across
 * MCU reboots); `powerLost()` resets what loses power with the board.
 */
import type { Board } from "../../hal/index.js";
import type { World } from "../models/world.js";
import type { Rng } from "../rng.js";
import { Ade9000Chip, type AnalogSample } from "./ade9000.js";
import { HomePlugMedium, HomePlugModem, type SimClock } from "./homeplug.js";
import { createChipIo, InputLine, PowerFailLine, type ChipIo, type SpiDevice } from "./io.js";
import { Qca7000Chip } from "./qca7000.js";

/** The power line between this charger and the car (Board.plcModem): the charger's QCA7000 and the car's modem. */
export interface PlcLine {
  chip: Qca7000Chip;
  medium: HomePlugMedium;
  /** The car's modem: the simulated EVCC sends with evModem.hostSend(frame) and receives via evModem.onHostFrame. */
  evModem: HomePlugModem;
}

export class BoardChips {
  readonly meterChip: Ade9000Chip | null;
  readonly powerFail: PowerFailLine | null;
  /** The PLC modem, its medium and the car's modem, when Board.plcModem says so and a clock was given. */
  readonly plc: PlcLine | null = null;
  readonly stats = { spiBytes: 0, spiTransactions: 0 };
  private readonly devices = new Map<number, SpiDevice>();
  private readonly inputs = new Map<number, InputLine>();
  private readonly reading = { voltage: [0, 0, 0], current: [0, 0, 0], power: [0, 0, 0], frequency: 0, energyImport: 0, energyExport: 0 };

  constructor(private readonly world: World, board: Board, rng: Rng, now: () => number, clock?: SimClock) {
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
    const plc = board.plcModem;
    if (plc && plc.chip === "qca7000" && clock) {
      const medium = new HomePlugMedium({ clock, rng: rng.fork("plc-medium") });
      const evseModem = new HomePlugModem({ mac: Uint8Array.from([0x00, 0xb0, 0x52, 0x00, 0x00, 0x10]), role: "evse", clock, rng: rng.fork("plc-evse") });
      const evModem = new HomePlugModem({ mac: Uint8Array.from([0x00, 0xb0, 0x52, 0x00, 0x00, 0x20]), role: "pev", clock, rng: rng.fork("plc-ev") });
      medium.attach(evseModem);
      medium.attach(evModem);
      const chip = new Qca7000Chip({ modem: evseModem, clock, rng: rng.fork("qca7000-miso") });
      if (plc.spi.select !== undefined) this.devices.set(plc.spi.select, chip);
      if (plc.irq !== undefined) this.inputs.set(plc.irq, chip.irq);
      this.plc = { chip, medium, evModem };
    }
  }

  /** The low-level IO for one boot. */
  io(check: () => void, deliver: (fn: () => void) => void): ChipIo {
    return createChipIo({ check, devices: this.devices, inputs: this.inputs, powerFail: this.powerFail, deliver, stats: this.stats });
  }

  /** The board lost power: the chips reset, the supply monitor rearms. */
  powerLost(): void {
    this.meterChip?.reset();
    this.plc?.chip.reset();
    this.powerFail?.clear();
  }
}
