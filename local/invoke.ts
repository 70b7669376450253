// `npm run invoke -- <function> <event.json>`: runs one Lambda handler once, exactly as deployed
// (its module reads its env at import), against the local emulators with a sample event from events/.
// Uses the running `npm start` when there is one; otherwise starts emulators for this one call.
import './quiet-env.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { createSqsClient } from '../shared/aws/clients.ts';
import { FUNCTION_DESCRIPTIONS as FUNCTIONS } from '../shared/infra/functions.ts';
import { startEmulators } from './emulators.ts';
import { functionEnv, REPO_ROOT, readRunningLocalState } from './local-env.ts';
import { startLocalReceivers } from './receivers.ts';
import { createResources } from './resources.ts';

const [name, eventPath] = process.argv.slice(2);
const known = FUNCTIONS.map((f) => f.id);
if (!name || !eventPath || !known.includes(name)) {
  process.stderr.write(
    `usage: npm run invoke -- <function> <event.json>\nfunctions: ${known.join(', ')}\nsample events: events/\n`,
  );
  process.exit(2);
}
const fn = FUNCTIONS.find((f) => f.id === name)!;
let event: unknown;
try {
  event = JSON.parse(readFileSync(resolve(eventPath), 'utf8'));
} catch (error) {
  process.stderr.write(
    `cannot read the event ${eventPath}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(2);
}

const cleanups: Array<() => Promise<void>> = [];
const running = readRunningLocalState();
let env: Record<string, string>;
if (running) {
  process.stderr.write(`using the running npm start (pid ${running.pid})\n`);
  env = running.env;
} else {
  process.stderr.write('no npm start running: starting emulators for this call…\n');
  const emulators = await startEmulators({ log: (l) => process.stderr.write(`  ${l}\n`) });
  cleanups.push(() => emulators.stop());
  const names = await createResources(emulators.endpoints, createSqsClient(emulators.endpoints), 'invoke');
  const receivers = await startLocalReceivers();
  cleanups.push(() => receivers.stop());
  env = {
    ...functionEnv(emulators.endpoints, names),
    ...receivers.env,
    ENABLED_CHANNELS: 'email,slack,sms,whatsapp,webhook',
    SES_FROM_ADDRESS: 'recovery@example.com',
    SMS_FROM_NUMBER: '+15005550006',
    WHATSAPP_FROM_NUMBER: '+15005550006',
    WEBHOOK_ALLOW_HTTP: 'true',
  };
}
Object.assign(process.env, env, {
  POWERTOOLS_SERVICE_NAME: 'session-recovery',
  POWERTOOLS_LOG_LEVEL: process.env.LOG_LEVEL ?? 'INFO',
});

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: `local-${fn.id}`,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${env.AWS_REGION ?? 'us-east-1'}:000000000000:function:local-${fn.id}`,
  memoryLimitInMB: String(fn.memoryMb),
  awsRequestId: crypto.randomUUID(),
  logGroupName: `/aws/lambda/local-${fn.id}`,
  logStreamName: 'local',
  getRemainingTimeInMillis: () => fn.timeoutSeconds * 1000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

let code = 0;
try {
  const mod = (await import(pathToFileURL(resolve(REPO_ROOT, fn.entry)).href)) as {
    handler: (event: unknown, context: Context) => Promise<unknown>;
  };
  const result = await mod.handler(event, context);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} catch (error) {
  code = 1;
  process.stderr.write(
    `handler threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}
process.exit(code);
