/**
 * The simulated HomePlug modems behind the QCA7000 driver, as the SLAC layer will meet them: CM_SET_KEY.REQ to the
 * local management address is answered by the charger's own modem, sounds from the car become
 * CM_ATTEN_PROFILE.IND (58 groups), data frames pass only once both modems hold the same NMK and the network
 * formed, SLAC MMEs pass without one; a blocked medium passes nothing. All frames checked with the link layer.
 */
import test from "ava";
import { broadcastMac, ETHERTYPE_HOMEPLUG, formatMac } from "../../firmware/iso15118/link/ethernet.js";
import { CM_ATTEN_PROFILE, CM_MNBC_SOUND, CM_SET_KEY, CM_SLAC_PARAM, MM_CNF, MM_IND, MM_REQ, newMmeHeader, parseMme, QCA_LOCAL_MAC, writeMmeHeader } from "../../firmware/iso15118/link/homeplug.js";
import { EV_MAC, EVSE_MAC, ipv6Frame, rig } from "./qca7000-rig.js";

const NMK = Uint8Array.from([0xee, 0x7b, 0x8f, 0x0c, 0x57, 0xc2, 0x50, 0x8f, 0x8d, 0xdc, 0x83, 0xfd, 0x92, 0x32, 0xe2, 0x97]);
const NID = Uint8Array.from([0x03, 0x94, 0xbb, 0xf5, 0x9b, 0xb8, 0x0b]);

function setKeyReq(src: Uint8Array): Uint8Array {
  const f = new Uint8Array(60);
  let at = writeMmeHeader(f, QCA_LOCAL_MAC, src, CM_SET_KEY | MM_REQ);
  f[at++] = 1; // KeyType NMK
  at += 8; // nonces
  f[at++] = 4; // PID
  at += 3; // PRN, PMN
  f[at++] = 0; // CCo capability
  f.set(NID, at);
  at += 7;
  f[at++] = 1; // NewEKS
  f.set(NMK, at);
  return f;
}

test("CM_SET_KEY.REQ to 00:B0:52:00:00:01 is answered by the host's own modem and keys it; data flows once both are keyed", (t) => {
  const r = rig();
  r.clock.run(300);
  const hdr = newMmeHeader();
  // Before keys: IPv6 does not cross.
  r.drv.write(ipv6Frame(100, EV_MAC, EVSE_MAC));
  r.clock.run(20);
  t.is(r.evReceived.length, 0);
  t.true(r.evseModem.stats.noNetwork >= 1);
  r.drv.write(setKeyReq(EVSE_MAC));
  r.clock.run(20);
  t.is(r.received.length, 1);
  t.true(parseMme(r.received[0]!, hdr));
  t.is(hdr.mmtype, CM_SET_KEY | MM_CNF);
  t.is(r.received[0]![hdr.payloadOffset], 0, "result 0: success");
  t.is(formatMac(r.received[0]!, 0), formatMac(EVSE_MAC));
  t.is(r.evseModem.nid, "0394bbf59bb80b");
  // The car's host keys its modem the same way (directly, no SPI on the car side).
  r.evModem.hostSend(setKeyReq(EV_MAC));
  r.clock.run(r.medium.joinMs - 50);
  t.false(r.medium.linked(r.evseModem, r.evModem), "the network is still forming");
  r.clock.run(100);
  t.true(r.medium.linked(r.evseModem, r.evModem));
  r.drv.write(ipv6Frame(100, EV_MAC, EVSE_MAC, 3));
  r.clock.run(20);
  t.deepEqual(r.evReceived.filter((f) => f[12] === 0x86), [ipv6Frame(100, EV_MAC, EVSE_MAC, 3)]);
});

test("SLAC MMEs cross without a network; each CM_MNBC_SOUND.IND from the car reaches the charger's host as a CM_ATTEN_PROFILE.IND", (t) => {
  const r = rig();
  r.clock.run(300);
  const hdr = newMmeHeader();
  const param = new Uint8Array(60);
  writeMmeHeader(param, broadcastMac(), EV_MAC, CM_SLAC_PARAM | MM_REQ);
  r.evModem.hostSend(param);
  r.clock.run(20);
  t.is(r.received.length, 1);
  t.true(parseMme(r.received[0]!, hdr));
  t.is(hdr.mmtype, CM_SLAC_PARAM | MM_REQ);
  for (let k = 0; k < 3; k++) {
    const sound = new Uint8Array(71);
    writeMmeHeader(sound, broadcastMac(), EV_MAC, CM_MNBC_SOUND | MM_IND);
    r.evModem.hostSend(sound);
  }
  r.medium.baseAttenuationDb = 25;
  r.clock.run(50);
  const profiles = r.received.slice(1);
  t.is(profiles.length, 3);
  for (const p of profiles) {
    t.true(parseMme(p, hdr));
    t.is(hdr.eth.etherType, ETHERTYPE_HOMEPLUG);
    t.is(hdr.mmtype, CM_ATTEN_PROFILE | MM_IND);
    const at = hdr.payloadOffset;
    t.is(formatMac(p, at), formatMac(EV_MAC), "PEV MAC = the sound's source");
    t.is(p[at + 6], 58, "NumGroups");
    for (let g = 0; g < 58; g++) t.true(Math.abs(p[at + 8 + g]! - 25) <= 3);
  }
});

test("a blocked medium passes nothing; the driver stays in sync (the SPI side is fine)", (t) => {
  const r = rig();
  r.clock.run(300);
  r.pair();
  r.medium.blocked = true;
  r.drv.write(ipv6Frame(100, EV_MAC, EVSE_MAC));
  r.evModem.hostSend(ipv6Frame(100, EVSE_MAC, EV_MAC));
  r.clock.run(100);
  t.is(r.evReceived.length, 0);
  t.is(r.received.length, 0);
  t.true(r.drv.ready);
  t.is(r.medium.stats.lost, 2);
});
