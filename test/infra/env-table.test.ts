// The README's configuration table is what CDK really sets: every variable of every function in the
// synthesized template (every channel and optional setting on) is in the table under the functions that
// get it, and every table row names variables the template sets on exactly those functions. Variables the
// functions read with a default but the stack leaves unset are in their own table, and the template must
// not set them. And the provider timeout the stack sets fits inside each sender's own timeout.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/constructs/service-function.ts';
import { CHANNEL_QUEUES, CHANNELS } from '../../shared/infra/resources.ts';
import { ALL_CHANNELS_CONTEXT, props, resourcesOfType, synth } from './synth.ts';

const { json } = synth(ALL_CHANNELS_CONTEXT);

interface LambdaProps {
  FunctionName?: string;
  Timeout?: number;
  Environment?: { Variables?: Record<string, unknown> };
}
const functions = resourcesOfType(json, 'AWS::Lambda::Function')
  .map(([, r]) => props<LambdaProps>(r))
  .filter((p) => typeof p.FunctionName === 'string' && p.FunctionName.startsWith('session-recovery-dev-'))
  .map((p) => ({ ...p, id: String(p.FunctionName).replace('session-recovery-dev-', '') }));
const ALL = functions.map((f) => f.id);
const SENDERS = CHANNELS.map((c) => `sender-${c}`);

/** The words of the README's "used by" column → function ids. */
function usedBy(cell: string): string[] {
  const out = new Set<string>();
  for (const word of cell.split(',').map((w) => w.trim())) {
    const ids: Record<string, string[]> = {
      all: ALL,
      jobs: ['recovery-sweep', 'timeout-monitor'],
      sweep: ['recovery-sweep'],
      monitor: ['timeout-monitor'],
      senders: SENDERS,
      API: ['api', 'api-admin'],
      api: ['api'],
      'api-admin': ['api-admin'],
      receipts: ['receipts'],
      ingest: ['ingest'],
      ...Object.fromEntries(CHANNELS.map((c) => [`${c} sender`, [`sender-${c}`]])),
    };
    const found = ids[word];
    if (!found) throw new Error(`README configuration table: unknown "used by" word "${word}"`);
    for (const id of found) out.add(id);
  }
  return [...out];
}

interface Row {
  readonly names: string[];
  readonly functions: string[];
}

/** The two tables of README's "Configuration of the deployed functions": set by the stack, and not. */
function readmeTables(): { set: Row[]; unset: Row[] } {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split('## Configuration of the deployed functions')[1]?.split(/\n## /)[0] ?? '';
  const tables = { set: [] as Row[], unset: [] as Row[] };
  let current: Row[] | undefined;
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) {
      if (/The stack sets these/.test(line)) current = tables.set;
      else if (/The stack does not set these/.test(line)) current = tables.unset;
      continue;
    }
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (!current || cells[0] === 'variable' || /^-+$/.test(cells[0] ?? '')) continue;
    const names = [...(cells[0] ?? '').matchAll(/`([A-Z0-9_<>*]+)`/g)].flatMap(([, name]) =>
      name!.includes('<CHANNEL>')
        ? CHANNELS.map((c) => name!.replace('<CHANNEL>', c.toUpperCase()))
        : [name!],
    );
    current.push({ names, functions: usedBy(cells[1] ?? '') });
  }
  return tables;
}

const matches = (pattern: string, name: string) =>
  pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;

describe('README configuration table', () => {
  const { set, unset } = readmeTables();

  it('lists every variable the stack sets, under exactly the functions it sets it on', () => {
    expect(set.length).toBeGreaterThan(10);
    const inTemplate = functions
      .flatMap((f) => Object.keys(f.Environment?.Variables ?? {}).map((name) => `${name} → ${f.id}`))
      .sort();
    // What the table says, expanded against the template's names where a row ends in `*`.
    const templateNames = [...new Set(inTemplate.map((p) => p.split(' → ')[0]!))];
    const documented = set
      .flatMap((row) =>
        row.names.flatMap((pattern) => {
          const names = pattern.endsWith('*') ? templateNames.filter((n) => matches(pattern, n)) : [pattern];
          return names.flatMap((name) => row.functions.map((id) => `${name} → ${id}`));
        }),
      )
      .sort();
    expect(documented).toEqual(inTemplate);
  });

  it('lists apart the variables read with a default that the stack never sets', () => {
    expect(unset.flatMap((r) => r.names)).toEqual(
      expect.arrayContaining(['SWEEP_LIMIT', 'SWEEP_CONCURRENCY', 'SECRETS_MAX_AGE_SECONDS']),
    );
    for (const f of functions)
      for (const name of unset.flatMap((r) => r.names))
        expect(Object.keys(f.Environment?.Variables ?? {}), `${f.id} sets ${name}`).not.toContain(name);
  });
});

describe('provider timeout', () => {
  it('is set on every sender and leaves the sent-write budget and a second inside its function timeout', () => {
    for (const queue of CHANNEL_QUEUES) {
      const sender = functions.find((f) => f.id === `sender-${queue.channel}`);
      const timeoutMs = Number(sender?.Environment?.Variables?.PROVIDER_TIMEOUT_MS);
      expect(timeoutMs, queue.channel).toBeGreaterThan(0);
      expect(timeoutMs + queue.sentWriteBudgetMs + 1000).toBeLessThanOrEqual((sender?.Timeout ?? 0) * 1000);
    }
  });
});
