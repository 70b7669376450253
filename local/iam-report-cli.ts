// `npm run iam-report` (see ./iam-report.ts).
import { type GrantRow, grantRows, IAM_USAGE_FILE, readUsage } from './iam-report.ts';

async function main(): Promise<void> {
  const usage = readUsage();
  if (!usage) {
    process.stderr.write(
      `no ${IAM_USAGE_FILE}: run \`npm test\` first (with local IAM on) so the gate records what it allowed\n`,
    );
    process.exit(2);
  }
  const { synthesizeFunctionPolicies } = await import('./iam-policies.ts');
  const rows = grantRows(synthesizeFunctionPolicies('us-east-1'), usage.allowed);
  const out: string[] = [`IAM grants × what the tests exercised (usage recorded ${usage.writtenAt})`];
  const exercised = rows.filter((r) => r.exercised);
  const kept = rows.filter((r) => !r.exercised && r.why);
  const unused = rows.filter((r) => !r.exercised && !r.why);
  const section = (title: string, part: GrantRow[], withReason: boolean) => {
    out.push('', `${title} (${part.length})`);
    let current = '';
    for (const row of part) {
      if (row.functionId !== current) {
        current = row.functionId;
        out.push(`  ${current}`);
      }
      out.push(`    ${row.action.padEnd(32)} ${row.resource}${withReason ? `  — ${row.why}` : ''}`);
    }
  };
  section('EXERCISED by a test', exercised, false);
  section('KEPT, not exercisable locally, with the reason', kept, true);
  section(
    'UNEXERCISED without a reason: add a test, remove the grant, or give the reason in local/iam-report.ts',
    unused,
    false,
  );
  out.push(
    '',
    `${rows.length} grants over ${new Set(rows.map((r) => r.functionId)).size} functions: ${exercised.length} exercised by tests, ${kept.length} kept with a reason, ${unused.length} unexercised without one`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  process.exitCode = unused.length ? 1 : 0;
}

await main();
