// Domain errors: what a use case can refuse, by code. The API maps codes to HTTP status in one place.

export type DomainErrorCode =
  | 'not_found'
  | 'conflict'
  | 'illegal_transition'
  | 'version_mismatch'
  | 'validation'
  | 'job_busy'
  | 'too_large'
  | 'message_too_large'
  | 'throttled';

/** A field a validation refusal is about, named from the root of what the caller sent. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    options?: { cause?: unknown; fields?: readonly FieldIssue[] },
  ) {
    super(message, options);
    this.name = 'DomainError';
    this.fields = options?.fields ?? [];
  }

  /** For `validation`: the fields at fault (empty when the request as a whole is). */
  readonly fields: readonly FieldIssue[];
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super('not_found', `${what} ${id} was not found`);
    this.name = 'NotFoundError';
  }
}

/** A conditional write lost: the item changed since it was read. Carries the item as it is now. */
export class ConflictError extends DomainError {
  constructor(
    message: string,
    readonly current?: Record<string, unknown>,
    options?: { cause?: unknown; reasons?: readonly string[] },
  ) {
    super('conflict', message, options);
    this.name = 'ConflictError';
    this.reasons = options?.reasons ?? [];
  }

  /** For a cancelled transaction: each item's cancellation code, in the order the items were written. */
  readonly reasons: readonly string[];
}

export class VersionMismatchError extends DomainError {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super('version_mismatch', `the session is at version ${actual}, not ${expected} (If-Match)`);
    this.name = 'VersionMismatchError';
  }
}

/** DynamoDB refused the write for its size (an item is at most 400 KB): nothing was written. */
export class ItemTooLargeError extends DomainError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('too_large', `${what} would exceed DynamoDB's 400 KB item limit; nothing was written`, options);
    this.name = 'ItemTooLargeError';
  }
}

/** The session's notifications would not fit an AWS hop's size limit (named in the message): nothing was written. */
export class MessageTooLargeError extends DomainError {
  constructor(message: string) {
    super('message_too_large', message);
    this.name = 'MessageTooLargeError';
  }
}

/** Seconds a caller is told to wait after DynamoDB throttled a request the SDK had already retried. */
export const THROTTLED_RETRY_AFTER_SECONDS = 2;

/** DynamoDB throttled the write even after the SDK's retries: nothing was written, try again later. */
export class ThrottledError extends DomainError {
  constructor(
    what: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(
      'throttled',
      `${what} was throttled by DynamoDB; nothing was written, retry in ${retryAfterSeconds} s`,
      options,
    );
    this.name = 'ThrottledError';
  }
}
