/**
 * The QCA7000 driver (hal/drivers/qca7000.ts) against the register-level chip model (simulator/chips/qca7000.ts)
 * on the simulated SPI bus with its interrupt line, the chip's modem on a simulated HomePlug medium with the car's
 * modem: sync (signature, reset, CPU_ON), frames of every size both ways, several frames per read, write-buffer
 * back-pressure, a broken or garbage MISO line (error + recovery), a chip that resets itself, reset timeout,
 * polling without the interrupt line, misuse.
 */
import test from "ava";
import { HW_BUF_LEN } from "../../hal/drivers/qca7000/registers.js";
import { EV_MAC, EVSE_MAC, ipv6Frame, padded, rig } from "./qca7000-rig.js";

test("init: the driver resets the chip, waits for CPU_ON, checks the signature and the empty write buffer", (t) => {
  const r = rig();
  t.false(r.drv.ready);
  r.clock.run(300);
  t.true(r.drv.ready);
  t.is(r.drv.state, "ready");
  t.is(r.drv.stats.resets, 1);
  t.is(r.drv.stats.syncs, 1);
  t.is(r.chip.stats.resets, 2, "power-on + the driver's reset");
  t.deepEqual(r.status, [true]);
  t.is(r.writableCalls(), 1);
  t.deepEqual(r.errors, []);
  t.true(r.drv.stats.interrupts >= 1, "CPU_ON came through the interrupt line");
});

test("frames of every size go out to the car's modem and come back, byte for byte", (t) => {
  const r = rig();
  r.clock.run(300);
  r.pair();
  const sizes = [14, 42, 59, 60, 61, 64, 100, 255, 256, 512, 1000, 1499, 1500, 1514, 1517, 1518, 1521, 1522];
  for (const [k, n] of sizes.entries()) {
    const f = ipv6Frame(n, EV_MAC, EVSE_MAC, k);
    r.drv.write(f);
    r.clock.run(20);
    t.is(r.evReceived.length, k + 1, `sent ${n}`);
    t.deepEqual(r.evReceived[k], padded(f), `sent ${n}`);
  }
  for (const [k, n] of sizes.entries()) {
    const f = ipv6Frame(n, EVSE_MAC, EV_MAC, 100 + k);
    r.evModem.hostSend(f);
    r.clock.run(20);
    t.is(r.received.length, k + 1, `received ${n}`);
    t.deepEqual(r.received[k], padded(f), `received ${n}`);
  }
  t.is(r.drv.stats.rxErrors, 0);
  t.is(r.drv.stats.txFrames, sizes.length);
  t.deepEqual(r.errors, []);
});

test("several frames waiting in the read buffer come out of one read, in order", (t) => {
  const r = rig();
  r.clock.run(300);
  r.pair();
  // The car sends three frames back to back; they land in the chip's read buffer before the host reads.
  const sent = [ipv6Frame(300, EVSE_MAC, EV_MAC, 1), ipv6Frame(60, EVSE_MAC, EV_MAC, 2), ipv6Frame(1518, EVSE_MAC, EV_MAC, 3)];
  for (const f of sent) r.evModem.hostSend(f);
  r.clock.run(50);
  t.deepEqual(r.received, sent);
  t.true(r.drv.stats.interrupts <= 4, `interrupts ${r.drv.stats.interrupts}`);
});

test("back-pressure: a full write buffer holds frames in the driver's queue, send() refuses when that is full too, nothing is lost", (t) => {
  const r = rig();
  r.clock.run(300);
  r.pair();
  r.chip.holdTx = true; // the power line is busy: nothing leaves the chip
  const frames: Uint8Array[] = [];
  let refused = 0;
  for (let k = 0; k < 20; k++) {
    const f = ipv6Frame(1518, EV_MAC, EVSE_MAC, k);
    if (r.drv.send(f)) frames.push(f);
    else refused++;
  }
  r.clock.run(100);
  // 3163 bytes hold two 1518-byte framed packets (1532 + 4 each); eight more wait in the driver.
  t.is(r.chip.writeBufferUsed, 2 * (1518 + 14));
  t.is(frames.length, 2 + 8);
  t.is(refused, 10);
  t.is(r.drv.writable, 0);
  t.true(r.drv.stats.txBufferFull > 0);
  t.throws(() => r.drv.write(ipv6Frame(100, EV_MAC, EVSE_MAC)), { message: /queue full/ });
  const before = r.writableCalls();
  r.chip.holdTx = false;
  r.chip.kick();
  r.clock.run(200);
  t.deepEqual(r.evReceived, frames, "every accepted frame arrives, in order");
  t.true(r.writableCalls() > before, "onWritable after the queue drained");
  t.is(r.drv.writable, 8);
  t.is(r.chip.writeBufferUsed, 0);
  t.is(r.chip.stats.wrbufErrors, 0);
  t.deepEqual(r.errors, []);
});

