// `npm run bench`: runs every test/bench/*.bench.ts (or the ones named on the command line) and prints
// each figure on its own line as `name: value unit`. Progress goes to stderr so the figures stay clean.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

type Bench = (log: (line: string) => void) => Promise<Figure[]>;

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const log = (line: string) => process.stderr.write(`  … ${line}\n`);
let failed = false;
for (const file of files) {
  process.stderr.write(`bench ${basename(file, '.bench.ts')}\n`);
  try {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { bench: Bench };
    const started = Date.now();
    for (const figure of await mod.bench(log)) {
      const value = Number.isInteger(figure.value) ? figure.value : Number(figure.value.toFixed(3));
      process.stdout.write(`${figure.name}: ${value} ${figure.unit}\n`);
    }
    process.stderr.write(`  (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  } catch (error) {
    failed = true;
    process.stderr.write(`  ${file} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
}
process.exit(failed ? 1 : 0);
