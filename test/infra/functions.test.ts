// Every function runs the house defaults, and holds exactly the access its description in
// shared/infra/functions.ts implies: its own tables and indexes, queues, secrets (by name, only for enabled
// channels), never a wildcard on a data resource.
import { describe, expect, it } from 'vitest';
import {
  FUNCTION_DESCRIPTIONS,
  type FunctionDescription,
  jobFunctionEnvVar,
  LAMBDA_ENDPOINT_ENV,
  SECRETS,
  SETTINGS,
} from '../../shared/infra/functions.ts';
import { CHANNEL_QUEUES, JOB_DESCRIPTIONS, JOBS, TABLES } from '../../shared/infra/resources.ts';
import {
  ALL_CHANNELS_CONTEXT,
  type CfnTemplate,
  props,
  refOf,
  resourcesOfType,
  serviceFunctions,
  synth,
} from './synth.ts';

const enabled = synth(ALL_CHANNELS_CONTEXT, { routes: null });
const disabled = synth({}, { routes: null });
const { template, json } = enabled;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** An ARN expression as one string, references as `<LogicalId>`, so wildcards can be spotted. */
function flatten(resource: unknown): string {
  if (typeof resource === 'string') return resource;
  const ref = refOf(resource);
  if (ref) return `<${ref}>`;
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(flatten).join(join[0]);
  return JSON.stringify(resource);
}

function functionLogicalId(t: CfnTemplate, description: FunctionDescription): string {
  const found = resourcesOfType(t, 'AWS::Lambda::Function').find(
    ([, fn]) => props(fn).FunctionName === `session-recovery-dev-${description.id}`,
  );
  if (!found) throw new Error(`no function for ${description.id}`);
  return found[0];
}

/** Every Allow statement of the function's role, from all policies attached to it. */
function statementsOf(t: CfnTemplate, description: FunctionDescription): Statement[] {
  const fn = t.Resources[functionLogicalId(t, description)]!;
  const role = refOf(props(fn).Role);
  return resourcesOfType(t, 'AWS::IAM::Policy')
    .filter(([, p]) => props<{ Roles: unknown[] }>(p).Roles.some((r) => refOf(r) === role))
    .flatMap(([, p]) => props<{ PolicyDocument: { Statement: Statement[] } }>(p).PolicyDocument.Statement)
    .filter((s) => s.Effect === 'Allow');
}

function actionsOn(statements: Statement[], resourcePattern: RegExp): Set<string> {
  return new Set(
    statements
      .filter((s) => list(s.Resource).some((r) => resourcePattern.test(flatten(r))))
      .flatMap((s) => list(s.Action)),
  );
}

const tableLogicalId = (id: string) =>
  resourcesOfType(json, 'AWS::DynamoDB::Table').find(
    ([, t]) => props(t).TableName === `session-recovery-dev-${id}`,
  )![0];

