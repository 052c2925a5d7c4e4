/**
 * Ends a switch that TypeScript has proven covers every case: a case added to the union later
 * and forgotten by the switch fails to compile here instead of falling through.
 */
export function unreachable(value: never): never {
  throw new Error(`Unhandled case: ${String(value)}`);
}
