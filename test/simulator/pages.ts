/**
 * The web pages around a DevPay purchase, as a customer meets them:
 *
 * - Amazon's portal: the purchase URL (`?offeringCode=`), the order page, then
 *   the split confirmation page: Amazon's confirmation with the new activation
 *   key in the top frame, the vendor's redirect URL with `ActivationKey` and
 *   `ProductCode` appended in the bottom frame.
 * - Amazon's activate URL: a signed-in customer gets a fresh key for a product
 *   they own, and a "Go to Application" link to the redirect URL.
 * - The vendor's site: the redirect (welcome) page and product pages.
 * - A hostile site that shows a real, valid key, for tests that the extension
 *   takes keys only from allowed pages.
 *
 * Customers sign in with an e-mail address only: nothing here is a secret.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_CUSTOMER, type DevPayBackend, type SimulatedProduct } from './backend.ts';

export const PURCHASE_PATH = '/gp/aws/user/subscription/index.html';
const THANK_YOU_PATH = '/gp/aws/user/subscription/thank-you.html';
const CONFIRMATION_PATH = '/gp/aws/user/subscription/confirmation.html';
export const ACTIVATE_PATH = '/dp-activate';
const SIGN_IN_PATH = '/dp-activate/sign-in';
const NEW_KEY_PATH = '/dp-activate/key';
export const WELCOME_PATH = '/welcome';

const SESSION_COOKIE = 'sim-session';
const MAX_EMAIL_LENGTH = 100;
const EMAIL = /^[^\s@<>"'&]+@[^\s@<>"'&]+$/;

export interface SiteOrigins {
  portal: string;
  www: string;
  vendor: string;
  /** The vendor's redirect URL, registered with the product. */
  redirectUrl: string;
  /** Set as the session cookie's Domain so that portal and activate page share the sign-in. */
  cookieDomain: string;
}

export interface PagesContext {
  backend: DevPayBackend;
  origins: SiteOrigins;
  vendorName: string;
}

export type Site = 'portal' | 'www' | 'vendor' | 'hostile';

