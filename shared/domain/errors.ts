// Domain errors: what a use case can refuse, by code. The API maps codes to HTTP status in one place.

export type DomainErrorCode =
  | 'not_found'
  | 'conflict'
  | 'illegal_transition'
  | 'version_mismatch'
  | 'validation'
  | 'job_busy';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
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
    options?: { cause?: unknown },
  ) {
    super('conflict', message, options);
    this.name = 'ConflictError';
  }
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
