// `npm run iam-report` (see ./iam-report.ts).
import { grantRows, IAM_USAGE_FILE, readUsage } from './iam-report.ts';

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
  const out: string[] = [`IAM grants × what the tests exercised (usage recorded ${usage.writtenAt})`, ''];
  let current = '';
  for (const row of rows) {
    if (row.functionId !== current) {
      current = row.functionId;
      out.push(current);
    }
    const mark = row.exercised ? 'exercised' : row.why ? 'kept     ' : 'UNUSED   ';
    out.push(`  ${mark}  ${row.action.padEnd(34)} ${row.resource}${row.why ? `  — ${row.why}` : ''}`);
  }
  const exercised = rows.filter((r) => r.exercised).length;
  const kept = rows.filter((r) => !r.exercised && r.why).length;
  const unused = rows.filter((r) => !r.exercised && !r.why);
  out.push(
    '',
    `${rows.length} grants over ${new Set(rows.map((r) => r.functionId)).size} functions: ${exercised} exercised by tests, ${kept} kept with a reason, ${unused.length} unexercised without one`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  process.exitCode = unused.length ? 1 : 0;
}

await main();
