// `npm run events -- send <file…> [--fresh]` (#14): puts product events through the same mapping and the same
// apply path as the ingest function's EventBridge rules, against a running `npm start` (or the deployment
// the environment names, like the ops CLI). Each file holds an EventBridge event or an array of them, e.g. the
// fixtures in events/ (Stripe and Shopify partner events, our generic session events). `--fresh` gives each
// event a new id and the current time, so a fixture can be sent again as a new event; without it a second
// send is a repeat, and changes nothing.
import './quiet-env.ts';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { handleBusEvent } from '../shared/events/handlers.ts';
import type { IngestDeps } from '../shared/events/ingest.ts';
import { DEFAULT_ABANDON_AFTER_MINUTES } from '../shared/events/shopify.ts';
import { queueTimers } from '../shared/events/timers.ts';
import { EVENT_QUEUES, SESSIONS_TABLE } from '../shared/infra/resources.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';
import { describeIngestLine } from './ingest.ts';
import { readRunningLocalState } from './local-env.ts';

const USAGE = `usage: npm run events -- send <file.json>… [--fresh]

Each file holds one EventBridge event or an array of them (see events/*.json: stripe-*, shopify-*,
session-*). They go through the same mapping and ledger as the ingest function: a repeat is a no-op,
an older event is stale. --fresh gives every event a new id and the current time first.
The target is a running \`npm start\`, or the tables named by the environment (${SESSIONS_TABLE.envVar}, …).`;

type Json = Record<string, unknown>;

/** A new id and the current time, wherever the event's family keeps them. */
function freshen(event: Json): Json {
  const suffix = randomBytes(5).toString('hex');
  const now = new Date();
  const copy = structuredClone(event);
  copy.id = randomBytes(16).toString('hex');
  copy.time = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const detail = copy.detail as Json | undefined;
  if (!detail) return copy;
  const source = String(copy.source ?? '');
  if (source.startsWith('aws.partner/stripe.com/')) {
    detail.id = `${String(detail.id)}_${suffix}`;
    detail.created = Math.floor(now.getTime() / 1000);
  } else if (source.startsWith('aws.partner/shopify.com/')) {
    const metadata = detail.metadata as Json;
    metadata['X-Shopify-Event-Id'] = `${String(metadata['X-Shopify-Event-Id'])}-${suffix}`;
    metadata['X-Shopify-Triggered-At'] = now.toISOString();
  } else {
    if (detail.id) detail.id = `${String(detail.id)}-${suffix}`;
    if (detail.time) detail.time = now.toISOString();
  }
  return copy;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { fresh: { type: 'boolean' }, help: { type: 'boolean' } },
    allowPositionals: true,
  });
  const [command, ...files] = positionals;
  if (values.help || command !== 'send' || files.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const local = process.env[SESSIONS_TABLE.envVar] ? undefined : readRunningLocalState();
  if (!process.env[SESSIONS_TABLE.envVar] && !local) {
    process.stderr.write('no running npm start found (and no tables in the environment): start it first\n');
    return 1;
  }
  const env = { ...process.env, ...(local?.env ?? {}) };
  const ctx = contextWithSettingsFromEnv(env);
  const timerQueue = env[EVENT_QUEUES.timers.envVar];
  const deps: IngestDeps = {
    ...(timerQueue ? { timers: queueTimers(ctx, timerQueue) } : {}),
    abandonAfterMinutes: Number(env.SHOPIFY_ABANDON_AFTER_MINUTES ?? DEFAULT_ABANDON_AFTER_MINUTES),
    onOutcome: (line) => process.stdout.write(`${describeIngestLine(line)}\n`),
  };
  process.stderr.write(
    `target: ${local ? `the running npm start (pid ${local.pid})` : 'tables from the environment'}\n`,
  );
  let failed = 0;
  for (const file of files) {
    let events: unknown[];
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      events = Array.isArray(parsed) ? parsed : [parsed];
    } catch (error) {
      process.stderr.write(`${file}: ${error instanceof Error ? error.message : String(error)}\n`);
      failed++;
      continue;
    }
    process.stderr.write(`${file}: ${events.length} event(s)\n`);
    for (const [i, raw] of events.entries()) {
      const event = values.fresh && raw && typeof raw === 'object' ? freshen(raw as Json) : raw;
      process.stderr.write(`  ${i + 1}/${events.length} `);
      const result = await handleBusEvent(ctx, deps, event);
      if (!result) failed++;
    }
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
