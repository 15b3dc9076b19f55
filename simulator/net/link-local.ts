/**
 * The simulated IPv6 link (the PLC link of ISO 15118): link-local unicast (fe80::/10) and multicast (ff00::/8)
 * addresses are routed inside the simulation, never by the host's kernel (CI hosts often allow no IPv6 multicast
 * and have no such addresses). Real sockets behind them are bound on ::1.
 *
 * One link per simulated network: zones ("%plc0", "%2") are accepted everywhere and ignored when matching, and
 * any fe80:: address may be bound (no duplicate address detection, no ownership check).
 */
import { formatIpv6, parseIpv6 } from "../../firmware/iso15118/sdp/sdp.js";

/** "fe80::1%plc0" → { address: "fe80::1", zone: "plc0" }; no zone: zone "". */
export function splitZone(address: string): { address: string; zone: string } {
  const pct = address.indexOf("%");
  return pct < 0 ? { address, zone: "" } : { address: address.slice(0, pct), zone: address.slice(pct + 1) };
}

/** The canonical text of an IPv6 address without its zone (RFC 5952 lower case, longest zero run as ::), or null. */
export function canonicalIpv6(address: string): string | null {
  const { address: a, zone } = splitZone(address);
  if (address.includes("%") && !/^[0-9A-Za-z_.-]+$/.test(zone)) return null;
  const b = parseIpv6(a);
  return b === null ? null : formatIpv6(b);
}

/** fe80::/10. */
export function isLinkLocal(address: string): boolean {
  const b = parseIpv6(splitZone(address).address);
  return b !== null && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

/** ff00::/8. */
export function isMulticast6(address: string): boolean {
  const b = parseIpv6(splitZone(address).address);
  return b !== null && b[0] === 0xff;
}

/** The unspecified address "::" (any). */
export function isUnspecified6(address: string): boolean {
  const b = parseIpv6(splitZone(address).address);
  return b !== null && b.every((x) => x === 0);
}

/** An address whose traffic the simulated link carries (link-local unicast or IPv6 multicast). */
export function onSimulatedLink(address: string): boolean {
  return isLinkLocal(address) || isMulticast6(address);
}

/** The IPv6 link-local address of a MAC (modified EUI-64, RFC 4291 appendix A): fe80::MAC[0]^2:MAC[1..2]ff:fe… */
export function linkLocalFromMac(mac: Uint8Array): string {
  if (mac.length !== 6) throw new RangeError("MAC must be 6 bytes");
  const b = new Uint8Array(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b[8] = mac[0]! ^ 0x02;
  b[9] = mac[1]!;
  b[10] = mac[2]!;
  b[11] = 0xff;
  b[12] = 0xfe;
  b[13] = mac[3]!;
  b[14] = mac[4]!;
  b[15] = mac[5]!;
  return formatIpv6(b);
}

/** What hal.network.plcInterface() reports (hal/network.ts Ipv6Interface). */
export interface SimInterfaceInfo {
  name: string;
  scopeId: number;
  linkLocal: string | null;
}

/**
 * The simulated board's PLC network interface, for hal.network.plcInterface: `{ name, scopeId, linkLocal }` with
 * the link-local address derived from the modem's host MAC (EUI-64), as an IPv6 stack does it. `up()` / `down()`
 * model the address appearing (after the link came up) and going away.
 */
export class SimPlcInterface {
  readonly name: string;
  readonly scopeId: number;
  readonly linkLocal: string;
  #up: boolean;

  constructor(options: { mac: Uint8Array; name?: string; scopeId?: number; up?: boolean }) {
    this.name = options.name ?? "plc0";
    if (!/^[0-9A-Za-z_.-]{1,15}$/.test(this.name)) throw new RangeError("interface name: 1..15 of [0-9A-Za-z_.-]");
    this.scopeId = options.scopeId ?? 2;
    if (!Number.isInteger(this.scopeId) || this.scopeId < 1) throw new RangeError("scopeId must be a positive integer");
    this.linkLocal = linkLocalFromMac(options.mac);
    this.#up = options.up ?? true;
  }

  up(): void {
    this.#up = true;
  }

  down(): void {
    this.#up = false;
  }

  /** The HAL function: a fresh object each call (the firmware may keep it). */
  readonly info = (): SimInterfaceInfo => ({ name: this.name, scopeId: this.scopeId, linkLocal: this.#up ? this.linkLocal : null });
}
