/** Injected time and identity sources, so tests can pin them. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** CF renders timestamps as ISO-8601 UTC with second precision. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export type NewGuid = () => string;
export const randomGuid: NewGuid = () => crypto.randomUUID();
