/** The OCPP 1.6 feature profile modules the charge point installs, in order. */
import type { Ocpp16Feature } from "../context.js";
import { remote } from "./remote.js";
import { transactions } from "./transactions.js";

export const FEATURES: readonly Ocpp16Feature[] = [transactions, remote];
