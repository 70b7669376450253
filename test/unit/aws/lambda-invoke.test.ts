// Run now's starter in AWS: an asynchronous Lambda invocation, signed with SigV4. No emulator runs Lambda
// here, so the fetch is a stand-in that records the request and answers as Lambda does (202 when an
// asynchronous invocation is queued, an error status otherwise) — the only way to see the request itself.
import { describe, expect, it } from 'vitest';
import { JobStartError, lambdaJobStarter } from '../../../shared/aws/lambda-invoke.ts';

const ENV = {
  AWS_REGION: 'eu-west-1',
  LAMBDA_ENDPOINT: 'https://lambda.eu-west-1.amazonaws.com',
  JOB_FUNCTION_RECOVERY_SWEEP: 'session-recovery-dev-recovery-sweep',
  JOB_FUNCTION_TIMEOUT_MONITOR: 'session-recovery-dev-timeout-monitor',
};
const CREDENTIALS = async () => ({
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'secret',
  sessionToken: 'tok',
});
const EVENT = {
  trigger: 'api',
  runId: '20260302T100000000Z-abc123',
  requestedBy: 'arn:aws:iam::123456789012:user/oncall',
  dryRun: true,
} as const;

function recordingFetch(status: number) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetcher = (async (url: URL | string, init: RequestInit) => {
    calls.push({ url: String(url), init });
    return new Response(status === 202 ? '' : '{"Message":"User is not authorized"}', { status });
  }) as typeof fetch;
  return { calls, fetcher };
}

describe('lambdaJobStarter', () => {
  it('invokes the job function asynchronously (Event), signed for lambda in the region, with the event', async () => {
    // Prepare
    const { calls, fetcher } = recordingFetch(202);
    // Act
    await lambdaJobStarter(ENV, CREDENTIALS, fetcher)('timeout-monitor', EVENT);
    // Assess
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.url).toBe(
      'https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/session-recovery-dev-timeout-monitor/invocations',
    );
    const headers = new Headers(call?.init.headers);
    expect(headers.get('x-amz-invocation-type')).toBe('Event');
    expect(headers.get('authorization')).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[^,]*x-amz-invocation-type[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers.get('x-amz-security-token')).toBe('tok');
    expect(JSON.parse(String(call?.init.body))).toEqual(EVENT);
  });

  it('rejects with the status and Lambda’s message when the invocation is not accepted', async () => {
    // Prepare
    const { fetcher } = recordingFetch(403);
    // Act
    const started = lambdaJobStarter(ENV, CREDENTIALS, fetcher)('recovery-sweep', EVENT);
    // Assess
    await expect(started).rejects.toThrow(JobStartError);
    await expect(started).rejects.toThrow(/recovery-sweep \(403\).*not authorized/);
  });

  it('refuses to build without the function names the stack sets', () => {
    const { JOB_FUNCTION_TIMEOUT_MONITOR: _, ...partial } = ENV;
    expect(() => lambdaJobStarter(partial, CREDENTIALS)).toThrow(/JOB_FUNCTION_TIMEOUT_MONITOR/);
  });
});
