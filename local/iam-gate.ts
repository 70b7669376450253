// Local IAM: a gate in front of the DynamoDB, SQS and SES emulators that judges every signed request by the
// access key that signed it. A function's key is held to that function's role policies as `cdk synth` builds
// them (./iam-policies.ts), evaluated by a real IAM evaluator (@cloud-copilot/iam-simulate); the operator's
// `local` key is an administrator. A refusal is the service's own AccessDenied error, naming the action and
// the resource, and the live log shows each distinct one once. The signature itself is not verified (the
// emulators never did): the gate decides who is asking, not whether they proved it.
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { Endpoints } from './emulators.ts';

/** Stands for the resource prefix (`local`, a test file's prefix) in resolved policies. */
export const PREFIX_PLACEHOLDER = '{{prefix}}';

export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Sid?: string;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: PolicyStatement[];
}

export interface FunctionPolicies {
  /** Function id → its role's policies (name → document), resolved with the prefix placeholder. */
  readonly functions: Record<string, Record<string, PolicyDocument>>;
  /** The function's physical name with the placeholder (`{{prefix}}-api`), by id. */
  readonly functionNames: Record<string, string>;
  readonly region: string;
  readonly account: string;
}

/** A policy with the prefix placeholder replaced by a local resource set's prefix. */
export function policiesForPrefix(
  policies: Record<string, PolicyDocument>,
  prefix: string,
): Record<string, PolicyDocument> {
  return JSON.parse(JSON.stringify(policies).replaceAll(PREFIX_PLACEHOLDER, prefix));
}

/** The operator's credentials: an administrator, as the AWS CLI and the test setup use them. */
export const OPERATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * A function's own local credentials: fixed per function id, so a person can paste them into the CLI. Letters
 * and digits only (`localSenderEmail`): DynamoDB Local refuses any other access key id.
 */
export function functionCredentials(functionId: string): LocalCredentials {
  const camel = functionId.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
  return { accessKeyId: `local${camel}`, secretAccessKey: `local-${functionId}-secret` };
}

/** The path on the gate's DynamoDB port where in-process stand-ins of AWS calls are judged (./iam-client.ts). */
export const AUTHORIZE_PATH = '/__local-iam/authorize';

/** One IAM decision needs every group to pass; a group passes when any of its resources is allowed. */
export interface Requirement {
  readonly action: string;
  /** Alternatives: SES authorizes a send on the address identity or on its domain identity. */
  readonly resources: readonly string[];
}

export interface Denial {
  readonly functionId: string;
  readonly action: string;
  readonly resource: string;
}

export interface IamDecision {
  readonly allowed: boolean;
  /** The refusal in AWS's words, when denied. */
  readonly message?: string;
  readonly denial?: Denial;
}

export interface IamGateOptions {
  readonly upstream: Endpoints;
  readonly policies: FunctionPolicies;
  /** Fixed ports for the gate (npm start's DYNAMODB_PORT…); 0 or absent picks free ones. */
  readonly ports?: { readonly dynamodb?: number; readonly sqs?: number; readonly ses?: number };
  /** Called once per distinct denial (function, action, resource). */
  readonly onDenied?: (denial: Denial) => void;
}

export interface IamGate {
  /** The gate's endpoints: what clients, the CLI and .local/endpoints.json use. */
  readonly endpoints: Endpoints;
  /** Judges an in-process stand-in of an AWS call (an async invoke, a secret read). */
  authorize(functionId: string, requirements: readonly Requirement[]): Promise<IamDecision>;
  /** Allowed decisions so far: function id → `action resource` (resources with the prefix placeholder). */
  usage(): Record<string, string[]>;
  denials(): Denial[];
  stop(): Promise<void>;
}

type Service = 'dynamodb' | 'sqs' | 'ses';

/** Who signed a request: the access key of its SigV4 Authorization header (or presigned query). */
export function accessKeyOf(req: { headers: IncomingMessage['headers']; url?: string }): string | undefined {
  const auth = req.headers.authorization;
  const fromHeader = typeof auth === 'string' ? /Credential=([^/,\s]+)\//.exec(auth)?.[1] : undefined;
  if (fromHeader) return fromHeader;
  const url = new URL(req.url ?? '/', 'http://x');
  return url.searchParams.get('X-Amz-Credential')?.split('/')[0] || undefined;
}

