// How AWS SDK failures map onto tagspend's store errors. The one distinction callers act on:
// STORE_UNAVAILABLE (network, throttling, 5xx: retry with backoff) versus everything else.
import { StoreError, StoreIntegrityError, StorePreconditionFailedError, StoreUnavailableError } from '../errors.ts';

const NETWORK = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'TimeoutError', 'RequestTimeout',
  'RequestTimeoutException', 'SlowDown', 'Throttling', 'ThrottlingException', 'ServiceUnavailable',
  'InternalError',
]);
const INTEGRITY = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentSHA256Mismatch', 'IncompleteBody']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === 'object' && err !== null ? (err as SdkErrorShape) : {};
}

export function httpStatusOf(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

/** The object (not the bucket) does not exist. */
export function isMissingObject(err: unknown): boolean {
  const { name } = shape(err);
  if (name === 'NoSuchBucket') return false;
  return httpStatusOf(err) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

export function isNotModified(err: unknown): boolean {
  return httpStatusOf(err) === 304 || shape(err).name === 'NotModified';
}

export function s3Failure(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const { name = '', code = '' } = shape(err);
  const status = httpStatusOf(err);
  const detail = err instanceof Error ? err.message || name : String(err);
  const message = `${what}: ${status === undefined ? '' : `HTTP ${status} `}${name && name !== 'Error' ? `${name} ` : ''}${detail}`;
  if (INTEGRITY.has(name)) return new StoreIntegrityError(message, { cause: err });
  if (status === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') {
    return new StorePreconditionFailedError(message, { cause: err });
  }
  const retryable =
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    NETWORK.has(name) ||
    NETWORK.has(code) ||
    NETWORK.has(causeCode(err));
  return retryable ? new StoreUnavailableError(message, { cause: err }) : new StoreError(message, { cause: err });
}

/** Network failures sometimes arrive wrapped, with the socket error as the cause. */
function causeCode(err: unknown): string {
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? shape(err.cause) : {};
  return cause.code ?? cause.name ?? '';
}