for (const fault of ["silent", "stuck", "garbage"] as const) {
  test(`a ${fault} MISO line: signature check fails → error once, queue dropped; line back → reset, resync, frames flow`, (t) => {
    const seed = 1000 + fault.length;
    const r = rig({ seed });
    t.log(`seed ${seed}`);
    r.clock.run(300);
    r.pair();
    r.chip.holdTx = true;
    r.drv.write(ipv6Frame(200, EV_MAC, EVSE_MAC));
    r.chip.fault = fault;
    r.clock.run(1000);
    t.false(r.drv.ready);
    t.is(r.errors.length, 1, JSON.stringify(r.errors));
    t.regex(r.errors[0]!.code, fault === "silent" ? /^no-response$/ : /^(bad-signature|garbage|buffer-error|no-response)$/);
    t.deepEqual(r.status, [true, false]);
    t.is(r.drv.writable, 0);
    t.false(r.drv.send(ipv6Frame(100, EV_MAC, EVSE_MAC)));
    r.chip.fault = "none";
    r.chip.holdTx = false;
    r.clock.run(1000);
    t.true(r.drv.ready);
    t.is(r.drv.stats.syncs, 2);
    t.true(r.drv.stats.resets >= 2);
    t.deepEqual(r.status, [true, false, true]);
    // The reset cleared the chip (and the modem's network): pair again, then traffic flows both ways.
    r.pair();
    const f = ipv6Frame(700, EV_MAC, EVSE_MAC, 9);
    r.drv.write(f);
    r.evModem.hostSend(ipv6Frame(80, EVSE_MAC, EV_MAC, 9));
    r.clock.run(50);
    t.deepEqual(r.evReceived.at(-1), f);
    t.deepEqual(r.received.at(-1), ipv6Frame(80, EVSE_MAC, EV_MAC, 9));
  });
}

test("garbage on the line during the chip's start: no sync until the line is good (seeded)", (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = rig({ seed });
    r.chip.fault = "garbage";
    r.clock.run(2000);
    t.false(r.drv.ready, `seed ${seed}`);
    t.true(r.errors.length >= 1 && r.errors.length <= 2, `seed ${seed}: ${JSON.stringify(r.errors)}`);
    r.chip.fault = "none";
    r.clock.run(2000);
    t.true(r.drv.ready, `seed ${seed}`);
  }
});

test("the chip resets by itself while in sync: CPU_ON → chip-reset reported, resync without a driver reset", (t) => {
  const r = rig();
  r.clock.run(300);
  const resets = r.drv.stats.resets;
  r.chip.spontaneousReset();
  r.clock.run(300);
  t.true(r.drv.ready);
  t.deepEqual(
    r.errors.map((e) => e.code),
    ["chip-reset"],
  );
  t.is(r.drv.stats.syncs, 2);
  t.is(r.drv.stats.resets, resets, "CPU_ON with a good signature is enough");
  t.deepEqual(r.status, [true, false, true]);
});

test("a reset that does not take: no CPU_ON within resetTimeoutMs → reset again, then in sync", (t) => {
  const r = rig({ driver: { resetTimeoutMs: 1000 } });
  r.clock.run(300);
  t.true(r.drv.ready);
  r.chip.ignoreResets = 1;
  r.chip.fault = "stuck";
  r.clock.run(200);
  t.false(r.drv.ready);
  r.chip.fault = "none";
  r.clock.run(800);
  t.is(r.drv.state, "reset", "waiting for a CPU_ON that will not come");
  r.clock.run(2000);
  t.true(r.drv.ready);
  t.is(r.drv.stats.resetTimeouts, 1);
  t.is(r.drv.stats.resets, 3);
  t.deepEqual(
    r.errors.map((e) => e.code),
    ["bad-signature"],
    "one report per episode",
  );
});

test("without the interrupt line the driver polls INTR_CAUSE and still moves frames both ways", (t) => {
  const r = rig({ irq: false });
  r.clock.run(300);
  t.true(r.drv.ready);
  t.is(r.drv.stats.interrupts, 0);
  r.pair();
  const f = ipv6Frame(128, EVSE_MAC, EV_MAC, 5);
  r.evModem.hostSend(f);
  r.drv.write(ipv6Frame(64, EV_MAC, EVSE_MAC, 5));
  r.clock.run(100);
  t.deepEqual(r.received, [f]);
  t.is(r.evReceived.length, 1);
});

test("misuse throws synchronously; close() disables the chip's interrupts and is idempotent", (t) => {
  const r = rig();
  t.throws(() => r.drv.write(ipv6Frame(100, EV_MAC, EVSE_MAC)), { message: /not in sync/ });
  r.clock.run(300);
  t.throws(() => r.drv.write(new Uint8Array(13)), { instanceOf: RangeError });
  t.throws(() => r.drv.write(new Uint8Array(1523)), { instanceOf: RangeError });
  t.throws(() => r.drv.write("x" as unknown as Uint8Array), { instanceOf: TypeError });
  t.is(r.drv.read(), undefined);
  r.drv.close();
  r.drv.close();
  t.is(r.drv.state, "closed");
  t.throws(() => r.drv.read(), { message: /closed/ });
  t.is(r.chip.irq.value, 0);
  r.clock.run(1000);
  t.is(r.drv.stats.syncs, 1);
});

test("chip model: the write buffer reports 3163 bytes when empty; a malformed packet raises WRBUF_ERR and the driver resyncs", (t) => {
  const r = rig();
  r.clock.run(300);
  t.is(HW_BUF_LEN, 3163);
  // Write a packet with a bad EOF straight over the bus (as a broken host would).
  const spi = new r.io.SPI({ hz: 1_000_000, select: 5 });
  spi.write(Uint8Array.from([0x41, 0x00, 0x00, 72])); // BFR_SIZE := 72
  spi.flush();
  const bad = new Uint8Array(72).fill(0);
  bad.set([0xaa, 0xaa, 0xaa, 0xaa, 60, 0, 0, 0]);
  spi.write(Uint8Array.from([0x00, 0x00]));
  spi.write(bad);
  spi.flush();
  r.clock.run(2000);
  t.is(r.chip.stats.wrbufErrors, 1);
  t.is(r.errors[0]?.code, "buffer-error");
  t.true(r.drv.ready, "resynchronised");
  t.is(r.drv.stats.syncs, 2);
});
