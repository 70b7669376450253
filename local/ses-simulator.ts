// The SES stand-in's front: a small proxy before aws-ses-v2-local (which stores the mail) that does what
// SES itself does after accepting a message sent through a configuration set — publish its events — and
// honours SES's mailbox simulator addresses the way SES does:
//   success@simulator.amazonses.com          Send, Delivery
//   bounce@simulator.amazonses.com           Send, Bounce (Permanent, General; 5.1.1)
//   ooto@simulator.amazonses.com             Send, Delivery (the auto-reply goes to the sender, no event)
//   complaint@simulator.amazonses.com        Send, Delivery, Complaint (abuse)
//   suppressionlist@simulator.amazonses.com  Send, Bounce (Permanent, OnAccountSuppressionList)
//   any other address                        Send, Delivery
// Events are SES event records in their EventBridge envelope (`source: aws.ses`, detail-type `Email
// Bounced`, …), with the message tags, kept in order: GET /events?after=<seq> reads them (the local runtime
// polls it and hands each to the receipts handler; tests read the events of their own messages). GET
// /raw/<messageId> answers the MIME message as SES received it (aws-ses-v2-local keeps no headers).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const SIMULATOR_DOMAIN = 'simulator.amazonses.com';
const LOCAL_ACCOUNT = '000000000000';

export interface SimulatedEvent {
  readonly seq: number;
  /** Not before this time (ms since epoch): SES reports a delivery some time after the send. */
  readonly availableAt: number;
  readonly event: Record<string, unknown>;
}

interface SentMessage {
  readonly messageId: string;
  readonly source: string;
  readonly destinations: string[];
  readonly configurationSet?: string;
  readonly tags: Record<string, string[]>;
  readonly raw?: string;
}

type EventType = 'Send' | 'Delivery' | 'Bounce' | 'Complaint';
const DETAIL_TYPE: Record<EventType, string> = {
  Send: 'Email Sent',
  Delivery: 'Email Delivered',
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
};

/** What SES does with a message to `address` after accepting it. */
function simulatorOutcome(address: string): Array<{ type: EventType; subType?: string }> {
  const [local, domain] = address.toLowerCase().split('@');
  if (domain !== SIMULATOR_DOMAIN) return [{ type: 'Delivery' }];
  const base = (local ?? '').split('+')[0];
  switch (base) {
    case 'bounce':
      return [{ type: 'Bounce', subType: 'General' }];
    case 'suppressionlist':
      return [{ type: 'Bounce', subType: 'OnAccountSuppressionList' }];
    case 'complaint':
      return [{ type: 'Delivery' }, { type: 'Complaint' }];
    default:
      return [{ type: 'Delivery' }];
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The send a request makes, as far as events need it (v1 query protocol or v2 JSON). */
function sendOf(path: string, contentType: string, body: Buffer): Omit<SentMessage, 'messageId'> | undefined {
  if (path === '/v2/email/outbound-emails') {
    try {
      const json = JSON.parse(body.toString('utf8')) as {
        FromEmailAddress?: string;
        Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
        ConfigurationSetName?: string;
        EmailTags?: Array<{ Name: string; Value: string }>;
      };
      const d = json.Destination ?? {};
      return {
        source: json.FromEmailAddress ?? '',
        destinations: [...(d.ToAddresses ?? []), ...(d.CcAddresses ?? []), ...(d.BccAddresses ?? [])],
        configurationSet: json.ConfigurationSetName,
        tags: Object.fromEntries((json.EmailTags ?? []).map((t) => [t.Name, [t.Value]])),
      };
    } catch {
      return undefined;
    }
  }
  if (!contentType.includes('x-www-form-urlencoded')) return undefined;
  const form = new URLSearchParams(body.toString('utf8'));
  const action = form.get('Action');
  if (action !== 'SendRawEmail' && action !== 'SendEmail') return undefined;
  const destinations: string[] = [];
  const tags: Record<string, string[]> = {};
  for (const [k, value] of form) {
    if (/^(Destinations\.member|Destination\.(To|Cc|Bcc)Addresses\.member)\.\d+$/.test(k))
      destinations.push(value);
    const tag = /^Tags\.member\.(\d+)\.Name$/.exec(k);
    if (tag) tags[value] = [form.get(`Tags.member.${tag[1]}.Value`) ?? ''];
  }
  const rawData = form.get('RawMessage.Data');
  const raw = rawData ? Buffer.from(rawData, 'base64').toString('utf8') : undefined;
  if (destinations.length === 0 && raw) {
    const to = /^To:\s*(.+)$/im.exec(raw)?.[1];
    if (to) destinations.push(...to.split(',').map((s) => s.replace(/.*</, '').replace(/>.*/, '').trim()));
  }
  return {
    source: form.get('Source') ?? '',
    destinations,
    configurationSet: form.get('ConfigurationSetName') ?? undefined,
    tags,
    ...(raw ? { raw } : {}),
  };
}

function messageIdOf(text: string): string | undefined {
  return /<MessageId>([^<]+)<\/MessageId>/.exec(text)?.[1] ?? /"MessageId"\s*:\s*"([^"]+)"/.exec(text)?.[1];
}

export interface SesSimulator {
  readonly url: string;
  stop(): Promise<void>;
}

export interface SesSimulatorOptions {
  readonly port: number;
  /** aws-ses-v2-local's own URL. */
  readonly upstream: string;
  readonly region: string;
  /** Delay before a delivery, bounce or complaint becomes readable (default 200 ms). */
  readonly feedbackDelayMs?: number;
}

