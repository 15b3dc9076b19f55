/**
 * The SDP responder (ISO 15118-2 §7.10.1; DIN SPEC 70121 §8.7.1) over hal.network.UDP: every valid SDP request
 * (V2GTP 0x9000) is answered (0x9001) to the sender's address and port with the SECC's IPv6 address, TCP port and
 * security. Invalid requests are counted and ignored (the EV retries). The caller decides the answer (TLS or not).
 *
 * The EV sends its request to the IPv6 all-nodes group ff02::1 on the PLC link: the server joins `multicast`
 * (e.g. "ff02::1%plc0") with the HAL UDP's add() (ECMA-419); it must be bound to "::" to receive it. A HAL without
 * add(), or a join that fails, is reported through onError("EMULTICAST", …) and the server keeps answering unicast.
 */
import type { Network, UDP } from "../../../hal/network.js";
import { encodeSdpResponse, parseSdpRequest, type SdpRequest, type SdpResponse } from "../sdp/sdp.js";

export interface SdpServerStats {
  requests: number;
  responses: number;
  /** Datagrams that were not a valid SDP request ("header", "type", "length", "value"). */
  invalid: number;
  /** Valid requests the owner chose not to answer (no server port yet). */
  unanswered: number;
}

export interface SdpServerOptions {
  UDP: Network["UDP"];
  port: number;
  /** Bind address ("" or undefined: the HAL's default). */
  address?: string;
  /** Multicast group to join ("" or undefined: none), with the interface as zone. */
  multicast?: string;
  /** The answer to a valid request, or null for none. */
  answer(req: SdpRequest): SdpResponse | null;
  onError?(code: string, message: string): void;
}

export class SdpServer {
  readonly stats: SdpServerStats = { requests: 0, responses: 0, invalid: 0, unanswered: 0 };
  #udp: UDP | null;
  #joined = false;

  constructor(o: SdpServerOptions) {
    const self = this;
    this.#udp = new o.UDP({
      port: o.port,
      ...(o.address ? { address: o.address } : {}),
      onReadable() {
        for (let p = this.read(); p !== undefined; p = this.read()) self.#datagram(o, p.data, p.address, p.port);
      },
      onError(e) {
        o.onError?.(e.code, e.message);
      },
    });
    const group = o.multicast;
    if (group) {
      const u = this.#udp;
      if (typeof u.add !== "function") {
        o.onError?.("EMULTICAST", "the HAL's UDP cannot join a multicast group");
      } else {
        try {
          u.add(group);
          this.#joined = true;
        } catch (e) {
          o.onError?.("EMULTICAST", e instanceof Error ? e.message : "join failed");
        }
      }
    }
  }

  /** The multicast group was joined. */
  get joined(): boolean {
    return this.#joined;
  }

  #datagram(o: SdpServerOptions, data: ArrayBuffer, address: string, port: number): void {
    const req = parseSdpRequest(new Uint8Array(data));
    if (typeof req === "string") {
      this.stats.invalid++;
      return;
    }
    this.stats.requests++;
    const res = o.answer(req);
    if (res === null || this.#udp === null) {
      this.stats.unanswered++;
      return;
    }
    this.#udp.write(encodeSdpResponse(res), address, port);
    this.stats.responses++;
  }

  close(): void {
    const u = this.#udp;
    this.#udp = null;
    if (u !== null) u.close();
  }
}