// ---------------------------------------------------------------------------------------------------------
// What a request asks for: its IAM action(s) and resource ARN(s).

interface Request {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

function json(body: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function form(req: Request): URLSearchParams | undefined {
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('x-www-form-urlencoded')) return new URLSearchParams(req.body.toString('utf8'));
  const query = new URL(req.path, 'http://x').searchParams;
  return query.has('Action') ? query : undefined;
}

const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

function dynamoRequirements(req: Request, region: string, account: string): Requirement[] | undefined {
  const target = String(req.headers['x-amz-target'] ?? '');
  const op = /^DynamoDB_\d+\.(\w+)$/.exec(target)?.[1];
  if (!op) return undefined;
  const body = json(req.body);
  const table = (name: unknown) => `arn:aws:dynamodb:${region}:${account}:table/${String(name)}`;
  const one = (action: string, resource: string): Requirement => ({
    action: `dynamodb:${action}`,
    resources: [resource],
  });
  switch (op) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys((body.RequestItems as Record<string, unknown>) ?? {}).map((t) => one(op, table(t)));
    case 'TransactWriteItems':
    case 'TransactGetItems':
      return ((body.TransactItems as Array<Record<string, { TableName?: string }>>) ?? []).flatMap((item) =>
        Object.entries(item).map(([kind, spec]) =>
          one(TRANSACT_ACTIONS[kind] ?? kind, table(spec.TableName)),
        ),
      );
    case 'ListTables':
      return [one(op, `arn:aws:dynamodb:${region}:${account}:table/*`)];
    default: {
      if (typeof body.TableName !== 'string') return [one(op, '*')];
      const index = (op === 'Query' || op === 'Scan') && typeof body.IndexName === 'string';
      return [
        one(op, index ? `${table(body.TableName)}/index/${String(body.IndexName)}` : table(body.TableName)),
      ];
    }
  }
}

/** IAM knows the batch calls by the single action they contain. */
const SQS_BATCH_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

function queueArn(url: string, region: string, account: string): string {
  // Not `new URL`: fauxqs's QueueUrls carry a host (`sqs.<region>.127.0.0.1:<port>`) no URL parser accepts.
  const parts = url
    .replace(/^[a-z]+:\/\/[^/]*/i, '')
    .split('?')[0]!
    .split('/')
    .filter(Boolean);
  const name = parts[parts.length - 1] ?? '';
  const owner = parts.length >= 2 ? parts[parts.length - 2] : account;
  return `arn:aws:sqs:${region}:${owner}:${name}`;
}

function sqsRequirements(req: Request, region: string, account: string): Requirement[] | undefined {
  const target = String(req.headers['x-amz-target'] ?? '');
  let op = /^AmazonSQS\.(\w+)$/.exec(target)?.[1];
  let params: { get(name: string): string | undefined };
  if (op) {
    const body = json(req.body);
    params = { get: (name) => (typeof body[name] === 'string' ? (body[name] as string) : undefined) };
  } else {
    const f = form(req);
    op = f?.get('Action') ?? undefined;
    if (!op || !f) return undefined;
    params = { get: (name) => f.get(name) ?? undefined };
  }
  const action = `sqs:${SQS_BATCH_ACTIONS[op] ?? op}`;
  const url = params.get('QueueUrl');
  const name = params.get('QueueName');
  const resource = url
    ? queueArn(url, region, account)
    : name
      ? `arn:aws:sqs:${region}:${account}:${name}`
      : `arn:aws:sqs:${region}:${account}:*`;
  return [{ action, resources: [resource] }];
}

function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const angle = /<([^>]+)>/.exec(value)?.[1];
  return (angle ?? value).trim().toLowerCase() || undefined;
}

function sesIdentityRequirement(action: string, from: string | undefined, region: string, account: string) {
  const address = addressOf(from) ?? '';
  const domain = address.split('@')[1] ?? address;
  const arn = (name: string) => `arn:aws:ses:${region}:${account}:identity/${name}`;
  return { action, resources: [arn(address), arn(domain)] };
}