export async function startSesSimulator(options: SesSimulatorOptions): Promise<SesSimulator> {
  const events: SimulatedEvent[] = [];
  const raws = new Map<string, string>();
  const delay = options.feedbackDelayMs ?? 200;
  let seq = 0;

  function publish(message: SentMessage, sentAt: Date): void {
    if (!message.configurationSet) return; // SES publishes events only through a configuration set
    const domain = message.source.split('@')[1]?.replace(/>.*/, '') ?? '';
    const mail = {
      timestamp: sentAt.toISOString(),
      source: message.source,
      sourceArn: `arn:aws:ses:${options.region}:${LOCAL_ACCOUNT}:identity/${domain}`,
      sendingAccountId: LOCAL_ACCOUNT,
      messageId: message.messageId,
      destination: message.destinations,
      headersTruncated: false,
      tags: {
        'ses:configuration-set': [message.configurationSet],
        'ses:source-ip': ['127.0.0.1'],
        'ses:from-domain': [domain],
        'ses:caller-identity': ['local'],
        ...message.tags,
      },
    };
    const push = (type: EventType, extra: Record<string, unknown>, after: number) => {
      const at = new Date(sentAt.getTime() + after);
      events.push({
        seq: ++seq,
        availableAt: at.getTime(),
        event: {
          version: '0',
          id: randomUUID(),
          'detail-type': DETAIL_TYPE[type],
          source: 'aws.ses',
          account: LOCAL_ACCOUNT,
          time: at.toISOString(),
          region: options.region,
          resources: [
            `arn:aws:ses:${options.region}:${LOCAL_ACCOUNT}:configuration-set/${message.configurationSet}`,
          ],
          detail: { eventType: type, mail, ...extra },
        },
      });
    };
    push('Send', { send: {} }, 0);
    for (const recipient of message.destinations) {
      let after = delay;
      for (const step of simulatorOutcome(recipient)) {
        const at = new Date(sentAt.getTime() + after).toISOString();
        if (step.type === 'Delivery')
          push(
            'Delivery',
            {
              delivery: {
                timestamp: at,
                processingTimeMillis: after,
                recipients: [recipient],
                smtpResponse: '250 2.6.0 Message received',
                reportingMTA: 'a8-1.smtp-out.amazonses.com',
              },
            },
            after,
          );
        else if (step.type === 'Bounce')
          push(
            'Bounce',
            {
              bounce: {
                bounceType: 'Permanent',
                bounceSubType: step.subType,
                bouncedRecipients: [
                  step.subType === 'OnAccountSuppressionList'
                    ? {
                        emailAddress: recipient,
                        action: 'failed',
                        diagnosticCode:
                          'Amazon SES did not send the message to this address because it is on the suppression list for your account.',
                      }
                    : {
                        emailAddress: recipient,
                        action: 'failed',
                        status: '5.1.1',
                        diagnosticCode: 'smtp; 550 5.1.1 user unknown',
                      },
                ],
                timestamp: at,
                feedbackId: `${message.messageId}-${randomUUID()}`,
                reportingMTA: 'dns; amazonses.com',
              },
            },
            after,
          );
        else
          push(
            'Complaint',
            {
              complaint: {
                complainedRecipients: [{ emailAddress: recipient }],
                timestamp: at,
                feedbackId: `${message.messageId}-${randomUUID()}`,
                userAgent: 'Amazon SES Mailbox Simulator',
                complaintFeedbackType: 'abuse',
                arrivalDate: at,
              },
            },
            after,
          );
        after += delay;
      }
    }
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'GET' && url.pathname === '/events') {
        const after = Number(url.searchParams.get('after') ?? 0) || 0;
        const now = Date.now();
        const ready = events.filter((e) => e.seq > after && e.availableAt <= now);
        // Only a prefix: an event still waiting holds back those after it, so `after` never skips one.
        const firstWaiting =
          events.find((e) => e.seq > after && e.availableAt > now)?.seq ?? Number.POSITIVE_INFINITY;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ events: ready.filter((e) => e.seq < firstWaiting) }));
        return;
      }
      const raw = /^\/raw\/(.+)$/.exec(url.pathname);
      if (req.method === 'GET' && raw) {
        const text = raws.get(decodeURIComponent(raw[1] ?? ''));
        res.writeHead(text ? 200 : 404, { 'content-type': 'message/rfc822' });
        res.end(text ?? '');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      const upstream = await fetch(`${options.upstream}${req.url ?? '/'}`, {
        method: req.method,
        headers,
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: new Uint8Array(body) }),
      });
      const text = await upstream.text();
      if (upstream.ok) {
        const send = sendOf(url.pathname, req.headers['content-type'] ?? '', body);
        const messageId = send && messageIdOf(text);
        if (send && messageId) {
          if (send.raw) raws.set(messageId, send.raw);
          publish({ ...send, messageId }, new Date());
        }
      }
      const out: Record<string, string> = {};
      upstream.headers.forEach((value, key) => {
        if (key !== 'content-length' && key !== 'transfer-encoding' && key !== 'connection') out[key] = value;
      });
      res.writeHead(upstream.status, out);
      res.end(text);
    })().catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`ses simulator: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads the simulator's events after `after` (in order); for the local runtime's poller and tests. */
export async function readSimulatedEvents(sesUrl: string, after = 0): Promise<SimulatedEvent[]> {
  const res = await fetch(`${sesUrl}/events?after=${after}`);
  if (!res.ok) throw new Error(`ses simulator answered ${res.status}`);
  const body = (await res.json()) as { events: SimulatedEvent[] };
  return body.events;
}
