// The console's servers against the requests a web page or a forger could make: the signing proxy signs
// correctly (the local API verifies SigV4 with local credentials) and a bad signature is refused; a
// foreign Host, a cross-origin write and a proxy call without the launch token are refused; no CORS
// header is ever sent; DynamoDB Local allows no origin. Also the console's size budget.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzippedSize } from '../../console/server/assets.ts';
import { regionOfApiUrl, runConsoleCommand } from '../../console/server/cli.ts';
import { type RunningConsoleProxy, stageBasePath, startConsoleProxy } from '../../console/server/proxy.ts';
import { createSigner, signRequest } from '../../console/server/sigv4.ts';
import { DYNAMODB_CORS_ALLOW } from '../../local/emulators.ts';
import { type RunningApiServer, startApiServer } from '../../local/http-server.ts';
import type { AppContext } from '../../shared/context.ts';
import { createTestContext } from '../support/context.ts';

const CREDENTIALS = { accessKeyId: 'AKIDCONSOLETEST', secretAccessKey: 'console-test-secret' };
const REGION = 'us-east-1';

let ctx: AppContext;
let dynamodbUrl: string;
/** The API as npm start serves it (console on), and the same API verifying SigV4. */
let plainApi: RunningApiServer;
let signedApi: RunningApiServer;
let proxy: RunningConsoleProxy;
let cookie: string;

/** A raw HTTP request, so the Host header can be anything (fetch would set it from the URL). */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function corsHeaders(headers: Record<string, unknown>): string[] {
  return Object.keys(headers).filter((k) => k.startsWith('access-control-'));
}

beforeAll(async () => {
  const test = await createTestContext();
  ctx = test.ctx;
  dynamodbUrl = test.endpoints.dynamodb;
  plainApi = await startApiServer({ ctx, port: 0, console: true });
  signedApi = await startApiServer({ ctx, port: 0, sigv4: { region: REGION, credentials: CREDENTIALS } });
  // The proxy takes its credentials from the SDK's default chain, here the environment.
  process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  proxy = await startConsoleProxy({
    apiUrl: `${signedApi.url}/`,
    region: REGION,
    credentials: fromNodeProviderChain(),
  });
  const opened = await raw(proxy.url);
  cookie = String(opened.headers['set-cookie']).split(';')[0] ?? '';
});

afterAll(async () => {
  await proxy?.stop();
  await plainApi?.stop();
  await signedApi?.stop();
});

