// The operator console in a real Chromium (Debian's package, driven by playwright-core) against the local
// runtime (startLocalService on the shared emulators, demo data): every page with data and no console
// error, axe-core on every page, an operator's flows (find by email → retry now → watch the outcomes
// arrive; replay a dead letter; pause and resume the sweep; retry now by keyboard only) and --read-only
// through the signing proxy against the SigV4-verifying API. One browser for the whole file.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunningConsoleProxy, startConsoleProxy } from '../../console/server/proxy.ts';
import { type RunningApiServer, startApiServer } from '../../local/http-server.ts';
import { REPO_ROOT } from '../../local/local-env.ts';
import { type LocalService, startLocalService } from '../../local/runtime.ts';
import { localAuthorizer } from '../support/context.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Where the screenshots go: docs/console with CONSOLE_SCREENSHOTS=docs (committed), else .local. */
const SHOTS =
  process.env.CONSOLE_SCREENSHOTS === 'docs'
    ? join(REPO_ROOT, 'docs', 'console')
    : join(REPO_ROOT, '.local', 'console-screenshots');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CREDENTIALS = { accessKeyId: 'AKIDBROWSERTEST', secretAccessKey: 'browser-test-secret' };

let service: LocalService;
let browser: Browser;
let base: string;
let signedApi: RunningApiServer;
let proxy: RunningConsoleProxy;
let demoPolicyId = '';

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${service.apiUrl}/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Waits until the runtime's first timeout-monitor run has ended (its job has a heartbeat). */
async function firstMonitorRun(): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await api<{ jobs: Array<{ name: string; lastHeartbeatAt: string | null }> }>(
      'GET',
      '/admin/jobs/status',
    );
    if (status.jobs.find((j) => j.name === 'timeout-monitor')?.lastHeartbeatAt) return;
    if (Date.now() > deadline) throw new Error('the first timeout-monitor run did not end in 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until every channel of every attempt of a session has a final outcome. */
async function settled(sessionId: string, options: { attempted?: boolean } = {}): Promise<void> {
  const attempted = options.attempted ?? true;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const page = await api<{ items: Array<{ type: string; status?: string; channels?: string[] }> }>(
      'GET',
      `/sessions/${sessionId}/timeline?limit=100`,
    );
    const expected = page.items
      .filter((e) => e.type === 'attempt')
      .reduce((n, e) => n + (e.channels?.length ?? 0), 0);
    const done = page.items.filter((e) => e.type === 'notification' && e.status !== 'sending').length;
    if ((expected > 0 || !attempted) && done >= expected) return;
    if (Date.now() > deadline) throw new Error(`${sessionId}: ${done} of ${expected} outcomes after 30 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until a session's dispatch lease (15 s in the demo settings) has passed: retry-now refuses before. */
async function leaseFree(sessionId: string): Promise<void> {
  const s = await api<{ leaseUntil?: string }>('GET', `/sessions/${sessionId}`);
  const wait = s.leaseUntil ? Date.parse(s.leaseUntil) - Date.now() + 200 : 0;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

interface Watched {
  page: Page;
  errors: string[];
}

/** The page of the running test, whose text is printed when the test fails. */
let current: Page | undefined;

async function newPage(): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  current = page;
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, errors };
}

/** Opens a console URL and waits until the page has rendered from the API. */
async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('main h1').first().waitFor();
  await page.waitForFunction(() => !document.querySelector('main .loading'));
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected into the page at run time
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return (result.violations as Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>)
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

beforeAll(async () => {
  // The runtime with its timers slowed to a crawl: the test makes attempts itself, so the views hold still.
  service = await startLocalService({
    endpoints: inject('endpoints'),
    authorize: localAuthorizer(),
    prefix: `c${randomBytes(4).toString('hex')}`,
    port: 0,
    demo: true,
    sweepEverySeconds: 3600,
    monitorEverySeconds: 3600,
    say: () => {},
  });
  base = service.apiUrl;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  mkdirSync(SHOTS, { recursive: true });

  // The runtime's first monitor run starts with it: let it end first, or under load it times out the stuck
  // transcription registered below before the stuck page is looked at.
  await firstMonitorRun();
  // Data for every page: two attempts made and delivered, a stuck transcription, a dead letter.
  await api('POST', '/sessions', {
    sessionId: 'stuck-transcription-9',
    kind: 'transcription',
    status: 'processing',
    sizeBytes: 2_097_152,
    processingStartedAt: new Date(Date.now() - 3 * 3_600_000).toISOString(),
  });
  // The runtime's first sweep may already have reminded the demo sessions: retry-now waits (409) until
  // that attempt's notifications have their outcomes.
  await settled('demo-checkout-2', { attempted: false });
  await settled('demo-payment-3', { attempted: false });
  await leaseFree('demo-checkout-2');
  await leaseFree('demo-payment-3');
  const first = await api<{ attemptId: string }>('POST', '/sessions/demo-checkout-2/retry-now', {
    reason: 'test setup',
  });
  await api('POST', '/sessions/demo-payment-3/retry-now', { reason: 'test setup' });
  await settled('demo-checkout-2');
  await settled('demo-payment-3');
  const attempt = await service.ctx.ddb.send(
    new QueryCommand({
      TableName: service.ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :id',
      FilterExpression: 'attemptId = :a AND #type = :attempt',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: { ':id': 'demo-checkout-2', ':a': first.attemptId, ':attempt': 'attempt' },
    }),
  );
  const messages = (attempt.Items?.[0]?.messages ?? []) as Array<{ channel: string }>;
  const message = messages.find((m) => m.channel === 'email');
  await service.ctx.sqs.send(
    new SendMessageCommand({
      QueueUrl: service.ctx.queues.email.dlqUrl,
      MessageBody: JSON.stringify(message),
    }),
  );
  await api('POST', '/admin/jobs/timeout-monitor/run', { dryRun: true });
  // A session under a policy with quiet hours (from 1 h to 4 h from now, UTC), for the shaded time axis.
  const hour = (h: number) => `${String((new Date().getUTCHours() + h) % 24).padStart(2, '0')}:00`;
  await api('POST', '/retry/policies', {
    name: 'Night shift (quiet hours)',
    orgId: 'night',
    maxRetries: 3,
    initialDelaySeconds: 1800,
    backoffMultiplier: 2,
    maxDelaySeconds: 86400,
    enabledChannels: ['email', 'sms'],
    quietHours: { start: hour(1), end: hour(4), timezone: 'UTC' },
  });
  await api('POST', '/sessions', {
    sessionId: 'night-checkout-5',
    kind: 'checkout',
    status: 'stalled',
    orgId: 'night',
    contact: { name: 'Nora', email: 'nora@example.com', timezone: 'UTC' },
  });
  demoPolicyId = (await api<{ policyId: string }>('GET', '/retry/policies/active?orgId=demo')).policyId;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  await signedApi?.stop();
  await service?.stop();
});

afterEach(async (test) => {
  if (test.task.result?.state === 'fail' && current && !current.isClosed()) {
    console.log(
      `page at failure (${current.url()}):\n${await current.locator('body').innerText().catch(String)}`,
    );
  }
  if (current && !current.isClosed()) await current.context().close();
  current = undefined;
});

/** Every page, with a view worth a screenshot (policies: a preview for a session). */
const PAGES = (): ReadonlyArray<readonly [name: string, path: string, shows: RegExp]> => [
  ['overview', '/console?org=demo', /recovery-sweep/],
  ['sessions', '/console/sessions', /demo-checkout-1/],
  ['session', '/console/sessions/demo-checkout-2', /Attempt 1 of 3/],
  ['session-quiet-hours', '/console/sessions/night-checkout-5', /quiet hours/],
  ['jobs', '/console/jobs', /Run history/],
  ['dlq', '/console/dlq?channel=email', /Dead-letter queues[\s\S]*webhook/],
  ['stuck', '/console/stuck', /stuck-transcription-9/],
  [
    'policies',
    `/console/policies?org=demo&preview=${demoPolicyId}&session=demo-checkout-1`,
    /Schedule of pol_/,
  ],
];

describe('the operator console in Chromium', () => {
  it('renders every page with data, without a console error or a serious axe violation', async () => {
    const { page, errors } = await newPage();
    const violations: string[] = [];
    for (const [name, path, shows] of PAGES()) {
      // Act
      await open(page, `${base}${path}`);
      // Assess
      await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toMatch(shows);
      expect(await page.locator('main [role=alert]').count(), `${name}: an error is shown`).toBe(0);
      violations.push(...(await axeViolations(page)).map((v) => `${name}: ${v}`));
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    }
    expect(violations).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('finds a demo session by its customer’s email, retries it now, and shows the new attempt’s outcomes without a reload', async () => {
    // Prepare
    await leaseFree('demo-checkout-2');
    const { page, errors } = await newPage();
    await open(page, `${base}/console/sessions`);
    // Act: a search the API refuses says why, with the field, and keeps the form
    await page.getByLabel('Recipient (email or phone)').fill('grace at example');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => page.locator('main [role=alert]').innerText())
      .toMatch(/query\.recipient — an email address or a phone number/);
    // The browser logs the refused request itself; that one was provoked on purpose.
    expect(errors.splice(0)).toEqual([expect.stringContaining('status of 400')]);
    // Act: search by email, as typed by a person
    await page.getByLabel('Recipient (email or phone)').fill('  Grace@Example.com ');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url()).toContain('recipient=Grace%40Example.com');
    await page.getByRole('link', { name: 'demo-checkout-2' }).click();
    await page.getByRole('heading', { name: 'Recovery Timeline' }).waitFor();
    expect(await page.locator('li.attempt').count()).toBe(1);
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await page.getByRole('button', { name: 'Retry now' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('customer called support');
    await dialog.getByRole('button', { name: 'Retry now' }).click();
    // Assess: the attempt, then each channel's outcome, appear in place
    await page.getByText(/Attempt 2 \(att_[^)]+\) made for demo-checkout-2/).waitFor();
    const second = page.locator('li.attempt').nth(1);
    await expect.poll(() => second.innerText(), { timeout: 20_000 }).toMatch(/Attempt 2 of 3/);
    await expect.poll(() => second.locator('tbody tr').count()).toBe(5);
    await expect
      .poll(
        async () =>
          // Final outcomes; an email may already read `delivered` when SES's receipt came in first (#13).
          (await second.locator('tbody').innerText()).match(
            /\b(sent|delivered|read|bounced|complained|undelivered|skipped|failed)\b/g,
          )?.length ?? 0,
        {
          timeout: 20_000,
        },
      )
      .toBe(5);
    const emailRow = second.locator('tbody tr', { hasText: 'email' });
    expect(await emailRow.innerText()).toMatch(/(sent|delivered)\s+ses/);
    expect(await second.innerText()).toContain('customer called support');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    expect(errors).toEqual([]);
  });

  it('replays a dead letter from the DLQ page: a dry run matches 1, then 1 is replayed', async () => {
    // Prepare
    const { page, errors } = await newPage();
    await open(page, `${base}/console/dlq`);
    await page.getByRole('link', { name: 'Replay email dead letters' }).click();
    await page.getByRole('heading', { name: 'Replay email dead letters' }).waitFor();
    // Act
    await page.getByLabel('Session id').fill('demo-checkout-2');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByText('Dry run: 1 matched').waitFor();
    await page.screenshot({ path: join(SHOTS, 'dlq-dry-run.png'), fullPage: true });
    expect(page.url()).toContain('sessionId=demo-checkout-2');
    await page.getByRole('button', { name: 'Replay 1 message(s) to the email queue' }).click();
    // Assess
    await page.getByText('Replayed 1 of 1 matched message(s) to the email queue.').waitFor();
    expect(errors).toEqual([]);
  });

  it('a pasted DLQ link whose channel is a path turns no button into another admin call', async () => {
    // Prepare: a crafted link; every API call the page makes is recorded.
    const { page } = await newPage();
    const calls: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/v1/'))
        calls.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    const crafted = encodeURIComponent('../jobs/recovery-sweep/run?x=');
    // Act: open it, and press what a trusting operator would press.
    await open(page, `${base}/console/dlq?channel=${crafted}`);
    const dryRun = page.getByRole('button', { name: 'Dry run' });
    if (await dryRun.count()) {
      await dryRun.click();
      await page.waitForTimeout(1000);
    }
    // Assess: no replay form for it, the page says why, and no call left the DLQ routes.
    expect(calls.filter((c) => c !== 'GET /v1/admin/dlq')).toEqual([]);
    expect(await dryRun.count()).toBe(0);
    await page.getByText('not a channel of this service').waitFor();
  });

  it('before the timeout monitor has counted, the overview says "not measured yet" beside a 3-hour-old processing session, not "stuck 0"', async () => {
    // Prepare: no count from the monitor (as before its first run); stuck-transcription-9 processes for 3 h.
    const key = { pk: 'gauge#monitor', sk: 'latest' };
    const table = service.ctx.tables.control;
    const saved = (await service.ctx.ddb.send(new GetCommand({ TableName: table, Key: key }))).Item;
    await service.ctx.ddb.send(new DeleteCommand({ TableName: table, Key: key }));
    try {
      const { page, errors } = await newPage();
      // Act
      await open(page, `${base}/console`);
      const health = page.getByRole('region', { name: /Session health/ });
      const stuckRow = health.getByRole('row', { name: /stuck \(past deadline\)/ });
      // Assess
      await expect.poll(() => stuckRow.innerText()).toMatch(/not measured yet/);
      expect(await health.getByRole('row', { name: /running long/ }).innerText()).toMatch(/not measured yet/);
      expect(await health.getByRole('heading').innerText()).toMatch(/unknown/);
      expect(errors).toEqual([]);
    } finally {
      if (saved) await service.ctx.ddb.send(new PutCommand({ TableName: table, Item: saved }));
    }
  });

  it('pauses the sweep from the jobs page with a reason, the overview shows it paused, then resumes it', async () => {
    // Prepare
    const { page, errors } = await newPage();
    await open(page, `${base}/console/jobs`);
    // Act
    await page.getByRole('button', { name: 'Pause recovery-sweep' }).click();
    await page.getByRole('dialog').getByLabel('Reason').fill('provider incident');
    await page.getByRole('dialog').getByRole('button', { name: 'Pause recovery-sweep' }).click();
    await page.getByText('recovery-sweep paused.').waitFor();
    await page.getByRole('link', { name: 'Overview' }).click();
    // Assess
    const row = page.locator('main table tr', { hasText: 'recovery-sweep' });
    await expect.poll(() => row.innerText()).toMatch(/paused\s+by local-operator: “provider incident”/);
    // Act: a dry run, then resume
    await page.getByRole('link', { name: 'Jobs and runs' }).click();
    await page.getByRole('button', { name: 'Dry run timeout-monitor' }).click();
    await page.getByText('Dry run: nothing changed').waitFor();
    await page.screenshot({ path: join(SHOTS, 'jobs-dry-run.png'), fullPage: true });
    await page.getByRole('button', { name: 'Resume recovery-sweep' }).click();
    await page.getByRole('dialog').getByLabel('Reason').fill('incident over');
    await page.getByRole('dialog').getByRole('button', { name: 'Resume recovery-sweep' }).click();
    await page.getByText('recovery-sweep resumed.').waitFor();
    const status = await api<{ jobs: Array<{ name: string; paused: boolean }> }>('GET', '/admin/jobs/status');
    expect(status.jobs.find((j) => j.name === 'recovery-sweep')?.paused).toBe(false);
    expect(errors).toEqual([]);
  });

  it('reaches and triggers retry-now from the sessions list with the keyboard only', async () => {
    // Prepare
    const { page, errors } = await newPage();
    await open(page, `${base}/console/sessions`);
    // Act: Tab until the row's button has focus
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(
        () => document.activeElement?.getAttribute('aria-label') === 'Retry now demo-checkout-1',
      );
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.keyboard.type('keyboard-only operator');
    await page.keyboard.press('Tab'); // Cancel
    await page.keyboard.press('Tab'); // Retry now
    await page.keyboard.press('Enter');
    // Assess
    await page.getByText(/Attempt 1 \(att_[^)]+\) made for demo-checkout-1/).waitFor();
    await expect.poll(() => page.locator('dialog').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('shows recovered revenue on the overview: a product event recovers a reminded demo session, credited to its channels', async () => {
    // Prepare: the product reports that the customer of demo-payment-3 (reminded once in setup) paid.
    await api('POST', '/events', {
      id: `browser-recovered-${randomBytes(4).toString('hex')}`,
      type: 'Session Recovered',
      time: new Date().toISOString(),
      sessionId: 'demo-payment-3',
      amount: { value: 2900, currency: 'USD' },
    });
    const { page, errors } = await newPage();
    // Act
    await open(page, `${base}/console?org=demo`);
    // Assess
    const revenue = page.locator('section[aria-labelledby=h-revenue]');
    await expect.poll(() => revenue.innerText(), { timeout: 10_000 }).toMatch(/1 recovered, \$29\.00/);
    const byChannel = page.getByRole('table', { name: 'Recovered by channel' });
    expect(await byChannel.getByRole('row', { name: /^email\b/ }).innerText()).toMatch(/1\s+\$29\.00/);
    expect(await page.getByRole('table', { name: 'Recovered by attempt' }).innerText()).toMatch(
      /attempt 1\s+1\s+\$29\.00/,
    );
    expect(await axeViolations(page)).toEqual([]);
    await revenue.screenshot({ path: join(SHOTS, 'overview-recovered-revenue.png') });
    expect(errors).toEqual([]);
  });

  it('--read-only, through the signing proxy against the SigV4-verifying API: data on every page, no write control', async () => {
    // Prepare
    signedApi = await startApiServer({
      ctx: service.ctx,
      port: 0,
      sigv4: { region: 'us-east-1', credentials: CREDENTIALS },
    });
    proxy = await startConsoleProxy({
      apiUrl: `${signedApi.url}/`,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      readOnly: true,
    });
    const { page, errors } = await newPage();
    await page.goto(proxy.url);
    const writes =
      /retry now|^pause (?!refresh)|^resume (?!refresh)|override|recover|dry run|replay|create policy|deactivate|run .* now|time out/i;
    for (const [name, path, shows] of PAGES()) {
      // Act
      await open(page, `${proxy.origin}${path}`);
      // Assess
      await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toMatch(shows);
      const buttons = await page
        .getByRole('button')
        .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent ?? ''));
      expect(
        buttons.filter((b) => writes.test(b.trim())),
        `${name} shows a write control`,
      ).toEqual([]);
      expect(await page.locator('dialog, textarea').count()).toBe(0);
    }
    expect(await page.locator('header').innerText()).toContain('read only');
    expect(errors).toEqual([]);
  });
});
