/** A BG95 driver on a scheduler against the serial-level modem model, with real loopback peers. */
import net from "node:net";
import { Bg95, type Bg95Timing } from "../../hal/drivers/lte/bg95.js";
import type { Digital, DigitalOptions, LogFields, LteModemWiring, TimerId, Timers } from "../../hal/index.js";
import { LteModemModel, modemIo, webSocketStreamExpectsReply, type LteModemTiming } from "../../simulator/chips/lte-modem.js";
import { createSimNetwork, type SimNetwork } from "../../simulator/net/index.js";
import { Scheduler } from "../../simulator/scheduler.js";

export const WIRING: LteModemWiring = { chip: "bg95", serial: { port: 2, baud: 115200 }, reset: 17, apn: "iot.example" };

class PinStub implements Digital {
  constructor(_o: DigitalOptions) {}
  read(): 0 | 1 {
    return 0;
  }
  write(): void {}
  close(): void {}
}

export function schedulerTimers(s: Scheduler): Timers {
  const live = new Map<number, number>();
  let ids = 0;
  return {
    set(cb: (id: TimerId) => void, delay: number, repeat = 0): TimerId {
      const id = ++ids;
      const fire = (due: number) => {
        live.delete(id);
        if (repeat > 0) live.set(id, s.at(due + repeat, () => fire(due + repeat)));
        cb(id);
      };
      live.set(id, s.at(s.now + delay, () => fire(s.now)));
      return id;
    },
    clear(id: TimerId): void {
      const e = live.get(id);
      if (e !== undefined) s.cancel(e);
      live.delete(id);
    },
  };
}

export interface ModemRig {
  scheduler: Scheduler;
  model: LteModemModel;
  driver: Bg95;
  timers: Timers;
  log: Array<[number, string, LogFields]>;
  net: SimNetwork;
  /** Runs until `done()` or `ms` of virtual time passed. */
  runUntil(done: () => boolean, ms?: number): Promise<void>;
  teardown(): Promise<void>;
}

export async function modemRig(o: { timing?: Partial<Bg95Timing>; modem?: Partial<LteModemTiming>; sim?: boolean } = {}): Promise<ModemRig> {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  let netRef: SimNetwork | null = null;
  const model = new LteModemModel(scheduler, () => netRef!, WIRING.serial.baud, o.modem);
  const net = createSimNetwork({ scheduler, expectsReply: webSocketStreamExpectsReply() });
  netRef = net;
  const io = modemIo(model, WIRING, { Digital: PinStub }, () => undefined, (fn) => scheduler.post(fn));
  if (o.sim !== false) model.powerOn();
  const log: Array<[number, string, LogFields]> = [];
  const timers = schedulerTimers(scheduler);
  const driver = new Bg95({
    Serial: io.Serial,
    Digital: io.Digital,
    timers,
    clock: { now: () => scheduler.now },
    log: (k, f) => log.push([scheduler.now, k, f]),
    wiring: WIRING,
    ...(o.timing ? { timing: o.timing } : {}),
  });
  return {
    scheduler,
    model,
    driver,
    timers,
    log,
    net,
    async runUntil(done: () => boolean, ms = 600_000) {
      const until = scheduler.now + ms;
      await scheduler.run(until, done);
    },
    async teardown() {
      driver.close();
      net.shutdown();
    },
  };
}

/** A loopback TCP server; `onConnection` scripts the peer. */
export async function tcpServer(onConnection: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
