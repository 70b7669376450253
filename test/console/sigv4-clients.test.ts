// SigV4 from clients other than our own: botocore (as boto3 and the AWS CLI sign: `host;x-amz-date`, no
// x-amz-content-sha256) and the `aws4` package, against the local API with API_SIGV4 on, and the console's
// signing proxy in front of the same API. Filters with spaces, `+`, `%2B`, `/`, non-ASCII letters and
// repeated keys are accepted and reach the route as sent; a tampered request is refused.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import aws4 from 'aws4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConsoleCommand } from '../../console/server/cli.ts';
import { uriEncode } from '../../console/server/sigv4.ts';
import { type RunningApiServer, startApiServer } from '../../local/http-server.ts';
import { createTestContext } from '../support/context.ts';

const CREDENTIALS = { accessKeyId: 'AKIDCLIENTSTEST', secretAccessKey: 'clients-test-secret' };
const REGION = 'eu-west-1';

let api: RunningApiServer;
let proxy: { readonly origin: string; stop(): Promise<void> };
let cookie: string;
const tag = randomBytes(3).toString('hex');
/** A kind with a space, a plus, a literal `%2B`, a slash and a non-ASCII letter. */
const KIND = `k ${tag}+x%2B/é`;
const EMAIL = `jane+${tag}@example.com`;
const SESSION_ID = `sig-${tag}`;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** Sends exactly this path (nothing re-encoded) with exactly these headers. */
function send(
  method: string,
  pathAndQuery: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  const base = new URL(api.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: base.hostname, port: base.port, method, path: pathAndQuery, headers },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** botocore's SigV4Auth signs; the request goes out as botocore prepared it. */
function botocoreSigned(method: string, path: string, query: [string, string][], body?: string) {
  const run = spawnSync('python3', ['test/support/botocore_sign.py'], {
    input: JSON.stringify({
      method,
      url: `${api.url}${path}`,
      query,
      body,
      headers: body ? { 'content-type': 'application/json' } : {},
      region: REGION,
      ...CREDENTIALS,
    }),
    encoding: 'utf8',
  });
  if (run.status !== 0)
    throw new Error(`botocore signing failed (is python3 with botocore installed?): ${run.stderr}`);
  const prepared = JSON.parse(run.stdout) as { url: string; headers: Record<string, string> };
  const url = prepared.url.slice(api.url.length);
  return { url, headers: prepared.headers };
}

function botocore(method: string, path: string, query: [string, string][] = [], body?: string) {
  const signed = botocoreSigned(method, path, query, body);
  return send(method, signed.url, signed.headers, body);
}

/** The `aws4` package signs the path and query as given (already encoded). */
function viaAws4(method: string, pathAndQuery: string, body?: string) {
  const base = new URL(api.url);
  const signed = aws4.sign(
    {
      host: base.host,
      method,
      path: pathAndQuery,
      service: 'execute-api',
      region: REGION,
      headers: body ? { 'content-type': 'application/json' } : {},
      ...(body ? { body } : {}),
    },
    CREDENTIALS,
  );
  return send(method, signed.path ?? pathAndQuery, signed.headers as Record<string, string>, body);
}

const query = (pairs: [string, string][]) =>
  pairs.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
const ids = (answer: Answer) =>
  (JSON.parse(answer.body) as { items: { sessionId: string }[] }).items.map((s) => s.sessionId);

beforeAll(async () => {
  const { ctx } = await createTestContext();
  api = await startApiServer({ ctx, port: 0, sigv4: { region: REGION, credentials: CREDENTIALS } });
  process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  // As an operator starts it: `npx session-recovery console --api URL`, credentials from the environment.
  const running = await runConsoleCommand(['--api', `${api.url}/`, '--region', REGION], {
    out: () => {},
    err: () => {},
  });
  if (!running) throw new Error('the console command started no proxy');
  proxy = { origin: new URL(running.url).origin, stop: running.stop };
  const opened = await fetch(running.url, { redirect: 'manual' });
  cookie = String(opened.headers.get('set-cookie')).split(';')[0] ?? '';
  // A session to find by the awkward kind and the plus-addressed email, registered without signing.
  const plain = await startApiServer({ ctx, port: 0 });
  try {
    const created = await fetch(`${plain.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sessionId: SESSION_ID,
        kind: KIND,
        status: 'stalled',
        orgId: 'acme',
        contact: { email: EMAIL },
        recoveryUrl: 'https://shop.example.com/cart/1',
      }),
    });
    if (!created.ok) throw new Error(`register: ${created.status} ${await created.text()}`);
  } finally {
    await plain.stop();
  }
});

afterAll(async () => {
  await proxy?.stop();
  await api?.stop();
});

describe('botocore (boto3, the AWS CLI) against the verifying API', () => {
  it('is accepted with only host;x-amz-date signed, and the filters reach the route as sent', async () => {
    // Act
    const byKind = await botocore('GET', '/v1/sessions', [['kind', KIND]]);
    const byEmail = await botocore('GET', '/v1/sessions', [['recipient', EMAIL]]);
    const signed = botocoreSigned('GET', '/v1/sessions', [['kind', KIND]]);
    // Assess
    expect(signed.headers.Authorization).toContain('SignedHeaders=host;x-amz-date,');
    expect(byKind.status, byKind.body).toBe(200);
    expect(ids(byKind)).toEqual([SESSION_ID]);
    expect(byEmail.status, byEmail.body).toBe(200);
    expect(ids(byEmail)).toEqual([SESSION_ID]);
  });

  it('signs repeated keys, encoded path segments and a body; the route answers, not the signature check', async () => {
    // Act
    const repeated = await botocore('GET', '/v1/sessions', [
      ['status', 'stalled'],
      ['status', 'running'],
    ]);
    const path = await botocore('GET', `/v1/sessions/${uriEncode(`a b/é+${tag}`)}`);
    const write = await botocore(
      'POST',
      '/v1/admin/jobs/timeout-monitor/pause',
      [],
      JSON.stringify({ reason: 'botocore' }),
    );
    await botocore('POST', '/v1/admin/jobs/timeout-monitor/resume', [], '{}');
    // Assess
    expect(repeated.status, repeated.body).toBe(400);
    expect(repeated.body).toContain('given more than once');
    expect(path.status, path.body).toBe(404);
    expect(write.status, write.body).toBe(200);
    expect(JSON.parse(write.body)).toMatchObject({
      pausedBy: `arn:aws:iam::000000000000:user/${CREDENTIALS.accessKeyId}`,
    });
  });

  it('refuses the same request with a filter, the path or the body changed after signing', async () => {
    // Prepare
    const signed = botocoreSigned('GET', '/v1/sessions', [['kind', KIND]]);
    const body = JSON.stringify({ reason: 'signed' });
    const write = botocoreSigned('POST', '/v1/admin/jobs/timeout-monitor/pause', [], body);
    // Act
    const query = await send('GET', signed.url.replace('kind=', 'kind=z'), signed.headers);
    const path = await send('GET', signed.url.replace('/v1/sessions', '/v1/sessions/'), signed.headers);
    const tamperedBody = await send('POST', write.url, write.headers, body.replace('signed', 'forged'));
    // Assess
    for (const answer of [query, path, tamperedBody]) {
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('the signature does not match');
    }
  });
});

describe('the aws4 package against the verifying API', () => {
  it('is accepted for the awkward filters, `+` and `%2B` kept apart, repeated keys signed', async () => {
    // Act
    const byKind = await viaAws4('GET', `/v1/sessions?${query([['kind', KIND]])}`);
    const byEmail = await viaAws4('GET', `/v1/sessions?${query([['recipient', EMAIL]])}`);
    const repeated = await viaAws4('GET', '/v1/sessions?status=stalled&status=running');
    const write = await viaAws4(
      'POST',
      '/v1/admin/jobs/timeout-monitor/pause',
      JSON.stringify({ reason: 'aws4' }),
    );
    await viaAws4('POST', '/v1/admin/jobs/timeout-monitor/resume', '{}');
    // Assess
    expect(write.status, write.body).toBe(200);
    expect(byKind.status, byKind.body).toBe(200);
    expect(ids(byKind)).toEqual([SESSION_ID]);
    expect(byEmail.status, byEmail.body).toBe(200);
    expect(ids(byEmail)).toEqual([SESSION_ID]);
    expect(repeated.status, repeated.body).toBe(400);
  });
});

describe('the console proxy (session-recovery console) in front of the verifying API', () => {
  it('forwards the path and query it signed, whichever way the page encoded them', async () => {
    // Prepare: the console page's own encoding (URLSearchParams: a space as `+`), and RFC 3986's
    const form = new URLSearchParams({ kind: KIND }).toString();
    const rfc = query([['kind', KIND]]);
    // Act
    const answers = await Promise.all(
      [form, rfc, `recipient=${encodeURIComponent(EMAIL)}`].map((q) =>
        fetch(`${proxy.origin}/v1/sessions?${q}`, { headers: { cookie } }),
      ),
    );
    // Assess
    for (const answer of answers) {
      const text = await answer.text();
      expect(answer.status, text).toBe(200);
      expect(ids({ status: answer.status, body: text })).toEqual([SESSION_ID]);
    }
  });

  it('forwards repeated keys and encoded path segments signed', async () => {
    // Act
    const repeated = await fetch(`${proxy.origin}/v1/sessions?status=stalled&status=running`, {
      headers: { cookie },
    });
    const path = await fetch(`${proxy.origin}/v1/sessions/${uriEncode(`a b/é+${tag}`)}`, {
      headers: { cookie },
    });
    // Assess
    expect(repeated.status, await repeated.text()).toBe(400);
    expect(path.status, await path.text()).toBe(404);
  });

  it('answers a query it cannot decode with its own 400, instead of signing something else than it sends', async () => {
    // Act
    const answer = await fetch(`${proxy.origin}/v1/sessions?kind=%FF%zz`, { headers: { cookie } });
    // Assess
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({
      detail: expect.stringContaining('malformed percent-encoding'),
    });
  });
});
