// Bundle size and cold import time of every function, bundled as CDK bundles it, next to a baseline
// bundle holding only the DynamoDB document client and the Powertools logger. Init is the median over
// 20 fresh `node` processes that import the bundle, minus the same median for an empty module.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../../local/local-env.ts';
import { LAMBDA_ESBUILD_OPTIONS } from '../../shared/infra/bundling.ts';
import { FUNCTION_DESCRIPTIONS } from '../../shared/infra/functions.ts';
import type { Figure } from './run.ts';

const RUNS = 20;

export const BASELINE_SOURCE = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
const logger = new Logger({ serviceName: 'baseline' });
const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async () => { logger.info('baseline'); return ddb.config.region; };
`;

async function bundle(entry: string | { source: string }, outfile: string): Promise<number> {
  await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : {
          stdin: {
            contents: entry.source,
            resolveDir: REPO_ROOT,
            loader: 'ts' as const,
            sourcefile: 'baseline.ts',
          },
        }),
    ...LAMBDA_ESBUILD_OPTIONS,
    mainFields: [...LAMBDA_ESBUILD_OPTIONS.mainFields],
    outfile,
    absWorkingDir: REPO_ROOT,
  });
  return statSync(outfile).size;
}

/** Median milliseconds from process start of the import to its end, over RUNS fresh processes. */
function importMedianMs(file: string, env: NodeJS.ProcessEnv): number {
  const script = `const t=process.hrtime.bigint();import(${JSON.stringify(file)}).then(()=>process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6)))`;
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    samples.push(Number(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })));
  }
  samples.sort((a, b) => a - b);
  return ((samples[RUNS / 2 - 1] ?? 0) + (samples[RUNS / 2] ?? 0)) / 2;
}

export async function bench(log: (line: string) => void): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bundles-'));
  mkdirSync(dir, { recursive: true });
  // What a deployed function finds in its env at cold start (values are placeholders; nothing is called).
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SESSIONS_TABLE: 'sessions',
    TIMELINE_TABLE: 'timeline',
    CONTROL_TABLE: 'control',
    POWERTOOLS_SERVICE_NAME: 'session-recovery',
    // Names the stack sets that the API functions check at init (#11): the cursor key's secret, and run
    // now's Lambda endpoint and job functions.
    CURSOR_KEY_SECRET_NAME: 'session-recovery-cursor-key',
    LAMBDA_ENDPOINT: 'https://lambda.us-east-1.amazonaws.com',
    JOB_FUNCTION_RECOVERY_SWEEP: 'session-recovery-recovery-sweep',
    JOB_FUNCTION_TIMEOUT_MONITOR: 'session-recovery-timeout-monitor',
    // Receipts (#13) and ingest (#14).
    PUBLIC_BASE_URL: 'https://api.example.com/v1',
    UNSUBSCRIBE_KEY_SECRET_NAME: 'session-recovery-unsubscribe-key',
    TWILIO_SECRET_NAME: 'session-recovery-twilio',
    STRIPE_WEBHOOK_SECRET_NAME: 'session-recovery-stripe',
    SHOPIFY_WEBHOOK_SECRET_NAME: 'session-recovery-shopify',
    CHECKOUT_TIMER_QUEUE_URL:
      'https://sqs.us-east-1.amazonaws.com/123456789012/session-recovery-checkout-timers',
  };
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, 'export {};\n');
  const emptyMs = importMedianMs(empty, env);
  const baselineKb = (await bundle({ source: BASELINE_SOURCE }, join(dir, 'baseline.mjs'))) / 1024;
  const baselineMs = importMedianMs(join(dir, 'baseline.mjs'), env) - emptyMs;
  log(
    `baseline: ${baselineKb.toFixed(0)} KB, ${baselineMs.toFixed(1)} ms (empty module ${emptyMs.toFixed(1)} ms)`,
  );
  const figures: Figure[] = [
    { name: 'bundle_kb_baseline', value: baselineKb, unit: 'KB' },
    { name: 'cold_init_ms_baseline', value: baselineMs, unit: 'ms' },
  ];
  for (const fn of FUNCTION_DESCRIPTIONS) {
    const out = join(dir, `${fn.id}.mjs`);
    const kb = (await bundle(join(REPO_ROOT, fn.entry), out)) / 1024;
    const ms = importMedianMs(out, env) - emptyMs;
    log(
      `${fn.id}: ${kb.toFixed(0)} KB (${(kb / baselineKb).toFixed(2)}×), ${ms.toFixed(1)} ms (${(ms / baselineMs).toFixed(2)}×)`,
    );
    figures.push({ name: `bundle_kb_${fn.id}`, value: kb, unit: 'KB' });
    figures.push({ name: `cold_init_ms_${fn.id}`, value: ms, unit: 'ms' });
  }
  return figures;
}
