// The local SigV4 verifier against AWS's published test suite (test/fixtures/aws-sigv4-test-suite.json):
// every published signature is accepted, from exactly the headers its SignedHeaders lists; the same request
// with one byte changed is refused. Canonicalization as API Gateway does it for a service other than S3:
// paths normalized and each segment encoded once as sent, the query sorted by key then value.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  canonicalPath,
  canonicalQuery,
  type ReceivedRequest,
  verifySignature,
} from '../../../console/server/sigv4.ts';

interface SuiteCase {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: [string, string][];
  readonly body: string;
}
const suite = JSON.parse(
  readFileSync(new URL('../../fixtures/aws-sigv4-test-suite.json', import.meta.url), 'utf8'),
) as {
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  service: string;
  date: string;
  cases: SuiteCase[];
};
const options = {
  region: suite.region,
  service: suite.service,
  credentials: suite.credentials,
  now: new Date(suite.date),
};
const request = (c: SuiteCase): ReceivedRequest => ({
  method: c.method,
  rawPath: c.path,
  rawQuery: c.query,
  headers: c.headers,
  body: c.body,
});

describe("AWS's SigV4 test suite against the local verifier", () => {
  it.each(suite.cases.map((c) => [c.name, c] as const))('%s is accepted', async (_, c) => {
    // Act
    const result = await verifySignature(request(c), options);
    // Assess
    expect(result).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
  });

  it.each(suite.cases.map((c) => [c.name, c] as const))(
    '%s with one byte changed is refused',
    async (_, c) => {
      // Prepare: the method, the path, a query value or the body, whichever the case has
      const tampered: ReceivedRequest = c.body
        ? { ...request(c), body: `${c.body}x` }
        : c.query
          ? { ...request(c), rawQuery: `${c.query}x` }
          : { ...request(c), rawPath: `${c.path}x` };
      // Act
      const result = await verifySignature(tampered, options);
      // Assess
      expect(result.ok).toBe(false);
    },
  );

  it('ignores headers the client did not sign, and refuses a request whose signed header is missing', async () => {
    // Prepare
    const vanilla = suite.cases.find((c) => c.name === 'get-vanilla');
    if (!vanilla) throw new Error('get-vanilla is in the fixture');
    const extra: [string, string][] = [
      ...vanilla.headers,
      ['X-Forwarded-For', '10.0.0.1'],
      ['User-Agent', 'x'],
    ];
    const noDate = vanilla.headers.filter(([n]) => n !== 'X-Amz-Date');
    // Act
    const withExtra = await verifySignature({ ...request(vanilla), headers: extra }, options);
    const withoutDate = await verifySignature({ ...request(vanilla), headers: noDate }, options);
    // Assess
    expect(withExtra.ok).toBe(true);
    expect(withoutDate.ok).toBe(false);
  });
});

describe('canonical forms', () => {
  it('encodes each path segment once as sent, after removing dot and empty segments', () => {
    expect(canonicalPath('/v1/sessions/a%20b')).toBe('/v1/sessions/a%2520b');
    expect(canonicalPath('/v1/./sessions//x/../y/')).toBe('/v1/sessions/y/');
    expect(canonicalPath('/caf\u00e9')).toBe('/caf%C3%A9');
  });

  it('sorts the query by encoded key then value, keeps repeated keys and empty values; `+` is a space', () => {
    expect(canonicalQuery('b=2&a=z&a=y&c&d=')).toBe('a=y&a=z&b=2&c=&d=');
    expect(canonicalQuery('q=a%20b&r=a%2Bb&s=a+b&t=%C3%A9%2F')).toBe('q=a%20b&r=a%2Bb&s=a%20b&t=%C3%A9%2F');
  });
});
