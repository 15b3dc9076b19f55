/**
 * The arbiter's "user" claim is shared by the charger's local UI (FirmwareHandle.setUserLimit) and the MQTT
 * commands (limit, pause): the lower of the two is filed, with the reason naming which one it is, so neither
 * overwrites the other. ("site" belongs to firmware/loadbalancing: the charger's share of the site limit.)
 */
import type { LimitArbiter } from "../control/arbiter.js";

export class UserClaim {
  private local: number | null = null;
  private mqtt: number | null = null;
  private mqttReason = "";

  constructor(private readonly arbiter: LimitArbiter) {}

  setLocal(amps: number | null): void {
    this.local = amps;
    this.apply();
  }

  setMqtt(amps: number | null, reason: string): void {
    this.mqtt = amps;
    this.mqttReason = reason;
    this.apply();
  }

  private apply(): void {
    const l = this.local;
    const m = this.mqtt;
    if (l === null && m === null) this.arbiter.clear("user");
    else if (m === null || (l !== null && l <= m)) this.arbiter.set("user", l!, "user limit");
    else this.arbiter.set("user", m, this.mqttReason);
  }
}
