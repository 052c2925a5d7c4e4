/**
 * What the popup tests look at in a page: axe-core's findings, the Tab order with
 * the focus style of each stop, and what the live region announced.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

export const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** axe-core on the page as it is (evaluated through the debugger, so the extension's CSP does not stop it). */
export async function runAxe(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(axeViolations);
}

/** Runs in the page, once AXE_SOURCE is there (Playwright's or puppeteer's evaluate). */
export async function axeViolations(): Promise<AxeFinding[]> {
  const axe = (
    window as unknown as {
      axe: {
        run(
          context: Document,
          options: object,
        ): Promise<{
          violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
        }>;
      };
    }
  ).axe;
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
}

export interface TabStop {
  /** `data-focus` of the element, or its tag and text. */
  id: string;
  /** It matches :focus-visible and draws an outline at least 2px wide. */
  focusVisible: boolean;
}

const describeActive = () => {
  const el = document.activeElement as HTMLElement | null;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {
    id: el.dataset.focus ?? `${el.tagName.toLowerCase()}:${el.textContent?.trim()}`,
    focusVisible: el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
  };
};

/** Presses Tab from the top of the page until focus comes round again (or leaves the page). */
export async function tabStops(page: Page, max = 40): Promise<TabStop[]> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const stops: TabStop[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(describeActive);
    if (!stop || stops.some((s) => s.id === stop.id)) break;
    stops.push(stop);
  }
  return stops;
}

/** Every element a keyboard user should reach, in document order (which is also the visual order). */
export function focusableInOrder(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(
      document.querySelectorAll<HTMLElement>(
        'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), [tabindex="0"]',
      ),
    ).map((el) => el.dataset.focus ?? `${el.tagName.toLowerCase()}:${el.textContent?.trim()}`),
  );
}

/** Tabs to the element with this `data-focus` and presses the key there. */
export async function pressOn(page: Page, focusId: string, key: 'Enter' | ' '): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.focus);
    if (at === focusId) {
      await page.keyboard.press(key);
      return;
    }
  }
  throw new Error(`Tab never reached ${focusId}`);
}
