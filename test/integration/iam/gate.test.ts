// Local IAM's gate: each function's key held to its synthesized role, the operator's key an administrator,
// refusals in each service's own error shape, and the AWS CLI (Python botocore) judged like the SDK.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient, SendRawEmailCommand } from '@aws-sdk/client-ses';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { functionCredentials, OPERATOR_CREDENTIALS } from '../../../local/iam-gate.ts';
import { normaliseRecipient, recipientKeyOf } from '../../../shared/domain/recipient-key.ts';
import { registerSession } from '../../../shared/usecases/sessions.ts';
import { body, startTestApi, type TestApi } from '../../api/support.ts';

const run = promisify(execFile);

let api: TestApi;
const endpoints = inject('endpoints');
const region = endpoints.region;

function aws(credentials: { accessKeyId: string; secretAccessKey: string }, args: string[]) {
  return run('aws', [...args, '--region', region, '--output', 'json'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }),
  );
}

beforeAll(async () => {
  api = await startTestApi();
  return () => api.stop();
});

describe('local IAM is on for the tests', () => {
  it('runs the test suite under the gate (LOCAL_IAM=off is the only way out)', () => {
    expect(inject('localIam')).toBe(process.env.LOCAL_IAM === 'off' ? 'off' : 'enforced');
  });
});

