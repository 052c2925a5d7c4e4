/**
 * Firefox lets the customer withdraw an add-on's access to a site, and with
 * `extensions.originControls.grantByDefault` false never grants it at install:
 * the content script then never runs. The extension must say so (popup and
 * badge) and offer to ask, instead of doing nothing silently. With access (the
 * pref's default), a purchase activates: see e2e-firefox.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { badgeText, buyInFirefox, openFirefoxPopup, useFirefoxCustomer } from './helpers/firefox-world.ts';
import { AXE_SOURCE, axeViolations } from './helpers/popup-checks.ts';

const BACKUP = 'ACMEBK01';
/** Well past the time a content script and the host need to act on a confirmation page. */
const SETTLE_MS = 3_000;

const customer = useFirefoxCustomer('e2e-firefox-access');

describe('access to the purchase pages in Firefox', { timeout: 120_000 }, () => {
  it('not granted: the popup and the badge say so and offer to ask; a purchase is not picked up', async () => {
    const firefox = await customer.launch({ grantSiteAccess: false });
    const popup = await openFirefoxPopup(firefox);
    await popup.waitForSelector('#site-access[data-state="missing"]');
    expect(await popup.$eval('#site-access', (el) => (el as HTMLElement).hidden)).toBe(false);
    expect(await popup.$eval('#site-access', (el) => el.textContent)).toMatch(
      /may not read the purchase confirmation pages/,
    );
    expect(await popup.$$eval('#site-access button[data-action="grant-site-access"]', (els) => els.length)).toBe(1);
    expect(await badgeText(popup)).toBe('!');

    // As accessible as the other popup states: announced, nothing serious for axe-core, the button reached by Tab.
    expect(await popup.$eval('#site-access-live', (el) => el.textContent)).toMatch(
      /^Access to the purchase pages\. This extension may not read/,
    );
    await popup.evaluate(AXE_SOURCE);
    const severe = (await popup.evaluate(axeViolations)).filter(
      (v) => v.impact === 'serious' || v.impact === 'critical',
    );
    expect(severe).toEqual([]);
    let focused: string | undefined;
    for (let tab = 0; tab < 30 && focused !== 'grant-site-access'; tab++) {
      await popup.keyboard.press('Tab');
      focused = await popup.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.focus);
    }
    expect(focused).toBe('grant-site-access');
    expect(await popup.evaluate(() => document.activeElement?.matches(':focus-visible'))).toBe(true);

    const before = customer.world.sim.requests.length;
    await buyInFirefox(customer.world, await firefox.newPage(), BACKUP);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    expect(customer.world.sim.requests.length).toBe(before);
    // Still said after the (silent) purchase.
    expect(await badgeText(popup)).toBe('!');
  });

  it('granted (Firefox’s default): no access notice and no badge', async () => {
    const firefox = await customer.launch({ grantSiteAccess: true });
    const popup = await openFirefoxPopup(firefox);
    await popup.waitForSelector('#site-access[data-state="granted"]', { timeout: 10_000 });
    expect(await popup.$eval('#site-access', (el) => (el as HTMLElement).hidden)).toBe(true);
    expect(await popup.$$eval('button[data-action="grant-site-access"]', (els) => els.length)).toBe(0);
    expect(await badgeText(popup)).toBe('');
  });
});
