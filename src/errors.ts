// Every failure tagspend reports on purpose is one of these classes: a stable `code` that
// scripts can match, the HTTP status the proxy answers with, and the OpenAI error `type`.
// `toOpenAIError` is the one place that turns them into the wire shape.

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class TagspendError extends Error {
  readonly code: string = 'TAGSPEND_ERROR';
  readonly status: number = 500;
  readonly type: string = 'internal_error';
  readonly param: string | null;

  constructor(message: string, options: { cause?: unknown; param?: string | null } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.param = options.param ?? null;
  }
}

export class InvalidRequestError extends TagspendError {
  override readonly code: string = 'INVALID_REQUEST';
  override readonly status: number = 400;
  override readonly type = 'invalid_request_error';
}

export class InvalidJsonError extends InvalidRequestError {
  override readonly code = 'INVALID_JSON';
}

export class InvalidAttributionError extends InvalidRequestError {
  override readonly code = 'INVALID_ATTRIBUTION';
}

export class PayloadTooLargeError extends InvalidRequestError {
  override readonly code = 'PAYLOAD_TOO_LARGE';
  override readonly status = 413;
}

/** The request body did not arrive in time (config `request_body_timeout_ms`); the connection is closed. */
export class RequestTimeoutError extends InvalidRequestError {
  override readonly code = 'REQUEST_TIMEOUT';
  override readonly status = 408;
}

/** The request's framing is broken (e.g. a bad chunk size): the connection cannot be reused and is closed. */
export class MalformedRequestError extends InvalidRequestError {
  override readonly code = 'MALFORMED_REQUEST';
}

/** The request conflicts with the current state (e.g. /tag/new of a tag that exists). */
export class ConflictError extends InvalidRequestError {
  override readonly code = 'CONFLICT';
  override readonly status = 409;
}

export class ModelNotFoundError extends InvalidRequestError {
  override readonly code = 'MODEL_NOT_FOUND';
  override readonly status = 404;
}

export class ModelNotAllowedError extends InvalidRequestError {
  override readonly code = 'MODEL_NOT_ALLOWED';
  override readonly status = 403;
}

export class NotFoundError extends InvalidRequestError {
  override readonly code: string = 'NOT_FOUND';
  override readonly status: number = 404;
}

export class MethodNotAllowedError extends InvalidRequestError {
  override readonly code = 'METHOD_NOT_ALLOWED';
  override readonly status = 405;
}

export class AuthenticationError extends TagspendError {
  override readonly code = 'AUTHENTICATION_FAILED';
  override readonly status = 401;
  override readonly type = 'authentication_error';
}

export class PermissionError extends TagspendError {
  override readonly code = 'PERMISSION_DENIED';
  override readonly status = 403;
  override readonly type = 'permission_error';
}

export class BudgetExceededError extends TagspendError {
  override readonly code = 'BUDGET_EXCEEDED';
  override readonly status = 429;
  override readonly type = 'budget_exceeded';
  readonly retryAfterSeconds: number;
  /** How the message names the budget: `Tag`, `Customer` or `Key`. */
  readonly subjectLabel: string;
  readonly subject: string;
  /**
   * Only requests in flight (reservations) fill the budget: a retry in a moment may pass, so the
   * answer says so (`x-should-retry: true`, a short Retry-After) instead of pointing at the reset.
   */
  readonly transient: boolean;

  constructor(subjectLabel: string, subject: string, spend: number, maxBudget: number, retryAfterSeconds: number, transient = false) {
    super(`Budget has been exceeded! ${subjectLabel}=${subject} Current cost: ${spend}, Max budget: ${maxBudget}`);
    this.subjectLabel = subjectLabel;
    this.subject = subject;
    this.retryAfterSeconds = retryAfterSeconds;
    this.transient = transient;
  }

  /** The tag's name when a tag budget was exceeded (null for a customer or key budget). */
  get tag(): string | null {
    return this.subjectLabel === 'Tag' ? this.subject : null;
  }
}

/** A request under a budget asks for a model without a price: its spend could not be counted. */
export class UnpricedModelError extends InvalidRequestError {
  override readonly code = 'MODEL_PRICE_UNKNOWN';
}

/** The key may not put this tag on a request (allowed_tags), or manage it (manage_tags). */
export class TagNotAllowedError extends TagspendError {
  override readonly code = 'TAG_NOT_ALLOWED';
  override readonly status = 403;
  override readonly type = 'permission_error';
}

/** A customer marked `blocked` through /customer/*. */
export class CustomerBlockedError extends TagspendError {
  override readonly code = 'CUSTOMER_BLOCKED';
  override readonly status = 403;
  override readonly type = 'permission_error';
}

/** budgets.fail_closed: the store (other proxies' spend) cannot be reached, so budgets cannot be held. */
export class BudgetStoreUnavailableError extends TagspendError {
  override readonly code = 'BUDGET_STORE_UNAVAILABLE';
  override readonly status = 503;
  override readonly type = 'api_error';
}

