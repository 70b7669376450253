// cfn-lint over every synthesized template: what `cdk synth` wrote to cdk.out, and the same stack with every
// channel and optional setting on (the largest template; its assets are stubs, which lint does not read).
// Any error fails; warnings are printed. The one place an error may be waived is WAIVERS below: by rule id
// AND resource type AND property, each with the reason, for errors that are only cfn-lint's resource spec
// lagging CloudFormation. A waiver that no longer matches anything fails too, so it is removed once fixed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ALL_CHANNELS_CONTEXT, synth } from '../test/infra/synth.ts';

interface Waiver {
  readonly rule: string;
  readonly resourceType: string;
  /** The property path under Properties the finding points at. */
  readonly property: string;
  readonly why: string;
}

const WAIVERS: readonly Waiver[] = [
  {
    rule: 'E3002',
    resourceType: 'AWS::CloudWatch::Dashboard',
    property: 'Tags',
    why:
      'CloudFormation accepts Tags on dashboards and aws-cdk-lib generates them on its L1; ' +
      "cfn-lint's resource schema does not list the property yet",
  },
];

interface Finding {
  readonly Filename: string;
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: readonly (string | number)[]; readonly Start: { LineNumber: number } };
}

const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.error('cfn-lint is missing: install it with `pip install cfn-lint` (Python 3.9+), then run again.');
  process.exit(1);
}

const templates = readdirSync('cdk.out')
  .filter((f) => f.endsWith('.template.json'))
  .map((f) => path.join('cdk.out', f));
if (templates.length === 0) {
  console.error('no cdk.out/*.template.json: run `npx cdk synth` first');
  process.exit(1);
}
const variantDir = mkdtempSync(path.join(tmpdir(), 'cfn-lint-'));
const variant = path.join(variantDir, 'all-channels.template.json');
writeFileSync(variant, JSON.stringify(synth(ALL_CHANNELS_CONTEXT).json, undefined, 1));
templates.push(variant);

let output: string;
try {
  output = execFileSync('cfn-lint', ['--format', 'json', '--', ...templates], { encoding: 'utf8' });
} catch (error) {
  // cfn-lint exits non-zero when it finds anything; its JSON is still on stdout.
  output = String((error as { stdout?: unknown }).stdout ?? '');
  if (!output.trim().startsWith('[')) throw error;
}
const findings = JSON.parse(output) as Finding[];

const typeOf = new Map<string, Record<string, { Type?: string }>>();
const resourceType = (file: string, logicalId: unknown) => {
  if (!typeOf.has(file)) typeOf.set(file, JSON.parse(readFileSync(file, 'utf8')).Resources ?? {});
  return typeOf.get(file)?.[String(logicalId)]?.Type;
};
const used = new Set<Waiver>();
const waiverFor = (f: Finding) => {
  const [section, logicalId, properties, property] = f.Location.Path;
  if (section !== 'Resources' || properties !== 'Properties') return undefined;
  const type = resourceType(f.Filename, logicalId);
  return WAIVERS.find((w) => w.rule === f.Rule.Id && w.resourceType === type && w.property === property);
};

let errors = 0;
const warnings = new Map<string, { count: number; example: string }>();
for (const f of findings) {
  const where = `${f.Filename}:${f.Location.Start.LineNumber} ${f.Location.Path.join('/')}`;
  const waiver = f.Level === 'Error' ? waiverFor(f) : undefined;
  if (waiver) {
    used.add(waiver);
    console.log(`waived  ${f.Rule.Id} ${where}: ${waiver.why}`);
  } else if (f.Level === 'Error') {
    errors += 1;
    console.log(`ERROR   ${f.Rule.Id} ${where}: ${f.Message}`);
  } else {
    const seen = warnings.get(f.Rule.Id);
    warnings.set(f.Rule.Id, { count: (seen?.count ?? 0) + 1, example: seen?.example ?? f.Message });
  }
}
// Warnings do not fail CI (W3005: CDK writes DependsOn next to a GetAtt); one line per rule keeps them seen.
for (const [rule, w] of warnings) console.log(`warning ${rule} ×${w.count}, e.g. ${w.example}`);
const stale = WAIVERS.filter((w) => !used.has(w));
for (const w of stale)
  console.log(`STALE   waiver ${w.rule} on ${w.resourceType}.${w.property} matched nothing: remove it`);
console.log(`cfn-lint: ${templates.length} template(s), ${errors} error(s), ${stale.length} stale waiver(s)`);
if (errors > 0 || stale.length > 0) process.exit(1);
