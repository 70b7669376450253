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
  // The path and query exactly as sent, and the header lines as received: API Gateway signs those.
  const target = req.url ?? '/';
  const at = target.indexOf('?');
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
  }
  const result = await verifySignature(
    {
      method: req.method ?? 'GET',
      rawPath: at < 0 ? target : target.slice(0, at),
      rawQuery: at < 0 ? '' : target.slice(at + 1),
      headers,
      body: event.body ?? '',
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