/** The provider answered with an error status: its status is kept, its body normalised. */
export class UpstreamError extends TagspendError {
  override readonly code = 'UPSTREAM_ERROR';
  override readonly status: number;
  override readonly type: string;
  readonly upstreamCode: string | null;
  /** The provider's Retry-After header, passed on to the client. */
  retryAfter: string | null = null;

  constructor(status: number, message: string, type: string, upstreamCode: string | null, param: string | null) {
    super(message, { param });
    this.status = status;
    this.type = type;
    this.upstreamCode = upstreamCode;
  }
}

/**
 * Spend records cannot be written (a full disk, failed writes): the proxy answers 507 rather
 * than call the provider for spend it could not record.
 */
export class SpendLogUnavailableError extends TagspendError {
  override readonly code = 'SPEND_LOG_UNAVAILABLE';
  override readonly status = 507;
  override readonly type = 'api_error';
}

/** The provider could not be reached or did not answer in time. */
export class UpstreamUnavailableError extends TagspendError {
  override readonly code: string = 'UPSTREAM_UNAVAILABLE';
  override readonly status: number = 502;
  override readonly type = 'api_error';
}

/** One SSE event from the provider is larger than `upstream.max_event_bytes`: the stream is cut there. */
export class UpstreamEventTooLargeError extends TagspendError {
  override readonly code = 'UPSTREAM_EVENT_TOO_LARGE';
  override readonly status = 502;
  override readonly type = 'api_error';
}

export class UpstreamTimeoutError extends UpstreamUnavailableError {
  override readonly code = 'UPSTREAM_TIMEOUT';
  override readonly status = 504;
}

export class ConfigError extends TagspendError {
  override readonly code = 'CONFIG_INVALID';
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

export class StoreError extends TagspendError {
  override readonly code: string = 'STORE_ERROR';
  override readonly status: number = 503;
  override readonly type = 'api_error';
}

/** The store could not be reached or answered with a server error: safe to retry later. */
export class StoreUnavailableError extends StoreError {
  override readonly code = 'STORE_UNAVAILABLE';
}

/** A conditional write's precondition did not hold (S3 412/409; the local store's equivalent): re-read and retry. */
export class StorePreconditionFailedError extends StoreError {
  override readonly code = 'STORE_PRECONDITION_FAILED';
  override readonly status = 409;
}

/** A key that is empty, absolute, or would climb out of the store root. */
export class StoreKeyError extends StoreError {
  override readonly code = 'STORE_INVALID_KEY';
  override readonly status = 400;
}

/** The store holds different bytes than were sent (size or checksum mismatch). */
export class StoreIntegrityError extends StoreError {
  override readonly code = 'STORE_INTEGRITY';
}

/** Another process (or another job in this one) holds the DuckDB file for writing. */
export class DatabaseLockedError extends TagspendError {
  override readonly code = 'DB_LOCKED';
  override readonly status = 503;
}

/** The DuckDB file or its read-only snapshot does not exist yet. */
export class DatabaseMissingError extends TagspendError {
  override readonly code = 'DB_MISSING';
  override readonly status = 404;
}

/** The DuckDB file was written by a newer tagspend (its schema version is above the one this build knows). */
export class SchemaTooNewError extends TagspendError {
  override readonly code = 'DB_SCHEMA_TOO_NEW';
  override readonly status = 409;
}

/** SQL given to `tagspend query` failed (syntax, unknown table, a write on a read-only file). */
export class QueryError extends TagspendError {
  override readonly code = 'QUERY_FAILED';
  override readonly status = 400;
}

/** A bill file (or fetched page) with problems: nothing of the import was stored. */
export class BillRejectedError extends TagspendError {
  override readonly code = 'BILL_REJECTED';
  override readonly status = 400;
  /** `file:line: reason`, every problem found. */
  readonly problems: string[];

  constructor(message: string, problems: string[]) {
    super(message);
    this.problems = problems;
  }
}

/** A provider's cost API could not be read (HTTP error, unreachable, not JSON). */
export class BillFetchError extends TagspendError {
  override readonly code = 'BILL_FETCH_FAILED';
  override readonly status = 502;
  /** The provider's HTTP status; null when it could not be reached. */
  readonly httpStatus: number | null;

  constructor(message: string, httpStatus: number | null, options: { cause?: unknown } = {}) {
    super(message, options);
    this.httpStatus = httpStatus;
  }
}

export function toOpenAIError(err: unknown): { status: number; body: OpenAIErrorBody } {
  if (err instanceof TagspendError) {
    // LiteLLM's budget body carries the status as its code ("429"); clients match on it.
    const code = err instanceof UpstreamError ? err.upstreamCode : err instanceof BudgetExceededError ? '429' : err.code.toLowerCase();
    return {
      status: err.status,
      body: { error: { message: err.message, type: err.type, param: err.param, code } },
    };
  }
  return {
    status: 500,
    body: { error: { message: 'internal proxy error', type: 'internal_error', param: null, code: 'proxy_error' } },
  };
}
