// Stand-ins for the HTTP providers on 127.0.0.1, so the real provider code runs locally and in tests:
// a Slack incoming webhook, the Twilio Messages API and a product webhook endpoint that verifies
// signatures. Each records every request and can be told to misbehave (5xx, 429 + Retry-After, hang).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../shared/providers/webhook-signature.ts';
import { twilioSignature } from '../shared/public/twilio-signature.ts';

export const RECEIVERS = ['slack', 'twilio', 'webhook'] as const;
export type ReceiverName = (typeof RECEIVERS)[number];

/** Twilio's test-credential magic number for "invalid To": the receiver answers 21211 for it too. */
export const TWILIO_INVALID_NUMBER = '+15005550001';

export interface RecordedRequest {
  readonly receiver: ReceiverName;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly at: Date;
  /** What the receiver answered; `hung` when it never did. */
  readonly status: number | 'hung';
  /** Webhook receiver only: whether the signature verified, and why not. */
  readonly verified?: boolean;
  readonly verifyFailure?: string;
}

/** How to misbehave on one request. */
export type Fault =
  | { readonly status: number; readonly retryAfter?: string | number; readonly body?: string }
  | { readonly hang: true };

/** What a `failMatching` rule sees of a request. */
export interface RequestView {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ReceiverControl {
  /** Recorded requests, oldest first (all receivers when none is named). */
  requests(receiver?: ReceiverName): RecordedRequest[];
  /** The next `count` requests get `fault` (default 500), then normal answers resume. */
  failNext(receiver: ReceiverName, count: number, fault?: Fault): void;
  /** Every request gets `fault` until reset. */
  failAlways(receiver: ReceiverName, fault?: Fault): void;
  /** Sugar: the next `count` requests get 429 with this Retry-After (seconds or an HTTP-date). */
  rateLimitNext(receiver: ReceiverName, count: number, retryAfter: string | number): void;
  /** Sugar: the next `count` requests are never answered (the caller's timeout fires). */
  hangNext(receiver: ReceiverName, count: number): void;
  /** Every request `match` accepts gets `fault` until reset (one poison message among good ones). */
  failMatching(receiver: ReceiverName, match: (request: RequestView) => boolean, fault?: Fault): void;
  /**
   * A text from `from` to the Twilio number, as Twilio posts it to the inbound webhook (signed): STOP makes
   * the stand-in refuse later sends to that number with 21610, as Twilio does; START lifts it. Resolves
   * with the webhook's HTTP status.
   */
  inbound(from: string, body: string): Promise<number>;
  /** Where inbound texts are posted (the service's `/v1/public/hooks/twilio/inbound`). */
  setInboundUrl(url: string): void;
  /** Status callbacks posted so far, with the answer each got. */
  callbacks(): ReadonlyArray<{ url: string; status: string; answer: number | 'error' }>;
  /** Back to normal answers (faults cleared; recorded requests kept). */
  reset(receiver?: ReceiverName): void;
  clearRequests(receiver?: ReceiverName): void;
}

export interface LocalReceivers {
  readonly urls: {
    /** The incoming-webhook URL to configure as SLACK_WEBHOOK_URL. */
    readonly slack: string;
    /** The Twilio API base to configure as TWILIO_API_BASE_URL. */
    readonly twilio: string;
    /** An endpoint to put in a contact's `webhookUrl`. */
    readonly webhook: string;
  };
  /** Variables that point the providers at these receivers (with matching local credentials). */
  readonly env: Readonly<Record<string, string>>;
  readonly control: ReceiverControl;
  stop(): Promise<void>;
}

export interface LocalReceiverOptions {
  /** HMAC key the webhook receiver verifies with (random when absent). */
  readonly webhookSecret?: string;
  readonly twilioAccountSid?: string;
  readonly twilioAuthToken?: string;
}

const E164 = /^\+[1-9]\d{6,14}$/;

interface ReceiverState {
  readonly requests: RecordedRequest[];
  readonly faults: Fault[];
  readonly rules: Array<{ match: (request: RequestView) => boolean; fault: Fault }>;
  always?: Fault;
}

type Answer = { status: number; headers?: Record<string, string>; body: string } | 'hang';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function json(status: number, value: unknown): HttpAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

function twilioError(status: number, code: number, message: string): HttpAnswer {
  return json(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

function faultAnswer(receiver: ReceiverName, fault: Fault): Answer {
  if ('hang' in fault) return 'hang';
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  if (fault.body !== undefined) return { status: fault.status, headers, body: fault.body };
  // Default bodies in each API's own style.
  if (receiver === 'slack') {
    headers['content-type'] = 'text/html';
    return { status: fault.status, headers, body: fault.status === 429 ? 'rate_limited' : 'rollup_error' };
  }
  if (receiver === 'twilio') {
    const limited = fault.status === 429;
    const answer = twilioError(
      fault.status,
      limited ? 20429 : 20500,
      limited ? 'Too Many Requests' : 'Internal Server Error',
    );
    return { ...answer, headers: { ...answer.headers, ...headers } };
  }
  return { status: fault.status, headers, body: fault.status === 429 ? 'slow down' : 'internal error' };
}

function slackAnswer(path: string, hookPath: string, body: string): Answer {
  const text = (status: number, word: string): Answer => ({
    status,
    headers: { 'content-type': 'text/html', 'x-slack-req-id': randomBytes(16).toString('hex') },
    body: word,
  });
  if (path !== hookPath) return text(404, 'no_service');
  try {
    const payload = JSON.parse(body) as { text?: unknown; blocks?: unknown };
    const hasText = typeof payload.text === 'string' && payload.text.trim() !== '';
    const hasBlocks = Array.isArray(payload.blocks) && payload.blocks.length > 0;
    return hasText || hasBlocks ? text(200, 'ok') : text(400, 'invalid_payload');
  } catch {
    return text(400, 'invalid_payload');
  }
}

/** Twilio's numbers that answered STOP, per stand-in: sends to them get 21610. */
type OptedOut = Set<string>;

function twilioAnswer(
  req: IncomingMessage,
  path: string,
  body: string,
  sid: string,
  token: string,
  optedOut: OptedOut,
): Answer {
  const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
  if (!match || req.method !== 'POST')
    return twilioError(404, 20404, `The requested resource ${path} was not found`);
  const expected = `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`;
  if (req.headers.authorization !== expected || decodeURIComponent(match[1] ?? '') !== sid) {
    return twilioError(401, 20003, 'Authenticate');
  }
  const form = new URLSearchParams(body);
  const to = form.get('To') ?? '';
  const from = form.get('From') ?? '';
  const text = form.get('Body') ?? '';
  const toNumber = to.replace(/^whatsapp:/, '');
  if (!E164.test(toNumber) || toNumber === TWILIO_INVALID_NUMBER) {
    return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
  }
  if (!from && !form.get('MessagingServiceSid'))
    return twilioError(400, 21603, "A 'From' phone number is required.");
  if (from && to.startsWith('whatsapp:') !== from.startsWith('whatsapp:')) {
    return twilioError(400, 21910, 'Invalid From and To pair. From and To should be of the same channel');
  }
  if (!text) return twilioError(400, 21602, 'Message body is required.');
  if (optedOut.has(to)) return twilioError(400, 21610, 'Attempt to send to unsubscribed recipient');
  const messageSid = `SM${randomBytes(16).toString('hex')}`;
  return json(201, {
    sid: messageSid,
    account_sid: sid,
    to,
    from,
    body: text,
    status: 'queued',
    direction: 'outbound-api',
    api_version: '2010-04-01',
    num_segments: '1',
    date_created: new Date().toUTCString().replace('GMT', '+0000'),
    uri: `/2010-04-01/Accounts/${sid}/Messages/${messageSid}.json`,
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export async function startLocalReceivers(options: LocalReceiverOptions = {}): Promise<LocalReceivers> {
  const webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(24).toString('base64')}`;
  const twilioSid = options.twilioAccountSid ?? `AC${randomBytes(16).toString('hex')}`;
  const twilioToken = options.twilioAuthToken ?? randomBytes(16).toString('hex');
  const slackHookPath = `/services/T00000000/B00000000/${randomUUID().replaceAll('-', '')}`;
  const webhookPath = '/hooks/session-recovery';

  const state = Object.fromEntries(
    RECEIVERS.map((r) => [r, { requests: [], faults: [], rules: [] } as ReceiverState]),
  ) as Record<ReceiverName, ReceiverState>;
  const hung = new Set<ServerResponse>();
  const optedOut: OptedOut = new Set();
  const callbackLog: Array<{ url: string; status: string; answer: number | 'error' }> = [];
  let inboundUrl: string | undefined;

  /** Posts a form to `url` signed as Twilio signs it (X-Twilio-Signature, HMAC-SHA1 of URL + params). */
  async function postSigned(url: string, params: Record<string, string>): Promise<number> {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(twilioToken, url, params),
        'user-agent': 'TwilioProxy/1.1',
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** As Twilio does after accepting a message with a StatusCallback: `sent`, then `delivered`. */
  function scheduleStatusCallbacks(requestBody: string, answerBody: string): void {
    const form = new URLSearchParams(requestBody);
    const callback = form.get('StatusCallback');
    if (!callback) return;
    const created = JSON.parse(answerBody) as { sid: string };
    const base = {
      MessageSid: created.sid,
      SmsSid: created.sid,
      AccountSid: twilioSid,
      From: form.get('From') ?? '',
      To: form.get('To') ?? '',
      ApiVersion: '2010-04-01',
    };
    void (async () => {
      for (const status of ['sent', 'delivered']) {
        await new Promise((r) => setTimeout(r, 50));
        const answer = await postSigned(callback, {
          ...base,
          MessageStatus: status,
          SmsStatus: status,
        }).catch(() => 'error' as const);
        callbackLog.push({ url: callback, status, answer });
      }
    })();
  }

  function makeServer(receiver: ReceiverName): Server {
    return createServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
        const s = state[receiver];
        const headers = headersOf(req);
        const view = { path, headers, body };
        const fault = s.always ?? s.rules.find((rule) => rule.match(view))?.fault ?? s.faults.shift();
        let answer: Answer;
        let verified: boolean | undefined;
        let verifyFailure: string | undefined;
        if (receiver === 'webhook') {
          // Verified even when a fault is scripted: a test can check what a failed delivery carried.
          const check = verifyWebhook(webhookSecret, headers, body);
          verified = check.valid;
          verifyFailure = check.valid ? undefined : check.reason;
        }
        if (fault) answer = faultAnswer(receiver, fault);
        else if (receiver === 'slack') answer = slackAnswer(path, slackHookPath, body);
        else if (receiver === 'twilio') {
          answer = twilioAnswer(req, path, body, twilioSid, twilioToken, optedOut);
          if (answer !== 'hang' && answer.status === 201) scheduleStatusCallbacks(body, answer.body);
        } else answer = verified ? json(200, { received: true }) : json(401, { error: verifyFailure });
        s.requests.push({
          receiver,
          method: req.method ?? 'GET',
          path,
          headers,
          body,
          at: new Date(),
          status: answer === 'hang' ? 'hung' : answer.status,
          verified,
          verifyFailure,
        });
        if (answer === 'hang') {
          hung.add(res);
          res.on('close', () => hung.delete(res));
          return;
        }
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body);
      })().catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`receiver error: ${String(error)}`);
      });
    });
  }

  const servers = Object.fromEntries(RECEIVERS.map((r) => [r, makeServer(r)])) as Record<
    ReceiverName,
    Server
  >;
  const ports = {} as Record<ReceiverName, number>;
  for (const r of RECEIVERS) ports[r] = await listen(servers[r]);

  const urls = {
    slack: `http://127.0.0.1:${ports.slack}${slackHookPath}`,
    twilio: `http://127.0.0.1:${ports.twilio}`,
    webhook: `http://127.0.0.1:${ports.webhook}${webhookPath}`,
  };
  const names = (receiver?: ReceiverName) => (receiver ? [receiver] : [...RECEIVERS]);
  const control: ReceiverControl = {
    requests: (receiver) =>
      names(receiver)
        .flatMap((r) => state[r].requests)
        .sort((a, b) => a.at.getTime() - b.at.getTime()),
    failNext: (receiver, count, fault = { status: 500 }) => {
      for (let i = 0; i < count; i++) state[receiver].faults.push(fault);
    },
    failAlways: (receiver, fault = { status: 500 }) => {
      state[receiver].always = fault;
    },
    failMatching: (receiver, match, fault = { status: 500 }) => {
      state[receiver].rules.push({ match, fault });
    },
    rateLimitNext: (receiver, count, retryAfter) =>
      control.failNext(receiver, count, { status: 429, retryAfter }),
    hangNext: (receiver, count) => control.failNext(receiver, count, { hang: true }),
    inbound: async (from, body) => {
      if (!inboundUrl) throw new Error('no inbound URL set (setInboundUrl)');
      const word = body.trim().toUpperCase();
      if (word === 'STOP') optedOut.add(from.replace(/^whatsapp:/, ''));
      if (word === 'START') optedOut.delete(from.replace(/^whatsapp:/, ''));
      return postSigned(inboundUrl, {
        MessageSid: `SM${randomBytes(16).toString('hex')}`,
        AccountSid: twilioSid,
        From: from,
        To: '+15005550006',
        Body: body,
        NumMedia: '0',
        ApiVersion: '2010-04-01',
      });
    },
    setInboundUrl: (url) => {
      inboundUrl = url;
    },
    callbacks: () => [...callbackLog],
    reset: (receiver) => {
      for (const r of names(receiver)) {
        state[r].faults.length = 0;
        state[r].rules.length = 0;
        state[r].always = undefined;
      }
    },
    clearRequests: (receiver) => {
      for (const r of names(receiver)) state[r].requests.length = 0;
    },
  };

  return {
    urls,
    env: {
      SLACK_WEBHOOK_URL: urls.slack,
      TWILIO_API_BASE_URL: urls.twilio,
      TWILIO_ACCOUNT_SID: twilioSid,
      TWILIO_AUTH_TOKEN: twilioToken,
      // Twilio's magic test "From" that always works with test credentials.
      SMS_FROM_NUMBER: '+15005550006',
      WHATSAPP_FROM_NUMBER: '+15005550006',
      WEBHOOK_SIGNING_SECRET: webhookSecret,
      WEBHOOK_ALLOW_HTTP: 'true',
    },
    control,
    stop: async () => {
      for (const res of hung) res.destroy();
      await Promise.all(
        RECEIVERS.map(
          (r) =>
            new Promise<void>((resolve) => {
              servers[r].closeAllConnections();
              servers[r].close(() => resolve());
            }),
        ),
      );
    },
  };
}
