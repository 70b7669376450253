// RFC 9457 problem documents, and the one place where a domain error becomes an HTTP status.

import { DomainError, type DomainErrorCode } from '../domain/errors.ts';
import type { Issue } from '../schema.ts';

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors: FieldError[];
  readonly instance?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Problem type URIs: stable identifiers a client can branch on (relative to the API, per RFC 9457 §3.1.1). */
const TYPES: Record<string, string> = {
  validation: '/problems/validation',
  not_found: '/problems/not-found',
  route_not_found: '/problems/route-not-found',
  conflict: '/problems/conflict',
  illegal_transition: '/problems/illegal-transition',
  version_mismatch: '/problems/version-mismatch',
  job_busy: '/problems/job-busy',
  job_not_started: '/problems/job-not-started',
  too_large: '/problems/body-too-large',
  item_too_large: '/problems/item-too-large',
  message_too_large: '/problems/message-too-large',
  throttled: '/problems/throttled',
  media_type: '/problems/unsupported-media-type',
  internal: '/problems/internal',
  signature: '/problems/bad-signature',
};

export function problem(
  status: number,
  kind: keyof typeof TYPES,
  detail: string,
  errors: FieldError[] = [],
): Problem {
  return { type: TYPES[kind] ?? 'about:blank', title: TITLES[status] ?? 'Error', status, detail, errors };
}

/** Domain error code → HTTP status. The only such mapping in the service. */
const STATUS_OF_DOMAIN_ERROR: Record<DomainErrorCode, number> = {
  not_found: 404,
  conflict: 409,
  illegal_transition: 409,
  version_mismatch: 409,
  validation: 400,
  job_busy: 409,
  too_large: 413,
  message_too_large: 413,
  throttled: 503,
};

export function problemFromDomainError(error: DomainError): Problem {
  // A validation refusal from a use case names its fields (from the body's root), or else concerns the
  // request as a whole: say so in the field list too.
  const errors =
    error.code !== 'validation'
      ? []
      : error.fields.length
        ? error.fields.map((f) => ({ path: f.path ? `body.${f.path}` : 'body', message: f.message }))
        : [{ path: 'request', message: error.message }];
  const kind = error.code === 'too_large' ? 'item_too_large' : error.code;
  return problem(STATUS_OF_DOMAIN_ERROR[error.code], kind, error.message, errors);
}

/** Thrown by request parsing and bindings when the request itself is at fault. */
export class HttpProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'HttpProblem';
  }
}

function joinPath(location: string, path: readonly PropertyKey[]): string {
  return [location, ...path.map((p) => String(p))].filter((p) => p !== '').join('.');
}

/** Every issue of a failed parse as one field error (shared/schema.ts lists unknown keys one by one). */
export function fieldErrors(location: string, issues: readonly Issue[]): FieldError[] {
  return issues.map((issue) => ({ path: joinPath(location, issue.path), message: issue.message }));
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