describe.runIf(inject('localIam') === 'enforced')('the gate', () => {
  const emailSender = functionCredentials('sender-email');

  it("refuses a function's call its role does not grant with DynamoDB's AccessDeniedException, naming action and resource", async () => {
    // Prepare
    const ddb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials: emailSender });
    // Act
    const error = await ddb.send(new DeleteTableCommand({ TableName: api.ctx.tables.sessions })).then(
      () => undefined,
      (e: unknown) => e as Error & { $metadata: { httpStatusCode: number } },
    );
    // Assess
    expect(error?.name).toBe('AccessDeniedException');
    expect(error?.$metadata.httpStatusCode).toBe(400);
    expect(error?.message).toContain('is not authorized to perform: dynamodb:DeleteTable on resource: ');
    expect(error?.message).toContain(`:table/${api.ctx.tables.sessions}`);
  });

  it("refuses SQS's AccessDenied (JSON protocol) for a queue the function may not send to", async () => {
    // Prepare
    const sqs = new SQSClient({ endpoint: endpoints.sqs, region, credentials: emailSender });
    // Act
    const error = await sqs
      .send(new SendMessageCommand({ QueueUrl: api.ctx.queues.sms.url, MessageBody: '{}' }))
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    // Assess
    expect(error?.name).toBe('AccessDenied');
    expect(error?.message).toMatch(
      /not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:\S*-sms /,
    );
  });

  it("refuses SES's AccessDenied (v1 query XML and v2 JSON) for an identity that is not the sender's", async () => {
    // Prepare: the email sender may send from its own identity only; the webhook sender may not send at all.
    const ses = new SESClient({ endpoint: endpoints.ses, region, credentials: emailSender, maxAttempts: 1 });
    const raw = (from: string) =>
      new SendRawEmailCommand({
        Source: from,
        Destinations: ['someone@example.org'],
        RawMessage: { Data: Buffer.from(`From: ${from}\r\nTo: someone@example.org\r\nSubject: x\r\n\r\nx`) },
      });
    // Act
    const foreign = await ses.send(raw('ceo@elsewhere.example')).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const v2 = await fetch(`${endpoints.ses}/v2/email/outbound-emails`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `AWS4-HMAC-SHA256 Credential=${functionCredentials('sender-webhook').accessKeyId}/20260101/${region}/ses/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify({
        FromEmailAddress: 'recovery@example.com',
        Destination: { ToAddresses: ['a@example.org'] },
      }),
    });
    // Assess
    expect(foreign?.name).toBe('AccessDenied');
    expect(foreign?.message).toContain('ses:SendRawEmail on resource: arn:aws:ses:');
    expect(foreign?.message).toContain('identity/ceo@elsewhere.example');
    expect(v2.status).toBe(403);
    expect(v2.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    expect(((await v2.json()) as { message: string }).message).toContain('ses:SendEmail on resource:');
  });

  it("lets the email sender send from its own identity through the stack's configuration set", async () => {
    // Prepare
    const ses = new SESClient({ endpoint: endpoints.ses, region, credentials: emailSender, maxAttempts: 1 });
    // Act
    const sent = await ses.send(
      new SendRawEmailCommand({
        Source: 'recovery@example.com',
        Destinations: ['someone@example.org'],
        ConfigurationSetName: 'session-recovery-local',
        RawMessage: {
          Data: Buffer.from('From: recovery@example.com\r\nTo: someone@example.org\r\nSubject: x\r\n\r\nx'),
        },
      }),
    );
    // Assess
    expect(sent.MessageId).toBeTruthy();
  });

  it('lets the operator key through as an administrator (create and delete a table)', async () => {
    // Prepare
    const ddb = new DynamoDBClient({
      endpoint: endpoints.dynamodb,
      region,
      credentials: OPERATOR_CREDENTIALS,
    });
    const TableName = `${api.ctx.tables.control}-scratch`;
    // Act
    await ddb.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const deleted = await ddb.send(new DeleteTableCommand({ TableName }));
    // Assess
    expect(deleted.TableDescription?.TableName).toBe(TableName);
  });

  it('refuses a key that is neither the operator nor a function', async () => {
    const ddb = new DynamoDBClient({
      endpoint: endpoints.dynamodb,
      region,
      credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' },
    });
    const error = await ddb.send(new DeleteTableCommand({ TableName: api.ctx.tables.sessions })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('AccessDeniedException');
    expect(error?.message).toContain('AKIDSTRANGER');
  });

  it('judges in-process stand-ins: api-admin may invoke the job functions, the api function may not', async () => {
    // Prepare
    const sweepArn = `arn:aws:lambda:${region}:000000000000:function:${api.ctx.tables.sessions.replace(/-sessions$/, '')}-recovery-sweep`;
    const ask = (fn: string) =>
      fetch(`${endpoints.dynamodb}/__local-iam/authorize`, {
        method: 'POST',
        body: JSON.stringify({
          functionId: fn,
          requirements: [{ action: 'lambda:InvokeFunction', resources: [sweepArn] }],
        }),
      }).then((r) => r.json() as Promise<{ allowed: boolean; message?: string }>);
    // Act
    const admin = await ask('api-admin');
    const plain = await ask('api');
    // Assess
    expect(admin.allowed).toBe(true);
    expect(plain.allowed).toBe(false);
    expect(plain.message).toContain(`lambda:InvokeFunction on resource: ${sweepArn}`);
  });
});

describe.runIf(inject('localIam') === 'enforced')('the AWS CLI under local IAM', () => {
  beforeAll(async () => {
    // Never a silent skip: without the CLI these tests fail here, saying so (.ci/run checks it first).
    await run('aws', ['--version']).catch((error: unknown) => {
      throw new Error(`the AWS CLI (aws) is needed by these tests and could not run: ${String(error)}`);
    });
  });

  it("refuses sender-email's keys a delete-table of the sessions table and a send-message to the SMS queue", async () => {
    // Prepare
    const keys = functionCredentials('sender-email');
    // Act
    const del = await aws(keys, [
      'dynamodb',
      'delete-table',
      '--table-name',
      api.ctx.tables.sessions,
      '--endpoint-url',
      endpoints.dynamodb,
    ]);
    const send = await aws(keys, [
      'sqs',
      'send-message',
      '--queue-url',
      api.ctx.queues.sms.url,
      '--message-body',
      'x',
      '--endpoint-url',
      endpoints.sqs,
    ]);
    // Assess
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain('AccessDeniedException');
    expect(del.stderr).toContain('dynamodb:DeleteTable');
    expect(send.code).not.toBe(0);
    expect(send.stderr).toMatch(/AccessDenied/);
    expect(send.stderr).toContain('sqs:SendMessage');
  });

  it("lets api's keys Query the byRecipient index, and GET /v1/sessions?recipient= answers 200", async () => {
    // Prepare
    await registerSession(
      api.ctx,
      {
        sessionId: 'cli-lookup-1',
        kind: 'checkout',
        status: 'stalled',
        contact: { email: 'cli.lookup@example.com' },
        recoveryUrl: 'https://shop.example.com/r/cli-lookup-1',
      },
      { triggeredBy: 'test' },
    );
    const key = recipientKeyOf(normaliseRecipient('cli.lookup@example.com')!);
    // Act
    const query = await aws(functionCredentials('api'), [
      'dynamodb',
      'query',
      '--table-name',
      api.ctx.tables.sessions,
      '--index-name',
      'byRecipient',
      '--key-condition-expression',
      'recipientKey = :k',
      '--expression-attribute-values',
      JSON.stringify({ ':k': { S: key } }),
      '--endpoint-url',
      endpoints.dynamodb,
    ]);
    const res = await api.call('GET', '/v1/sessions?recipient=cli.lookup@example.com');
    // Assess
    expect(query.stderr).toBe('');
    expect((JSON.parse(query.stdout) as { Count: number }).Count).toBe(1);
    expect(res.status).toBe(200);
    expect(body<{ items: Array<{ sessionId: string }> }>(res).items.map((s) => s.sessionId)).toEqual([
      'cli-lookup-1',
    ]);
  });
});