describe('the signing proxy against the SigV4-verifying local API', () => {
  it('trades the token in its URL for a SameSite=Strict HttpOnly cookie and drops it from the address', async () => {
    // Act
    const opened = await raw(proxy.url);
    // Assess
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe('/console');
    const setCookie = String(opened.headers['set-cookie']);
    expect(setCookie).toContain(`sr_console_${proxy.port}=${proxy.token}`);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
  });

  it('signs reads and writes so the API accepts them, as the credentials’ identity', async () => {
    // Act
    const read = await fetch(`${proxy.origin}/v1/sessions?status=stalled`, { headers: { cookie } });
    const write = await fetch(`${proxy.origin}/v1/admin/jobs/timeout-monitor/pause`, {
      method: 'POST',
      headers: { cookie, origin: proxy.origin, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'proxy test' }),
    });
    const resumed = await fetch(`${proxy.origin}/v1/admin/jobs/timeout-monitor/resume`, {
      method: 'POST',
      headers: { cookie, origin: proxy.origin, 'content-type': 'application/json' },
      body: '{}',
    });
    const problem = await fetch(`${proxy.origin}/v1/sessions?status=nope`, { headers: { cookie } });
    // Assess
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ items: [] });
    expect(write.status).toBe(200);
    expect(await write.json()).toMatchObject({
      paused: true,
      pausedBy: `arn:aws:iam::000000000000:user/${CREDENTIALS.accessKeyId}`,
      pauseReason: 'proxy test',
    });
    expect(resumed.status).toBe(200);
    // The API's own problems pass through untouched.
    expect(problem.status).toBe(400);
    expect(problem.headers.get('content-type')).toBe('application/problem+json');
  });

  it('the API refuses an unsigned request, a wrong secret, a tampered body and a replayed old date', async () => {
    // Prepare
    const url = new URL(`${signedApi.url}/v1/admin/jobs/timeout-monitor/pause`);
    const sign = async (secret: string, body: string, date?: Date) => {
      const signer = createSigner({
        region: REGION,
        credentials: { ...CREDENTIALS, secretAccessKey: secret },
      });
      const headers = await signer.sign(
        {
          method: 'POST',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: url.pathname,
          query: {},
          headers: { host: url.host, 'content-type': 'application/json' },
          body,
        },
        date ? { signingDate: date } : {},
      );
      return headers.headers;
    };
    const body = JSON.stringify({ reason: 'forged' });
    // Act
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const wrongSecret = await fetch(url, {
      method: 'POST',
      headers: await sign('not-the-secret', body),
      body,
    });
    const tampered = await fetch(url, {
      method: 'POST',
      headers: await sign(CREDENTIALS.secretAccessKey, body),
      body: JSON.stringify({ reason: 'tampered' }),
    });
    const old = await fetch(url, {
      method: 'POST',
      headers: await sign(CREDENTIALS.secretAccessKey, body, new Date(Date.now() - 3_600_000)),
      body,
    });
    const good = await fetch(url, {
      method: 'POST',
      headers: await sign(CREDENTIALS.secretAccessKey, body),
      body,
    });
    // Assess
    expect([unsigned, wrongSecret, tampered, old].map((r) => r.status)).toEqual([403, 403, 403, 403]);
    for (const res of [unsigned, wrongSecret, tampered, old]) {
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    expect(((await wrongSecret.json()) as { detail: string }).detail).toContain('does not match');
    expect(good.status).toBe(200);
    await fetch(`${proxy.origin}/v1/admin/jobs/timeout-monitor/resume`, {
      method: 'POST',
      headers: { cookie, origin: proxy.origin },
    });
  });

  it('signs the same canonical request as the SDK does (path, query and body included)', async () => {
    // Prepare: a query string with repeated and escaped values goes through the proxy
    // Act
    const res = await fetch(
      `${proxy.origin}/v1/sessions?recipient=${encodeURIComponent('Ada+x@example.com')}&limit=5`,
      { headers: { cookie } },
    );
    // Assess
    expect(res.status).toBe(200);
    // And a direct signature (what the proxy does) of an odd path is verified the same way.
    const signer = createSigner({ region: REGION, credentials: CREDENTIALS });
    const target = new URL(`${signedApi.url}/v1/sessions/a:b.c`);
    const headers = await signRequest(signer, {
      method: 'GET',
      protocol: 'http:',
      hostname: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      query: {},
      headers: { host: target.host },
    });
    expect((await fetch(target, { headers })).status).toBe(404);
  });
});