describe('house defaults', () => {
  it('creates exactly the described functions, with their timeout and memory', () => {
    expect(serviceFunctions(json)).toHaveLength(FUNCTION_DESCRIPTIONS.length);
    for (const d of FUNCTION_DESCRIPTIONS) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `session-recovery-dev-${d.id}`,
        Timeout: d.timeoutSeconds,
        MemorySize: d.memoryMb,
      });
    }
  });

  it('runs every function on nodejs22.x or newer, arm64, with an explicit JSON log group', () => {
    for (const [id, fn] of serviceFunctions(json)) {
      const p = props<{ Runtime: string; Architectures: string[]; LoggingConfig: Record<string, unknown> }>(
        fn,
      );
      const major = Number(/^nodejs(\d+)\.x$/.exec(p.Runtime)?.[1]);
      expect(major, `${id} runtime ${p.Runtime}`).toBeGreaterThanOrEqual(22);
      expect(p.Architectures, id).toEqual(['arm64']);
      expect(p.LoggingConfig.LogFormat, id).toBe('JSON');
      expect(json.Resources[refOf(p.LoggingConfig.LogGroup) ?? '']?.Type, id).toBe('AWS::Logs::LogGroup');
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.resourceCountIs('Custom::LogRetention', 0);
  });

  it('lets exactly the two bounded self-loops (email pause gate, checkout timers) run past Lambda loop detection', () => {
    // Lambda stops a chain of a function sending to the queue it consumes after about 16 invocations.
    const allowed = FUNCTION_DESCRIPTIONS.filter((d) => d.selfLoop).map((d) => d.id);
    expect(allowed.sort()).toEqual(['ingest', 'sender-email']);
    for (const d of FUNCTION_DESCRIPTIONS) {
      expect(d.selfLoop?.bound ?? 'none', d.id).not.toBe('');
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `session-recovery-dev-${d.id}`,
        RecursiveLoop: allowed.includes(d.id) ? 'Allow' : 'Terminate',
      });
    }
    for (const [id, fn] of serviceFunctions(json))
      expect(['Allow', 'Terminate'], id).toContain(props<{ RecursiveLoop?: string }>(fn).RecursiveLoop);
  });

  it('sets source maps and the Powertools environment on every function', () => {
    for (const [id, fn] of serviceFunctions(json)) {
      expect(props<{ Environment: { Variables: unknown } }>(fn).Environment.Variables, id).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'session-recovery',
        POWERTOOLS_METRICS_NAMESPACE: 'SessionRecovery/dev',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
    }
  });

  it('gives each function the env var of every table and queue it is granted, and no other', () => {
    for (const d of FUNCTION_DESCRIPTIONS) {
      const fn = json.Resources[functionLogicalId(json, d)]!;
      const env = props<{ Environment: { Variables: Record<string, unknown> } }>(fn).Environment.Variables;
      for (const table of TABLES) {
        const granted = d.tables.some((g) => g.table === table.id);
        expect(table.envVar in env, `${d.id} ${table.envVar}`).toBe(granted);
      }
      for (const queue of CHANNEL_QUEUES) {
        const granted = d.queues.some((g) => g.channels.includes(queue.channel));
        expect(queue.envVar in env, `${d.id} ${queue.envVar}`).toBe(granted);
        expect(queue.dlqEnvVar in env, `${d.id} ${queue.dlqEnvVar}`).toBe(granted);
      }
      // Every optional setting is configured in this synth, so each appears exactly where described.
      for (const [key, envVar] of Object.entries(SETTINGS)) {
        const described = d.settings.includes(key as keyof typeof SETTINGS);
        expect(envVar in env, `${d.id} ${envVar}`).toBe(described);
      }
    }
  });

  it('passes structured settings as JSON the functions parse', () => {
    const monitor = FUNCTION_DESCRIPTIONS.find((d) => d.id === 'timeout-monitor')!;
    const env = props<{ Environment: { Variables: Record<string, string> } }>(
      json.Resources[functionLogicalId(json, monitor)]!,
    ).Environment.Variables;
    expect(env.MAX_LONG_RUNNING).toBe('5');
    expect(JSON.parse(env.OPS_ALERT_RECIPIENTS!)).toEqual({ email: ['ops@example.com'] });
  });
});

