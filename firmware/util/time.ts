/** Wall-clock formatting for protocols. Date is used only to format and parse, never to read the time. */

/** RFC 3339 UTC timestamp with milliseconds, as OCPP expects. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** Parses an RFC 3339 timestamp; NaN when it is not one. */
export function parseIsoTime(text: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(text)) return NaN;
  return Date.parse(text);
}
