/**
 * ActivateDesktopProduct on the wire, as ../shared/reference/license-service.md
 * describes it: a GET with exactly four query parameters, nothing signed.
 */

export const LICENSE_SERVICE_VERSION = '2008-04-28';
export const LICENSE_SERVICE_NAMESPACE = 'http://ls.amazonaws.com/doc/2008-04-28/';
export const ACTIVATE_ACTION = 'ActivateDesktopProduct';

/**
 * RFC 3986 percent-encoding, as AWS Query APIs expect: everything but
 * `A-Z a-z 0-9 - _ . ~`. The product token's `{`, `}`, `+`, `/` and `=` must
 * arrive intact; a bare `+` would be read as a space.
 */
export function awsPercentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The query string of an activation request, parameters in a fixed order. */
export function activationQuery(activationKey: string, productToken: string): string {
  const params: [string, string][] = [
    ['Action', ACTIVATE_ACTION],
    ['ActivationKey', activationKey],
    ['ProductToken', productToken],
    ['Version', LICENSE_SERVICE_VERSION],
  ];
  return params.map(([name, value]) => `${name}=${awsPercentEncode(value)}`).join('&');
}

/**
 * A request that proves a License Service is there without sending a key or a
 * token: the service answers it with its MissingProductToken / MissingParameter
 * ErrorResponse.
 */
export function probeQuery(): string {
  return `Action=${ACTIVATE_ACTION}&Version=${LICENSE_SERVICE_VERSION}`;
}
