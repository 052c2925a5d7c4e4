/**
 * Polls a condition until it holds, within a bound; says what it was waiting
 * for when it gives up. For the customer machine, the scripts and the tests.
 */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  {
    timeoutMs = 15_000,
    intervalMs = 100,
    what = 'the condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}` +
          (lastError
            ? ` (last error: ${lastError instanceof Error ? String(lastError) : JSON.stringify(lastError)})`
            : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
