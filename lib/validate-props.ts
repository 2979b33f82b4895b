import { ConfigError } from '../lambda/shared/errors.js';

/** A check on one prop: the message when `ok` is false. */
export type PropCheck = readonly [ok: boolean, message: string];

/** Collects every prop problem of a construct and throws them together at synth. */
export function assertProps(construct: string, checks: readonly PropCheck[]): void {
  const problems = checks.filter(([ok]) => !ok).map(([, message]) => message);
  if (problems.length > 0) throw new ConfigError(`${construct} props are invalid:\n  ${problems.join('\n  ')}`);
}

export const isIntIn = (value: number, min: number, max: number): boolean => Number.isInteger(value) && value >= min && value <= max;
