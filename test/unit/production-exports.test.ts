// No dead code on production paths (#18 item 22): every value a module under shared/ or console/ exports is
// used by production code (another module imports it, or its own module uses it). A helper only tests call
// belongs under test/support; the few kept on purpose are listed below with the reason.
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/local-env.ts';

/** Test-only exports kept on production modules, each with why (new ones need a reason here). */
const KEPT: Readonly<Record<string, string>> = {
  'shared/reputation/pause-gate.ts#pausedHops':
    'the bound of the pause gate’s self-loop, stated next to the loop it bounds; the loop test holds the code to it',
  'shared/events/timers.ts#timerHops':
    'the bound of the checkout timers’ self-loop, stated next to the loop it bounds; the loop test holds the code to it',
  'shared/infra/bundling.ts#LAMBDA_ESBUILD_OPTIONS':
    'the esbuild options CDK bundles with, restated for the bundle test and bench so they measure the real bundle',
  'console/server/assets.ts#gzippedSize':
    'measures the shipped console assets for the size budget test and bench',
  'shared/repositories/outcomes.ts#listOpsAlertOutcomes':
    'test-only, in the senders’ area of #18: reported to the lead, left to that change',
  'shared/senders/config.ts#staticChannelConfig':
    'test-only, in the senders’ area of #18: reported to the lead, left to that change',
  'shared/senders/config.ts#loadLocalEnvFile':
    'test-only (nothing in local/ calls it, though a comment says so), in the senders’ area: reported to the lead',
  'shared/domain/session.ts#ChannelSchema': 'unused alias of ChannelSchemaOf: reported to the lead',
  'shared/events/eventbridge.ts#isEventBridgeEvent':
    'unused, in the product events’ area of #18: reported to the lead, left to that change',
};

const PRODUCTION_DIRS = ['shared/', 'console/', 'local/', 'lib/', 'bin/', 'functions/'];
const CHECKED_DIRS = ['shared/', 'console/'];

/** Value exports of a module: functions, classes, variables (types are erased, never on a path). */
function valueExports(source: ts.SourceFile): Array<{ name: string; node: ts.Identifier }> {
  const out: Array<{ name: string; node: ts.Identifier }> = [];
  for (const statement of source.statements) {
    const exported = ts.canHaveModifiers(statement)
      ? ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
      : false;
    if (!exported) continue;
    if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      out.push({ name: statement.name.text, node: statement.name });
    } else if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        if (ts.isIdentifier(d.name)) out.push({ name: d.name.text, node: d.name });
      }
    }
  }
  return out;
}

/** `file#name` for every name a production module imports or re-exports from another (static or dynamic). */
function importedNames(files: readonly string[], sources: Map<string, ts.SourceFile>): Set<string> {
  const used = new Set<string>();
  for (const file of files) {
    const source = sources.get(file)!;
    const resolve = (spec: string) => normalize(join(dirname(file), spec));
    const visit = (node: ts.Node): void => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier) &&
        node.moduleSpecifier.text.startsWith('.')
      ) {
        const target = resolve(node.moduleSpecifier.text);
        const bindings = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : node.exportClause;
        if (!bindings) used.add(`${target}#*`);
        else if (ts.isNamespaceImport(bindings) || ts.isNamespaceExport(bindings)) {
          // `import * as S`: the names read as `S.name`.
          const alias = bindings.name.text;
          for (const m of source.text.matchAll(new RegExp(`\\b${alias}\\.([A-Za-z0-9_$]+)`, 'g'))) {
            used.add(`${target}#${m[1]}`);
          }
        } else {
          for (const e of bindings.elements) used.add(`${target}#${(e.propertyName ?? e.name).text}`);
        }
      }
      // `const { a, b } = await import('./x.ts')`
      if (
        ts.isVariableDeclaration(node) &&
        ts.isObjectBindingPattern(node.name) &&
        node.initializer &&
        ts.isAwaitExpression(node.initializer) &&
        ts.isCallExpression(node.initializer.expression) &&
        node.initializer.expression.expression.kind === ts.SyntaxKind.ImportKeyword
      ) {
        const [arg] = node.initializer.expression.arguments;
        if (arg && ts.isStringLiteral(arg) && arg.text.startsWith('.')) {
          for (const e of node.name.elements) {
            const name = e.propertyName ?? e.name;
            if (ts.isIdentifier(name)) used.add(`${resolve(arg.text)}#${name.text}`);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return used;
}

function usedInOwnModule(source: ts.SourceFile, name: string, declaration: ts.Identifier): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isIdentifier(node) && node.text === name && node !== declaration) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('production code', () => {
  it('exports no value that only tests use (or nothing uses), beyond the few kept with a reason', async () => {
    // Prepare
    const { execFileSync } = await import('node:child_process');
    const files = execFileSync('git', ['ls-files', '*.ts'], { cwd: REPO_ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => PRODUCTION_DIRS.some((d) => f.startsWith(d)));
    const sources = new Map(
      files.map((f) => [
        f,
        ts.createSourceFile(f, readFileSync(join(REPO_ROOT, f), 'utf8'), ts.ScriptTarget.Latest, true),
      ]),
    );
    // Act
    const imported = importedNames(files, sources);
    const unused: string[] = [];
    for (const file of files.filter((f) => CHECKED_DIRS.some((d) => f.startsWith(d)))) {
      const source = sources.get(file)!;
      for (const { name, node } of valueExports(source)) {
        const key = `${relative(REPO_ROOT, join(REPO_ROOT, file))}#${name}`;
        if (imported.has(key) || imported.has(`${file}#*`) || usedInOwnModule(source, name, node)) continue;
        if (!KEPT[key]) unused.push(key);
      }
    }
    // Assess
    expect(unused).toEqual([]);
  });
});
