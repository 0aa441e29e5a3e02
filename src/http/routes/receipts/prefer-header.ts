/**
 * RFC 7240's Prefer header, the two preferences Basket honours: `respond-async` (answer 202 with a
 * receipt once the request is validated and queued) and `wait=N` (seconds a long-poll may wait).
 * Several may share a header or come in several headers; names are case-insensitive.
 */
export interface Preferences {
  respondAsync: boolean;
  /** Seconds; undefined when not asked. */
  waitSeconds?: number;
}

export function parsePrefer(header: string | string[] | undefined): Preferences {
  const out: Preferences = { respondAsync: false };
  if (header === undefined) return out;
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const token of line.split(',')) {
      const [rawName, rawValue] = (token.split(';')[0] ?? '').split('=');
      const name = rawName.trim().toLowerCase();
      if (name === 'respond-async') out.respondAsync = true;
      if (name === 'wait' && rawValue !== undefined) {
        const seconds = Number(rawValue.trim().replace(/^"|"$/g, ''));
        if (Number.isFinite(seconds) && seconds >= 0) out.waitSeconds = seconds;
      }
    }
  }
  return out;
}
