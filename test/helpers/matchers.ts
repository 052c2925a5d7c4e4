/**
 * vitest's asymmetric matchers, typed as the value they stand for (vitest types them `any`), so an
 * expected object keeps the type of the actual one and the lint's no-unsafe-* rules keep their meaning.
 */
import { expect } from 'vitest';

export const anyString = (): string => expect.any(String) as string;
export const stringContaining = (text: string): string => expect.stringContaining(text) as string;
export const stringMatching = (pattern: string | RegExp): string => expect.stringMatching(pattern) as string;
