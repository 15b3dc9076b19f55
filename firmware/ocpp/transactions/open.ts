/**
 * Opens the transaction journal on the "journal" flash partition (composition-root helper). A board without
 * that partition (or with one of an unusable geometry) runs with the RAM store, and says so in the log.
 * Anything else thrown while opening (a power failure during recovery writes) propagates: the board is going
 * down anyway.
 */
import type { Hal } from "../../../hal/index.js";
import { Journal } from "../../storage/journal.js";
import { JournalTxStore } from "./journal-store.js";

export function openTxJournal(hal: Hal): JournalTxStore | null {
  let flash;
  try {
    flash = hal.storage.flash.open({ path: "journal" });
  } catch (e) {
    hal.log.event("device-error", { device: "journal", code: "open", message: (e as Error).message });
    return null;
  }
  let journal: Journal;
  try {
    journal = Journal.open(flash, { onRecover: (what, block, offset) => hal.log.event("journal-recover", { what, block, offset }) });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    hal.log.event("device-error", { device: "journal", code: "geometry", message: e.message });
    return null;
  }
  const store = new JournalTxStore(journal, {
    onDrop: (what, session) => hal.log.event("tx-journal-drop", { what, session }),
  });
  const st = journal.stats;
  hal.log.event("tx-journal", { records: st.records, bytes: st.bytesUsed, capacity: st.capacity, recovered: st.recovered, invalid: store.invalid });
  return store;
}