function sesRequirements(req: Request, region: string, account: string): Requirement[] | undefined {
  const path = new URL(req.path, 'http://x').pathname;
  const configSet = (name: string | undefined): Requirement[] =>
    name
      ? [
          {
            action: 'ses:SendEmail',
            resources: [`arn:aws:ses:${region}:${account}:configuration-set/${name}`],
          },
        ]
      : [];
  if (path.startsWith('/v2/email/')) {
    if (path === '/v2/email/outbound-emails') {
      const body = json(req.body);
      const from = typeof body.FromEmailAddress === 'string' ? body.FromEmailAddress : undefined;
      const set = typeof body.ConfigurationSetName === 'string' ? body.ConfigurationSetName : undefined;
      return [sesIdentityRequirement('ses:SendEmail', from, region, account), ...configSet(set)];
    }
    return [{ action: 'ses:GetAccount', resources: ['*'] }];
  }
  const f = form(req);
  const op = f?.get('Action');
  if (!f || !op) return undefined;
  if (op === 'SendEmail' || op === 'SendRawEmail') {
    let from = f.get('Source') ?? undefined;
    if (!from && op === 'SendRawEmail') {
      const raw = Buffer.from(f.get('RawMessage.Data') ?? '', 'base64').toString('utf8');
      from = /^From:\s*(.+)$/im.exec(raw)?.[1];
    }
    const action = `ses:${op}`;
    const set = f.get('ConfigurationSetName') ?? undefined;
    return [
      sesIdentityRequirement(action, from, region, account),
      ...(set ? [{ action, resources: [`arn:aws:ses:${region}:${account}:configuration-set/${set}`] }] : []),
    ];
  }
  return [{ action: `ses:${op}`, resources: ['*'] }];
}

// ---------------------------------------------------------------------------------------------------------
// The answers AWS gives: each service's AccessDenied, in its protocol.