describe('what a web page cannot do', () => {
  it('a foreign Host header is refused by the proxy and by npm start’s API and console (DNS rebinding)', async () => {
    // Act
    const viaProxy = await raw(`${proxy.origin}/v1/sessions`, {
      headers: { host: `rebind.example:${proxy.port}`, cookie },
    });
    const viaApi = await raw(`${plainApi.url}/v1/sessions`, { headers: { host: 'rebind.example' } });
    const viaConsole = await raw(`${plainApi.url}/console`, { headers: { host: 'rebind.example' } });
    const otherPort = await raw(`${plainApi.url}/v1/sessions`, { headers: { host: '127.0.0.1:1' } });
    // Assess
    for (const res of [viaProxy, viaApi, viaConsole, otherPort]) expect(res.status).toBe(421);
    // The console's own names are fine.
    expect((await raw(`${plainApi.url}/v1/sessions`)).status).toBe(200);
    const port = new URL(plainApi.url).port;
    expect(
      (await raw(`${plainApi.url}/v1/sessions`, { headers: { host: `localhost:${port}` } })).status,
    ).toBe(200);
  });

  it('a cross-origin write is refused (Origin or Sec-Fetch-Site), and no answer carries a CORS header', async () => {
    // Act
    const evilToProxy = await raw(`${proxy.origin}/v1/admin/jobs/recovery-sweep/pause`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    const evilToApi = await raw(`${plainApi.url}/v1/admin/jobs/recovery-sweep/pause`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    const crossSite = await raw(`${plainApi.url}/v1/admin/jobs/recovery-sweep/pause`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' },
      body: '{}',
    });
    const preflight = await raw(`${plainApi.url}/v1/sessions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    const page = await raw(`${plainApi.url}/console`, { headers: { origin: 'https://evil.example' } });
    const status = await fetch(`${plainApi.url}/v1/admin/jobs/status`);
    // Assess
    expect(evilToProxy.status).toBe(403);
    expect(evilToApi.status).toBe(403);
    expect(crossSite.status).toBe(403);
    for (const res of [evilToProxy, evilToApi, crossSite, preflight, page])
      expect(corsHeaders(res.headers)).toEqual([]);
    expect(((await status.json()) as { jobs: Array<{ paused: boolean }> }).jobs.every((j) => !j.paused)).toBe(
      true,
    );
  });

  it('the proxy refuses every request without this launch’s token, and a wrong one', async () => {
    // Act
    const noToken = await raw(`${proxy.origin}/v1/sessions`);
    const page = await raw(`${proxy.origin}/console`);
    const wrong = await raw(`${proxy.origin}/console?token=not-it`);
    const wrongCookie = await raw(`${proxy.origin}/v1/sessions`, {
      headers: { cookie: `sr_console_${proxy.port}=x` },
    });
    // Assess
    for (const res of [noToken, page, wrong, wrongCookie]) expect(res.status).toBe(403);
    expect(JSON.parse(noToken.body)).toMatchObject({ status: 403 });
  });

  it('DynamoDB Local answers a cross-origin preflight with nothing allowed', async () => {
    // Act
    const res = await fetch(dynamodbUrl, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-amz-target,authorization',
      },
    });
    // Assess
    const allowed = res.headers.get('access-control-allow-origin');
    expect(allowed === null || allowed === DYNAMODB_CORS_ALLOW).toBe(true);
    expect(allowed).not.toBe('*');
    expect(allowed).not.toBe('https://evil.example');
  });
});

describe('the console command and its assets', () => {
  it('reads the region from the API URL and serves against --api', async () => {
    // Prepare
    const lines: string[] = [];
    // Act
    const running = await runConsoleCommand(
      ['--api', `${signedApi.url}/`, '--region', REGION, '--read-only'],
      {
        out: (l) => lines.push(l),
        err: (l) => lines.push(l),
      },
    );
    try {
      // Assess
      expect(regionOfApiUrl('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/')).toBe('eu-west-1');
      expect(lines.join('\n')).toContain('read only');
      expect(running?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\?token=/);
      const opened = await raw(running?.url ?? '');
      const c = String(opened.headers['set-cookie']).split(';')[0] ?? '';
      const write = await raw(`${new URL(running?.url ?? '').origin}/v1/admin/jobs/recovery-sweep/pause`, {
        method: 'POST',
        headers: { cookie: c },
      });
      expect(write.status).toBe(403);
      await expect(runConsoleCommand(['--read-only'], { out: () => {}, err: () => {} })).rejects.toThrow(
        /--stack NAME or --api URL/,
      );
    } finally {
      await running?.stop();
    }
  });

  it('takes the stage URL with or without /v1 (as the API’s own links give it) and a trailing slash', async () => {
    // Prepare: the forms an operator copies: the stage, the stage with /v1, either with a slash.
    const forms = [`${signedApi.url}/v1`, `${signedApi.url}/v1/`, `${signedApi.url}`, `${signedApi.url}//`];
    const answers: Record<string, number | string> = {};
    for (const api of forms) {
      // Act: the command as `npx session-recovery console --api URL` runs it.
      const running = await runConsoleCommand(['--api', api, '--region', REGION], {
        out: () => {},
        err: () => {},
      });
      try {
        const opened = await raw(running?.url ?? '');
        const c = String(opened.headers['set-cookie']).split(';')[0] ?? '';
        const list = await fetch(`${new URL(running?.url ?? '').origin}/v1/sessions?limit=5`, {
          headers: { cookie: c },
        });
        answers[api] = list.status === 200 ? 200 : `${list.status} ${await list.text()}`;
      } finally {
        await running?.stop();
      }
    }
    // Assess
    expect(answers).toEqual(Object.fromEntries(forms.map((f) => [f, 200])));
    // On execute-api the first segment is the stage, even a stage named v1.
    const host = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
    expect(
      ['/prod', '/prod/', '/prod/v1', '/prod/v1/', '/v1', '/v1/', '/v1/v1'].map((p) =>
        stageBasePath(new URL(`${host}${p}`)),
      ),
    ).toEqual(['/prod', '/prod', '/prod', '/prod', '/v1', '/v1', '/v1']);
    expect(stageBasePath(new URL('https://api.example.com/v1/'))).toBe('');
  });

  it('ships at most 100 KB of JavaScript and CSS, gzipped', async () => {
    // Act
    const size = await gzippedSize();
    // Assess
    console.log(`console_assets_gzip_bytes: ${size.total} (js ${size.js}, css ${size.css})`);
    expect(size.total).toBeLessThanOrEqual(100 * 1024);
  });
});