interface Order {
  key: string;
  productCode: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, brand: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:Arial,sans-serif;margin:0}header{background:#232f3e;color:#fff;padding:8px 16px}
main{padding:16px}.key{font:bold 1.3em monospace;letter-spacing:.05em}table.summary td{padding:4px 8px}
button{background:#f0c14b;border:1px solid #a88734;padding:6px 14px;cursor:pointer}</style></head>
<body><header>${escapeHtml(brand)}</header><main>
${body}
</main></body></html>`;
}

function send(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(html);
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store', ...headers });
  res.end();
}

function notFound(res: ServerResponse, brand: string): void {
  send(res, 404, layout('Not found', brand, '<h1>Page not found</h1>'));
}

export function withActivationParams(redirectUrl: string, key: string, productCode: string): string {
  const url = new URL(redirectUrl);
  url.searchParams.set('ActivationKey', key);
  url.searchParams.set('ProductCode', productCode);
  return url.href;
}

export class Pages {
  private readonly sessions = new Map<string, string>();
  private readonly orders = new Map<string, Order>();
  private readonly grants = new Map<string, Order & { customer: string }>();

  constructor(private readonly ctx: PagesContext) {}

  handle(site: Site, req: IncomingMessage, res: ServerResponse, url: URL, form: URLSearchParams | undefined): void {
    switch (site) {
      case 'portal':
        return this.portal(req, res, url, form);
      case 'www':
        return this.activatePages(req, res, url, form);
      case 'vendor':
        return this.vendor(res, url);
      case 'hostile':
        return this.hostile(res);
    }
  }

  // --- signed-in customers ---

  private customerOf(req: IncomingMessage): string | undefined {
    const cookies = req.headers.cookie ?? '';
    const match = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([A-Za-z0-9_-]{1,64})`).exec(cookies);
    return match ? this.sessions.get(match[1]!) : undefined;
  }

  private signIn(req: IncomingMessage, email: string): string {
    const id = randomBytes(18).toString('base64url');
    this.sessions.set(id, email);
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const domain = host.endsWith(`.${this.ctx.origins.cookieDomain}`)
      ? `; Domain=${this.ctx.origins.cookieDomain}`
      : '';
    return `${SESSION_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Lax${domain}`;
  }

  private static emailFrom(form: URLSearchParams | undefined): string | undefined {
    const email = form?.get('email')?.trim() ?? '';
    return email.length <= MAX_EMAIL_LENGTH && EMAIL.test(email) ? email : undefined;
  }

  private static emailField(value: string): string {
    return `<label>Signed in as <input name="email" type="email" value="${escapeHtml(value)}" maxlength="${MAX_EMAIL_LENGTH}" required></label>`;
  }

  // --- Amazon's portal: purchase and split confirmation ---

  private portal(req: IncomingMessage, res: ServerResponse, url: URL, form: URLSearchParams | undefined): void {
    const brand = 'Amazon Web Services';
    const { backend } = this.ctx;
    if (url.pathname === PURCHASE_PATH && req.method === 'GET') {
      const product = backend.productByOffering(url.searchParams.get('offeringCode') ?? '');
      if (!product)
        return send(
          res,
          404,
          layout('Offer not found', brand, '<h1>This offer does not exist</h1><p>Check the purchase link.</p>'),
        );
      return send(res, 200, this.orderPage(product, this.customerOf(req) ?? DEFAULT_CUSTOMER));
    }
    if (url.pathname === PURCHASE_PATH && req.method === 'POST') {
      const product = backend.productByOffering(form?.get('offeringCode') ?? '');
      const email = Pages.emailFrom(form);
      if (!product) return send(res, 400, layout('Offer not found', brand, '<h1>This offer does not exist</h1>'));
      if (!email)
        return send(
          res,
          400,
          this.orderPage(product, DEFAULT_CUSTOMER, 'Enter the e-mail address of your Amazon account.'),
        );
      const record = backend.purchase(product.code, email);
      const orderId = randomBytes(12).toString('base64url');
      this.orders.set(orderId, { key: record.key, productCode: product.code });
      return redirect(res, `${THANK_YOU_PATH}?order=${orderId}`, { 'Set-Cookie': this.signIn(req, email) });
    }
    const order = this.orders.get(url.searchParams.get('order') ?? '');
    const product = order && backend.product(order.productCode);
    if (!order || !product || req.method !== 'GET') return notFound(res, brand);
    if (url.pathname === THANK_YOU_PATH) {
      // The split page: Amazon's confirmation on top, the vendor's redirect URL below.
      const top = `${CONFIRMATION_PATH}?order=${encodeURIComponent(url.searchParams.get('order')!)}`;
      const bottom = withActivationParams(this.ctx.origins.redirectUrl, order.key, product.code);
      return send(
        res,
        200,
        `<!doctype html>
<html><head><meta charset="utf-8"><title>Amazon Web Services: thank you</title></head>
<frameset rows="55%,45%">
<frame name="aws" src="${escapeHtml(top)}">
<frame name="vendor" src="${escapeHtml(bottom)}">
</frameset></html>`,
      );
    }
    if (url.pathname === CONFIRMATION_PATH) return send(res, 200, this.confirmationPage(product, order.key));
    return notFound(res, brand);
  }

  private orderPage(product: SimulatedProduct, email: string, problem?: string): string {
    return layout(
      `Subscribe to ${product.name}`,
      'Amazon Web Services',
      `<h1>Review your order</h1>
${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<table class="summary"><tr><td>Product</td><td>${escapeHtml(product.name)}</td></tr>
<tr><td>Sold by</td><td>${escapeHtml(this.ctx.vendorName)}</td></tr>
<tr><td>Price</td><td>$4.99 a month, billed through your Amazon account</td></tr></table>
<form method="post" action="${PURCHASE_PATH}">
<input type="hidden" name="offeringCode" value="${escapeHtml(product.offeringCode)}">
<p>${Pages.emailField(email)}</p>
<p><button type="submit" id="place-order">Place your order</button></p>
</form>`,
    );
  }

  private confirmationPage(product: SimulatedProduct, key: string): string {
    return layout(
      'Thank you for your order',
      'Amazon Web Services',
      `<h1>Thank you. Your order has been placed.</h1>
<p>You are now subscribed to <b>${escapeHtml(product.name)}</b>.</p>
<h2>Activate ${escapeHtml(product.name)}</h2>
<p>Your application may ask you for the following activation key. The key expires in one hour.</p>
<table class="summary"><tr><td>Activation Key:</td><td class="key" id="activation-key">${escapeHtml(key)}</td></tr></table>
<p>If you close this window, you can get a new key at <a href="${escapeHtml(this.activateUrl())}" target="_top">${escapeHtml(this.activateUrl())}</a>.</p>`,
    );
  }

  private activateUrl(): string {
    return `${this.ctx.origins.www}${ACTIVATE_PATH}`;
  }

  // --- Amazon's activate URL ---

  private activatePages(req: IncomingMessage, res: ServerResponse, url: URL, form: URLSearchParams | undefined): void {
    const brand = 'Amazon.com: Application Activation';
    const { backend } = this.ctx;
    const customer = this.customerOf(req);
    if (url.pathname === SIGN_IN_PATH && req.method === 'POST') {
      const email = Pages.emailFrom(form);
      if (!email) return send(res, 400, this.signInPage('Enter the e-mail address of your Amazon account.'));
      return redirect(res, ACTIVATE_PATH, { 'Set-Cookie': this.signIn(req, email) });
    }
    if (url.pathname === ACTIVATE_PATH && req.method === 'GET') {
      if (!customer) return send(res, 200, this.signInPage());
      const owned = backend.ownedBy(customer);
      const rows = owned
        .map(
          (p) => `<li>${escapeHtml(p.name)}
<form method="post" action="${ACTIVATE_PATH}" style="display:inline"><input type="hidden" name="productCode" value="${escapeHtml(p.code)}">
<button type="submit" data-product="${escapeHtml(p.code)}">Get a new activation key</button></form></li>`,
        )
        .join('\n');
      return send(
        res,
        200,
        layout(
          'Application Activation',
          brand,
          `<h1>Application Activation</h1><p>Signed in as ${escapeHtml(customer)}.</p>
${owned.length ? `<p>Your DevPay applications:</p><ul>${rows}</ul>` : '<p>You have not bought any DevPay applications with this account.</p>'}`,
        ),
      );
    }
    if (url.pathname === ACTIVATE_PATH && req.method === 'POST') {
      if (!customer) return redirect(res, ACTIVATE_PATH);
      const product = backend.ownedBy(customer).find((p) => p.code === form?.get('productCode'));
      if (!product) return send(res, 403, layout('Not yours', brand, '<h1>You do not own this application</h1>'));
      const record = backend.newKey(product.code, customer);
      const grant = randomBytes(12).toString('base64url');
      this.grants.set(grant, { key: record.key, productCode: product.code, customer });
      return redirect(res, `${NEW_KEY_PATH}?grant=${grant}`);
    }
    if (url.pathname === NEW_KEY_PATH && req.method === 'GET') {
      const grant = this.grants.get(url.searchParams.get('grant') ?? '');
      const product = grant && backend.product(grant.productCode);
      if (!grant || !product || grant.customer !== customer) return notFound(res, brand);
      const goTo = withActivationParams(this.ctx.origins.redirectUrl, grant.key, product.code);
      return send(
        res,
        200,
        layout(
          'Your activation key',
          brand,
          `<h1>Application Activation</h1>
<p>Your new activation key for <b>${escapeHtml(product.name)}</b>. It expires in one hour.</p>
<table class="summary"><tr><td>Activation Key:</td><td class="key" id="activation-key">${escapeHtml(grant.key)}</td></tr></table>
<p><a id="go-to-application" href="${escapeHtml(goTo)}">Go to Application</a></p>`,
        ),
      );
    }
    return notFound(res, brand);
  }

  private signInPage(problem?: string): string {
    return layout(
      'Sign in',
      'Amazon.com: Application Activation',
      `<h1>Sign in</h1>
${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<p>Sign in with the Amazon account you bought your application with.</p>
<form method="post" action="${SIGN_IN_PATH}"><p>${Pages.emailField(DEFAULT_CUSTOMER)}</p>
<p><button type="submit" id="sign-in">Sign in</button></p></form>`,
    );
  }

  // --- the vendor's site ---

  private vendor(res: ServerResponse, url: URL): void {
    const brand = this.ctx.vendorName;
    const { backend } = this.ctx;
    const redirectPath = new URL(this.ctx.origins.redirectUrl).pathname;
    if (url.pathname === redirectPath) {
      const product = backend.product(url.searchParams.get('ProductCode') ?? '');
      return send(
        res,
        200,
        layout(
          'Welcome',
          brand,
          product
            ? `<h1>Thank you for buying ${escapeHtml(product.name)}</h1><p><a href="/products/${escapeHtml(product.code)}">Download ${escapeHtml(product.name)}</a> and install it; it activates itself with the companion.</p>`
            : '<h1>Welcome</h1>',
        ),
      );
    }
    const productPage = /^\/products\/([A-Za-z0-9]{1,32})$/.exec(url.pathname);
    const product = productPage ? backend.product(productPage[1]!) : undefined;
    if (product) {
      return send(
        res,
        200,
        layout(
          product.name,
          brand,
          `<h1>${escapeHtml(product.name)}</h1><p><a href="${escapeHtml(this.purchaseUrl(product))}">Buy ${escapeHtml(product.name)}</a></p>`,
        ),
      );
    }
    if (url.pathname === '/') {
      const list = backend.products
        .map((p) => `<li><a href="${escapeHtml(this.purchaseUrl(p))}">Buy ${escapeHtml(p.name)}</a></li>`)
        .join('');
      return send(res, 200, layout(brand, brand, `<h1>${escapeHtml(brand)}</h1><ul>${list}</ul>`));
    }
    return notFound(res, brand);
  }

  purchaseUrl(product: SimulatedProduct): string {
    return `${this.ctx.origins.portal}${PURCHASE_PATH}?offeringCode=${product.offeringCode}`;
  }

  // --- a hostile site showing a real key where no key belongs ---

  private hostile(res: ServerResponse): void {
    const product = this.ctx.backend.products[0]!;
    const record = this.ctx.backend.purchase(product.code, DEFAULT_CUSTOMER);
    send(res, 200, this.confirmationPage(product, record.key));
  }
}
