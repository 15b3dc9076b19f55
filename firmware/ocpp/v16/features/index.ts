/** The OCPP 1.6 feature profile modules the charge point installs, in order. */
import type { Ocpp16Feature } from "../context.js";
import { configuration } from "./configuration.js";
import { core } from "./core.js";
import { trigger } from "./trigger.js";
import { diagnostics } from "./diagnostics.js";
import { firmware } from "./firmware.js";
import { localAuth } from "./local-auth.js";
import { remote } from "./remote.js";
import { reservation } from "./reservation.js";
import { security } from "./security.js";
import { smartCharging } from "./smart-charging.js";
import { transactions } from "./transactions.js";

export const FEATURES: readonly Ocpp16Feature[] = [transactions, remote, core, configuration, trigger, security, firmware, diagnostics, smartCharging, localAuth, reservation];
