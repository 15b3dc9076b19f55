/**
 * Device entry point (the manifest's creation.main): builds the Hal for the board and starts the firmware.
 * Firmware configuration comes from the manifest's "config": {"firmware": {...}} (or mcconfig key=value).
 * Where the host provider lacks charging IO (the lin host build) the loopback stand-ins are used.
 */
import config from "mc/config";
import { start } from "../../firmware/main.js";
import { ESP32_DEVKIT } from "./board.js";
import type { IoProvider } from "./charging.js";
import { createHal } from "./index.js";
import { createLoopbackIo } from "./loopback.js";

const board = ESP32_DEVKIT;
const host = (globalThis as { device?: { io?: Partial<IoProvider> } }).device?.io;
const onDevice = !!(host?.Digital && host.PWM && host.Analog);
const full: Record<number, number> = { [board.pilot.sampleHigh]: 1, [board.pilot.sampleLow]: 1 };
if (board.proximity) full[board.proximity.pin] = 1;
const io = onDevice ? (host as IoProvider) : createLoopbackIo(full);

const hal = createHal(io, board);
hal.log.event("boot", { io: onDevice ? "device" : "loopback", model: board.board.model });
export const firmware = start(hal, (config.firmware ?? {}) as Parameters<typeof start>[1]);
