// The local API server's SigV4 check (npm start with API_SIGV4=true, and the console proxy's test): the
// request as API Gateway would see it, verified with the local credentials.
import type { IncomingMessage } from 'node:http';
import type { AwsCredentialIdentity } from '@smithy/types';
import { verifySignature } from '../console/server/sigv4.ts';
import type { ProxyEvent } from '../shared/api/router.ts';

export async function verifyLocalSignature(
  req: IncomingMessage,
  event: ProxyEvent,
  options: { region: string; credentials: AwsCredentialIdentity },
): Promise<{ ok: true; caller: string } | { ok: false; reason: string }> {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    if (v) query[k] = v.length === 1 ? (v[0] ?? '') : v;
  }
  const result = await verifySignature(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: url.pathname,
      query,
      headers,
      body: event.body ?? undefined,
    },
    options,
  );
  return result.ok ? { ok: true, caller: `arn:aws:iam::000000000000:user/${result.accessKeyId}` } : result;
}

export function signatureProblem(reason: string): string {
  return JSON.stringify({
    type: '/problems/signature',
    title: 'Forbidden',
    status: 403,
    detail: `the request's SigV4 signature was refused: ${reason}`,
    errors: [],
  });
}
