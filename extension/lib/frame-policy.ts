/**
 * Whether the content script may look at this frame at all, judged the way the
 * manifest's match patterns judge it (shared/match-pattern.ts), so that a frame
 * reached some other way (about:srcdoc, a sandboxed frame, a frame navigated
 * elsewhere) is left alone.
 */
import { compileMatchPatterns } from '../../shared/match-pattern.ts';

export interface FramePages {
  keyPages: readonly string[];
  redirectPages: readonly string[];
}

export interface FrameRole {
  /** Shows the key in its content (the confirmation frame, the activate page). */
  keyPage: boolean;
  /** The vendor's redirect URL carrying ActivationKey and ProductCode. */
  redirectPage: boolean;
}

export function createFramePolicy(pages: FramePages): (frame: { url: string; origin: string }) => FrameRole | null {
  const isKeyPage = compileMatchPatterns(pages.keyPages);
  const isRedirectPage = compileMatchPatterns(pages.redirectPages);
  return ({ url, origin }) => {
    // Sandboxed frames have an opaque origin: nothing in them can be trusted to be the page it claims.
    if (origin === 'null' || !origin) return null;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return null;
    }
    if (parsed.origin !== origin) return null;
    const role = { keyPage: isKeyPage(url), redirectPage: isRedirectPage(url) };
    return role.keyPage || role.redirectPage ? role : null;
  };
}