describe('least privilege', () => {
  const DATA_SERVICES = /^(dynamodb|sqs|sns|secretsmanager|ssm|ses|kms|s3):/;

  it('never allows a wildcard action, nor a wildcard resource for a data action', () => {
    const policies = [
      ...resourcesOfType(json, 'AWS::IAM::Policy'),
      ...resourcesOfType(disabled.json, 'AWS::IAM::Policy'),
    ];
    expect(policies.length).toBeGreaterThan(0);
    for (const [id, policy] of policies) {
      const statements = props<{ PolicyDocument: { Statement: Statement[] } }>(policy).PolicyDocument
        .Statement;
      for (const s of statements.filter((st) => st.Effect === 'Allow')) {
        const actions = list(s.Action);
        for (const action of actions) expect(action, id).not.toMatch(/^\*$|:\*$/);
        if (!actions.some((a) => DATA_SERVICES.test(a))) continue;
        for (const resource of list(s.Resource).map(flatten)) {
          // The one accepted pattern: a Secrets Manager name followed by its 6-character random suffix.
          const withoutSecretSuffix = resource.replace(/-\?\?\?\?\?\?$/, '');
          expect(withoutSecretSuffix, `${id}: ${actions.join(',')}`).not.toMatch(/\*|\?/);
        }
      }
    }
  });

  it('grants each function item access on exactly its tables, writes only where described', () => {
    for (const d of FUNCTION_DESCRIPTIONS) {
      const statements = statementsOf(json, d);
      for (const table of TABLES) {
        const grant = d.tables.find((g) => g.table === table.id);
        const actions = actionsOn(statements, new RegExp(`^<${tableLogicalId(table.id)}>$`));
        expect(actions.has('dynamodb:GetItem'), `${d.id} reads ${table.id}`).toBe(grant !== undefined);
        expect(actions.has('dynamodb:PutItem'), `${d.id} writes ${table.id}`).toBe(
          grant?.access === 'readwrite',
        );
        expect(actions.has('dynamodb:Scan'), `${d.id} scans ${table.id}`).toBe(false);
      }
    }
  });

  it('grants Query on exactly the indexes each function describes', () => {
    for (const d of FUNCTION_DESCRIPTIONS) {
      const granted = statementsOf(json, d)
        .flatMap((s) => list(s.Resource).map(flatten))
        .filter((r) => r.includes('/index/'))
        .map((r) => r.replace(/^<(\w+)>\/index\//, (_, table: string) => `${table}:`))
        .sort();
      const expected = d.tables
        .flatMap((g) => g.indexes.map((index) => `${tableLogicalId(g.table)}:${index}`))
        .sort();
      expect(granted, d.id).toEqual(expected);
    }
  });

  it('grants the indexes the code queries, found by local IAM: the API byRecipient, the monitor the outbox and not byStatus', () => {
    const indexesOf = (id: string) =>
      statementsOf(json, FUNCTION_DESCRIPTIONS.find((d) => d.id === id)!)
        .flatMap((s) => list(s.Resource).map(flatten))
        .filter((r) => r.includes('/index/'))
        .map((r) => r.replace(/^<(\w+?)Table\w*>\/index\//, (_, table: string) => `${table}:`))
        .sort();
    expect(indexesOf('api')).toContain('Sessions:byRecipient');
    expect(indexesOf('api-admin')).toContain('Sessions:byRecipient');
    expect(indexesOf('timeout-monitor')).toEqual(['Sessions:deadline', 'Timeline:outbox']);
  });

  it('lets a sender read only its own channel credentials, by name, and only the email sender send mail', () => {
    for (const d of FUNCTION_DESCRIPTIONS) {
      const statements = statementsOf(json, d);
      const secretResources = statements
        .filter((s) => list(s.Action).includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => list(s.Resource).map(flatten));
      const expected = d.secrets.map((id) => `:secret:session-recovery/dev/${SECRETS[id].suffix}-??????`);
      expect(
        secretResources.map((r) => r.slice(r.indexOf(':secret:'))),
        d.id,
      ).toEqual(expected);
      const fn = json.Resources[functionLogicalId(json, d)]!;
      const env = props<{ Environment: { Variables: Record<string, unknown> } }>(fn).Environment.Variables;
      for (const id of d.secrets)
        expect(env[SECRETS[id].envVar]).toBe(`session-recovery/dev/${SECRETS[id].suffix}`);
      const mail = statements.filter((s) => list(s.Action).some((a) => a.startsWith('ses:')));
      expect(mail.length > 0, d.id).toBe(d.sendsEmail);
      if (d.sendsEmail) {
        expect(
          mail
            .flatMap((s) => list(s.Resource).map(flatten))
            .map((r) => r.replace(/^.*:ses:<[^>]+>:<[^>]+>:/, ''))
            .sort(),
        ).toEqual([
          'configuration-set/session-recovery',
          'identity/example.com',
          'identity/notifications@example.com',
        ]);
      }
    }
  });

  it('names and grants no channel credentials at all while no channel is enabled', () => {
    for (const d of FUNCTION_DESCRIPTIONS) {
      const statements = statementsOf(disabled.json, d);
      const actions = statements.flatMap((s) => list(s.Action));
      expect(
        actions.filter((a) => a.startsWith('ses:')),
        d.id,
      ).toEqual([]);
      // The webhook keys of #14 belong to no channel: the ingest function reads them whatever is enabled.
      const channelFree = d.secrets.filter((id) => SECRETS[id].channels.length === 0);
      const secretResources = statements
        .filter((s) => list(s.Action).includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => list(s.Resource).map(flatten));
      expect(
        secretResources.map((r) => r.slice(r.indexOf(':secret:'))),
        d.id,
      ).toEqual(channelFree.map((id) => `:secret:session-recovery/dev/${SECRETS[id].suffix}-??????`));
    }
    for (const [id, fn] of serviceFunctions(disabled.json)) {
      const env = props<{ Environment: { Variables: Record<string, unknown> } }>(fn).Environment.Variables;
      expect(Object.keys(env), id).not.toContain('SLACK_WEBHOOK_SECRET_NAME');
    }
  });

  it('grants no action the code never sends (CDK grant helpers add them): iam-report found them unexercised', () => {
    // The SDK commands under shared/ and functions/ are Get/Put/Update/Delete/Query/TransactWrite (Put,
    // Update and Delete items only), SendMessage(Batch), ReceiveMessage, DeleteMessageBatch,
    // ChangeMessageVisibility(Batch), GetQueueAttributes (readiness, /admin/dlq) and an unqualified Invoke.
    const NEVER_SENT = [
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DescribeTable',
      'sqs:GetQueueUrl',
    ];
    for (const d of FUNCTION_DESCRIPTIONS) {
      // Act
      const statements = statementsOf(json, d);
      const actions = new Set(statements.flatMap((s) => list(s.Action)));
      // Assess
      for (const action of NEVER_SENT) expect(actions.has(action), `${d.id} ${action}`).toBe(false);
      // GetQueueAttributes: on-call's depths (api-admin), the monitor's DLQ depth gauge (#20) and the event
      // source mapping's poll (queue triggers).
      const readsAttributes =
        d.id === 'api-admin' ||
        d.id === 'timeout-monitor' ||
        d.trigger.kind === 'queue' ||
        d.trigger.kind === 'ingest';
      expect(actions.has('sqs:GetQueueAttributes'), `${d.id} GetQueueAttributes`).toBe(readsAttributes);
      const invoked = statements
        .filter((s) => list(s.Action).includes('lambda:InvokeFunction'))
        .flatMap((s) => list(s.Resource).map(flatten));
      for (const resource of invoked)
        expect(resource, `${d.id} invokes a version or alias`).not.toMatch(/:\*$/);
    }
  });

  it('lets the sweep send to every channel queue but consume none', () => {
    const sweep = FUNCTION_DESCRIPTIONS.find((d) => d.id === 'recovery-sweep')!;
    const actions = new Set(
      statementsOf(json, sweep)
        .filter((s) => list(s.Action).some((a) => a.startsWith('sqs:')))
        .flatMap((s) => list(s.Action)),
    );
    expect(actions.has('sqs:SendMessage')).toBe(true);
    expect(actions.has('sqs:ReceiveMessage')).toBe(false);
    expect(actions.has('sqs:DeleteMessage')).toBe(false);
  });

  it('lets api-admin invoke exactly the two job functions (run now), the sweep itself, and no other function invoke any', () => {
    const jobIds = new Set(
      JOBS.map((job) => functionLogicalId(json, FUNCTION_DESCRIPTIONS.find((d) => d.id === job)!)),
    );
    for (const d of FUNCTION_DESCRIPTIONS) {
      // Act
      const invoked = statementsOf(json, d)
        .filter((s) => list(s.Action).includes('lambda:InvokeFunction'))
        .flatMap((s) => list(s.Resource).map(flatten))
        .map((r) => r.replace(/^<(\w+)>(:\*)?$/, '$1'));
      const env = props<{ Environment: { Variables: Record<string, unknown> } }>(
        json.Resources[functionLogicalId(json, d)]!,
      ).Environment.Variables;
      // Assess: the sweep also invokes itself (its fan-out workers), by its ARN built from its name.
      const starts = d.startsJobs ?? [];
      const self = invoked.filter((r) =>
        /^arn:.*:lambda:.*:function:session-recovery-dev-recovery-sweep$/.test(r),
      );
      expect(self, d.id).toHaveLength(d.id === 'recovery-sweep' ? 1 : 0);
      expect(new Set(invoked.filter((r) => !self.includes(r))), d.id).toEqual(
        new Set(starts.map((job) => [...jobIds][JOBS.indexOf(job)])),
      );
      expect(LAMBDA_ENDPOINT_ENV in env, d.id).toBe(starts.length > 0 || d.id === 'recovery-sweep');
      for (const job of JOBS)
        expect(jobFunctionEnvVar(job) in env, `${d.id} ${job}`).toBe(starts.includes(job));
      for (const job of starts) {
        expect(refOf(env[jobFunctionEnvVar(job)]), `${d.id} names ${job}`).toBe(
          [...jobIds][JOBS.indexOf(job)],
        );
      }
    }
    expect(FUNCTION_DESCRIPTIONS.find((d) => d.id === 'api-admin')?.startsJobs).toEqual([...JOBS]);
  });
});

describe('job lease', () => {
  it('ends before the job function times out, so a killed run never keeps the next runs out', () => {
    for (const job of JOBS) {
      const d = FUNCTION_DESCRIPTIONS.find((f) => f.id === job)!;
      // Act
      const timeout = props<{ Timeout: number }>(json.Resources[functionLogicalId(json, d)]!).Timeout;
      // Assess
      expect(JOB_DESCRIPTIONS[job].leaseSeconds, job).toBeLessThan(timeout);
    }
  });
});
