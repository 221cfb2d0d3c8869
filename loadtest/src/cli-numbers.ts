// Option parsers the load generator's and the soak's command lines share (commander calls them per value).
import { InvalidArgumentError } from "commander";

export function positive(raw: string): number {
  const value = Number(raw);
  if (!(value > 0)) throw new InvalidArgumentError(`expected a number > 0, got "${raw}"`);
  return value;
}

export function positiveInteger(raw: string): number {
  const value = Number(raw);
  if (!(Number.isInteger(value) && value > 0)) throw new InvalidArgumentError(`expected an integer > 0, got "${raw}"`);
  return value;
}