function deniedResponse(service: Service, req: Request, message: string): Answer {
  const requestId = randomUUID();
  if (service === 'dynamodb')
    return {
      status: 400,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
      body: JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message }),
    };
  const jsonProtocol = Boolean(req.headers['x-amz-target']);
  if (service === 'sqs' && jsonProtocol)
    return {
      status: 400,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': requestId,
        // SQS's JSON protocol keeps the query protocol's error code for query-compatible clients.
        'x-amzn-query-error': 'AccessDenied;Sender',
      },
      body: JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message }),
    };
  if (service === 'ses' && new URL(req.path, 'http://x').pathname.startsWith('/v2/'))
    return {
      status: 403,
      headers: {
        'content-type': 'application/json',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': 'AccessDeniedException',
      },
      body: JSON.stringify({ message }),
    };
  const xmlns =
    service === 'ses'
      ? 'http://ses.amazonaws.com/doc/2010-12-01/'
      : 'http://queue.amazonaws.com/doc/2012-11-05/';
  const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return {
    status: 403,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${escaped}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

// ---------------------------------------------------------------------------------------------------------
// The evaluator, with a cache: one simulation per (key, action, resource) per run.

/** The local resource set a resource belongs to: the part of its name before the first `-` or `/`. */
function prefixOf(resource: string): string {
  const name =
    /:table\/([^/]+)/.exec(resource)?.[1] ??
    /:secret:(.+)$/.exec(resource)?.[1] ??
    /:function:(.+)$/.exec(resource)?.[1] ??
    /^arn:aws:sqs:[^:]*:[^:]*:(.+)$/.exec(resource)?.[1] ??
    '';
  return /^[^-/]+/.exec(name)?.[0] ?? '';
}

export class IamEvaluator {
  private readonly decisions = new Map<string, Promise<boolean>>();
  private readonly prefixed = new Map<string, Record<string, PolicyDocument>>();
  private readonly keys: Map<string, string>;
  private readonly used = new Map<string, Set<string>>();

  constructor(readonly policies: FunctionPolicies) {
    this.keys = new Map(
      Object.keys(policies.functions).map((id) => [functionCredentials(id).accessKeyId, id]),
    );
  }

  functionOfKey(accessKeyId: string): string | undefined {
    return this.keys.get(accessKeyId);
  }

  /** The caller's ARN as AWS names it in a refusal: the function's assumed role session. */
  principal(functionId: string): string {
    return `arn:aws:sts::${this.policies.account}:assumed-role/${PREFIX_PLACEHOLDER}-${functionId}-role/${PREFIX_PLACEHOLDER}-${functionId}`;
  }

  async allowed(functionId: string, action: string, resource: string): Promise<boolean> {
    const key = `${functionId}\n${action}\n${resource}`;
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = this.simulate(functionId, action, resource);
      this.decisions.set(key, decision);
    }
    const ok = await decision;
    if (ok) {
      const prefix = prefixOf(resource);
      // Only the name's prefix: `local` may also appear elsewhere in an ARN.
      const general = prefix
        ? resource.replace(new RegExp(`([/:])${prefix}(?=[-/])`), `$1${PREFIX_PLACEHOLDER}`)
        : resource;
      const set = this.used.get(functionId) ?? new Set<string>();
      set.add(`${action} ${general}`);
      this.used.set(functionId, set);
    }
    return ok;
  }

  /** Every requirement met, or the first one that is not, in AWS's words. */
  async decide(functionId: string, requirements: readonly Requirement[]): Promise<IamDecision> {
    for (const req of requirements) {
      let ok = false;
      for (const resource of req.resources) {
        if (await this.allowed(functionId, req.action, resource)) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        const resource = req.resources[0] ?? '*';
        const prefix = prefixOf(resource) || 'local';
        const principal = this.principal(functionId).replaceAll(PREFIX_PLACEHOLDER, prefix);
        return {
          allowed: false,
          message: `User: ${principal} is not authorized to perform: ${req.action} on resource: ${resource} because no identity-based policy allows the ${req.action} action`,
          denial: { functionId, action: req.action, resource },
        };
      }
    }
    return { allowed: true };
  }

  usage(): Record<string, string[]> {
    return Object.fromEntries([...this.used].map(([fn, set]) => [fn, [...set].sort()]));
  }

  private async simulate(functionId: string, action: string, resource: string): Promise<boolean> {
    const docs = this.policies.functions[functionId];
    if (!docs) return false;
    const prefix = prefixOf(resource) || '-';
    const cacheKey = `${functionId}\n${prefix}`;
    let policies = this.prefixed.get(cacheKey);
    if (!policies) {
      policies = policiesForPrefix(docs, prefix);
      this.prefixed.set(cacheKey, policies);
    }
    const result = await runSimulation(
      {
        request: {
          principal: this.principal(functionId).replaceAll(PREFIX_PLACEHOLDER, prefix),
          action,
          resource: { resource, accountId: this.policies.account },
          // The keys AWS sets on every call of a Lambda's SDK client: HTTPS, the function's own account.
          contextVariables: {
            'aws:SecureTransport': 'true',
            'aws:RequestedRegion': this.policies.region,
            'aws:PrincipalAccount': this.policies.account,
          },
        },
        identityPolicies: Object.entries(policies).map(([name, policy]) => ({ name, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (result.resultType === 'error')
      throw new Error(`local IAM could not evaluate ${action}: ${result.errors.message}`);
    return result.overallResult === 'Allowed';
  }
}

// ---------------------------------------------------------------------------------------------------------
// The proxy.

function sendAnswer(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}

const REQUIREMENTS: Record<
  Service,
  (req: Request, region: string, account: string) => Requirement[] | undefined
> = {
  dynamodb: dynamoRequirements,
  sqs: sqsRequirements,
  ses: sesRequirements,
};

/** A refusal for a key that is neither the operator's nor a function's, as AWS answers an unknown key. */
function unknownKeyMessage(key: string): string {
  return `The security token included in the request is invalid: access key ${key} is neither the operator's (local) nor a function's (see .local/endpoints.json)`;
}

export async function startIamGate(options: IamGateOptions): Promise<IamGate> {
  const evaluator = new IamEvaluator(options.policies);
  const { region, account } = options.policies;
  const seen = new Set<string>();
  const denials: Denial[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const noteDenial = (d: Denial) => {
    const key = `${d.functionId} ${d.action} ${d.resource}`;
    if (seen.has(key)) return;
    seen.add(key);
    denials.push(d);
    options.onDenied?.(d);
  };
  const authorize = async (functionId: string, requirements: readonly Requirement[]) => {
    const decision = await evaluator.decide(functionId, requirements);
    if (decision.denial) noteDenial(decision.denial);
    return decision;
  };

  const serve = (service: Service) =>
    createServer((req, res) => {
      void (async () => {
        const body = Buffer.concat((await req.toArray()) as Buffer[]);
        const path = req.url ?? '/';
        if (service === 'dynamodb' && req.method === 'POST' && path === AUTHORIZE_PATH) {
          const ask = json(body) as { functionId?: string; requirements?: Requirement[] };
          const decision = await authorize(String(ask.functionId), ask.requirements ?? []);
          sendAnswer(res, {
            status: 200,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(decision),
          });
          return;
        }
        const key = accessKeyOf(req);
        // Unsigned requests (the SES store, health probes, CORS preflights) are no AWS call: pass them on.
        if (key && key !== OPERATOR_CREDENTIALS.accessKeyId) {
          const request: Request = { path, headers: req.headers, body };
          const functionId = evaluator.functionOfKey(key);
          if (!functionId) {
            sendAnswer(res, deniedResponse(service, request, unknownKeyMessage(key)));
            return;
          }
          const requirements = REQUIREMENTS[service](request, region, account);
          if (requirements) {
            const decision = await authorize(functionId, requirements);
            if (!decision.allowed) {
              sendAnswer(res, deniedResponse(service, request, decision.message ?? 'Access denied'));
              return;
            }
          }
        }
        forward(service, req, res, body);
      })().catch((error: unknown) => {
        if (!res.headersSent)
          sendAnswer(res, {
            status: 500,
            headers: { 'content-type': 'text/plain' },
            body: `iam gate: ${String(error)}`,
          });
        else res.destroy();
      });
    });

  const forward = (service: Service, req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const target = new URL(options.upstream[service]);
    const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent)
        sendAnswer(res, {
          status: 502,
          headers: { 'content-type': 'text/plain' },
          body: `iam gate: ${error.message}`,
        });
      else res.destroy();
    });
    upstream.end(body);
  };

  const servers: Server[] = [];
  const listen = async (service: Service, port: number | undefined) => {
    const server = serve(service);
    server.keepAliveTimeout = 5000;
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port ?? 0, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  try {
    const endpoints: Endpoints = {
      dynamodb: await listen('dynamodb', options.ports?.dynamodb),
      sqs: await listen('sqs', options.ports?.sqs),
      ses: await listen('ses', options.ports?.ses),
      region,
    };
    return {
      endpoints,
      authorize,
      usage: () => evaluator.usage(),
      denials: () => [...denials],
      stop: async () => {
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                s.closeAllConnections();
                s.close(() => resolve());
              }),
          ),
        );
        agent.destroy();
      },
    };
  } catch (error) {
    for (const s of servers) s.close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------
// In-process stand-ins of AWS calls (run now's and the fan-out's async invoke, secret reads) ask the gate too.

/** Judges a function's in-process stand-in of an AWS call; resolves to the decision. */
export type Authorizer = (functionId: string, requirements: readonly Requirement[]) => Promise<IamDecision>;

/** Everything allowed: LOCAL_IAM=off. */
export const ALLOW_ALL: Authorizer = async () => ({ allowed: true });

/** Asks the gate over HTTP (test workers run in other processes than the gate). */
export function remoteAuthorizer(gateDynamoDbUrl: string): Authorizer {
  return async (functionId, requirements) => {
    const res = await fetch(`${gateDynamoDbUrl}${AUTHORIZE_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ functionId, requirements }),
    });
    if (!res.ok) throw new Error(`the local IAM gate answered ${res.status}`);
    return (await res.json()) as IamDecision;
  };
}

/** AWS's refusal of an in-process call, with its words. */
export class AccessDeniedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccessDeniedException';
  }
}

/** Throws AccessDeniedError unless `functionId` may do `action` on `resource`. */
export async function requireAllowed(
  authorize: Authorizer,
  functionId: string,
  action: string,
  resource: string,
): Promise<void> {
  const decision = await authorize(functionId, [{ action, resources: [resource] }]);
  if (!decision.allowed) throw new AccessDeniedError(decision.message ?? `${action} on ${resource} denied`);
}
