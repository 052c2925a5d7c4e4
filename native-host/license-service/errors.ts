/**
 * LicenseServiceError: the kind of HostError an activation's call to the License
 * Service ends in. Beyond the code and the customer's message it carries the
 * service's own code, message and request id, and above all the customer's next
 * step. Its text never holds the activation key, the product token or a credential.
 */
import type { ErrorCode } from '../../shared/messages.ts';
import { HostError, type ProductRef } from '../errors.ts';

export interface LicenseServiceErrorDetails {
  /** The License Service's `Error/Code` (e.g. `ExpiredActivationKey`), when it sent one. */
  serviceCode?: string | undefined;
  /** The License Service's `Error/Message`, with the key and token cut out and its length bounded. */
  serviceMessage?: string | undefined;
  requestId?: string | undefined;
  httpStatus?: number | undefined;
  /** Set for key errors: where the customer gets a new key. */
  activateUrl?: string | undefined;
  /** Requests sent to the License Service (0: refused before sending). */
  attempts?: number;
  /** The product being activated. */
  product?: ProductRef | undefined;
}

export class LicenseServiceError extends HostError {
  override name = 'LicenseServiceError';
  readonly serviceCode: string | undefined;
  readonly serviceMessage: string | undefined;
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;
  readonly activateUrl: string | undefined;
  readonly attempts: number;

  constructor(
    code: ErrorCode,
    /** Fit for the customer: what happened. */
    readonly problem: string,
    /** Fit for the customer: what to do now. */
    readonly nextStep: string,
    details: LicenseServiceErrorDetails = {},
  ) {
    super(code, `${problem} ${nextStep}`, {
      ...(details.product !== undefined ? { product: details.product } : {}),
      ...(details.activateUrl !== undefined ? { activateUrl: details.activateUrl } : {}),
    });
    this.serviceCode = details.serviceCode;
    this.serviceMessage = details.serviceMessage;
    this.requestId = details.requestId;
    this.httpStatus = details.httpStatus;
    this.activateUrl = details.activateUrl;
    this.attempts = details.attempts ?? 0;
  }
}

/** Service codes that mean "try again later", whatever the HTTP status. */
export const TRANSIENT_SERVICE_CODES: ReadonlySet<string> = new Set([
  'RequestThrottled',
  'Throttling',
  'ServiceUnavailable',
  'InternalError',
]);

/** Codes that say the request itself was malformed: our bug, never the customer's. */
const CLIENT_BUG_CODES: ReadonlySet<string> = new Set([
  'MissingParameter',
  'MissingProductToken',
  'InvalidParameterValue',
  'InvalidAction',
  'NoSuchVersion',
  'InvalidQueryParameter',
  'MalformedQueryString',
]);

export interface RefusalContext {
  activateUrl: string;
  /** Names the product in the messages. */
  productName?: string | undefined;
  /** Carried by the error. */
  product?: ProductRef | undefined;
  attempts: number;
  httpStatus: number;
  requestId?: string;
  serviceMessage?: string;
}

/** A final `ErrorResponse` (a 4xx, or any status with a code that is not transient) as the customer should hear it. */
export function refusalError(serviceCode: string, ctx: RefusalContext): LicenseServiceError {
  const details: LicenseServiceErrorDetails = {
    serviceCode,
    serviceMessage: ctx.serviceMessage,
    requestId: ctx.requestId,
    httpStatus: ctx.httpStatus,
    attempts: ctx.attempts,
    product: ctx.product,
  };
  const keyDetails = { ...details, activateUrl: ctx.activateUrl };
  const product = ctx.productName ? ` ${ctx.productName}` : ' this product';
  switch (serviceCode) {
    case 'ExpiredActivationKey':
      return new LicenseServiceError(
        'EXPIRED_KEY',
        'This activation key has expired: keys work for one hour after they are made.',
        `Get a new key at ${ctx.activateUrl} and activate again.`,
        keyDetails,
      );
    case 'IncorrectActivationKey':
      return new LicenseServiceError(
        'INCORRECT_KEY',
        `This activation key belongs to a different DevPay product, not to${product}.`,
        `Use the key shown when you bought${product}, or get one for it at ${ctx.activateUrl}.`,
        keyDetails,
      );
    case 'InvalidActivationKey':
      return new LicenseServiceError(
        'INVALID_KEY',
        'The License Service does not recognise this activation key.',
        `Check that the whole key was copied, or get a new one at ${ctx.activateUrl}.`,
        keyDetails,
      );
    case 'InvalidProductToken':
      return new LicenseServiceError(
        'VENDOR_CONFIGURATION',
        `The License Service refused the product token of${product}: the vendor's configuration is wrong, not your key.`,
        'Please tell the vendor; your key can be used once they have fixed it.',
        details,
      );
  }
  if (CLIENT_BUG_CODES.has(serviceCode)) {
    return new LicenseServiceError(
      'CLIENT_BUG',
      `The License Service called the request malformed (${serviceCode}). This is a bug in the activation companion.`,
      `Please report it${ctx.requestId ? ` with request id ${ctx.requestId}` : ''}.`,
      details,
    );
  }
  return new LicenseServiceError(
    'SERVICE_BAD_ANSWER',
    `The License Service refused the activation with an error this companion does not know (${serviceCode}).`,
    `Try again later, or get a new key at ${ctx.activateUrl}.`,
    keyDetails,
  );
}
