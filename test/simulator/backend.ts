/**
 * What the simulator knows, as Amazon's DevPay back end would: the vendor's
 * products, customers and what they own, the activation keys handed out (each
 * bound to one customer and one product, valid one hour), and every credential
 * set issued. Time comes from a clock tests can move.
 */
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { ACTIVATION_KEY_LIFETIME_MS } from '../../shared/activation-key.ts';
import type { Product } from '../../shared/config.ts';

export class SimulatedClock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  /** Moves simulated time forward, e.g. past a key's hour. */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  set(epochMs: number): void {
    this.offsetMs = epochMs - Date.now();
  }
}

export interface SimulatedProduct {
  code: string;
  name: string;
  productToken: string;
  /** The 8-character code in the purchase URL (`?offeringCode=`). */
  offeringCode: string;
}

export interface ActivationKeyRecord {
  key: string;
  productCode: string;
  customer: string;
  createdAt: number;
}

export interface IssuedCredentials {
  requestId: string;
  productCode: string;
  customer: string;
  issuedAt: number;
  userToken: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export const DEFAULT_CUSTOMER = 'customer@devpay.test';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** Stable per product code, so purchase URLs survive a restart of the simulator. */
export function offeringCodeFor(productCode: string): string {
  const digest = createHash('sha256').update(`offering:${productCode}`).digest();
  return Array.from(digest.subarray(0, 8), (byte) => UPPER_ALNUM[byte % UPPER_ALNUM.length]).join('');
}

export class DevPayBackend {
  readonly clock = new SimulatedClock();
  readonly products: SimulatedProduct[];
  readonly issued: IssuedCredentials[] = [];
  private readonly keys = new Map<string, ActivationKeyRecord>();
  private readonly owners = new Map<string, Set<string>>();
  /** Keys handed out are already this old: a customer who left the confirmation open (tests). */
  newKeyAgeMs = 0;

  constructor(products: readonly Product[]) {
    this.products = products.map((p) => ({
      code: p.code,
      name: p.name,
      productToken: p.productToken,
      offeringCode: offeringCodeFor(p.code),
    }));
  }

  product(code: string): SimulatedProduct | undefined {
    return this.products.find((p) => p.code === code);
  }

  productByOffering(offeringCode: string): SimulatedProduct | undefined {
    return this.products.find((p) => p.offeringCode === offeringCode);
  }

  productByToken(productToken: string): SimulatedProduct | undefined {
    return this.products.find((p) => p.productToken === productToken);
  }

  /** A purchase: the customer now owns the product and gets a key for it. */
  purchase(productCode: string, customer: string): ActivationKeyRecord {
    let owned = this.owners.get(customer);
    if (!owned) this.owners.set(customer, (owned = new Set()));
    owned.add(productCode);
    return this.newKey(productCode, customer);
  }

  ownedBy(customer: string): SimulatedProduct[] {
    const owned = this.owners.get(customer) ?? new Set();
    return this.products.filter((p) => owned.has(p.code));
  }

  /** A fresh key, as the purchase confirmation and the activate page hand out: 28 characters, like every known key. */
  newKey(productCode: string, customer: string): ActivationKeyRecord {
    if (!this.product(productCode)) throw new Error(`The simulator has no product ${productCode}.`);
    const record = {
      key: randomString(BASE32, 28),
      productCode,
      customer,
      createdAt: this.clock.now() - this.newKeyAgeMs,
    };
    this.keys.set(record.key, record);
    return record;
  }

  /** Every key handed out so far (tests scan for them where they must not be). */
  mintedKeys(): string[] {
    return [...this.keys.keys()];
  }

  keyRecord(key: string): ActivationKeyRecord | undefined {
    return this.keys.get(key);
  }

  isExpired(record: ActivationKeyRecord): boolean {
    return this.clock.now() - record.createdAt >= ACTIVATION_KEY_LIFETIME_MS;
  }

  /** Every activation gets a whole new set; earlier sets stay valid. */
  issueCredentials(record: ActivationKeyRecord): IssuedCredentials {
    const set: IssuedCredentials = {
      requestId: randomUUID(),
      productCode: record.productCode,
      customer: record.customer,
      issuedAt: this.clock.now(),
      userToken: `{UserToken}${randomBytes(192).toString('base64')}`,
      accessKeyId: randomString(UPPER_ALNUM, 20),
      secretAccessKey: randomBytes(30).toString('base64'),
    };
    this.issued.push(set);
    return set;
  }
}
