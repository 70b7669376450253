// The operator console's weight: its JavaScript and CSS as esbuild bundles them, gzipped (budget 100 KB;
// test/console/security.test.ts fails past it).
import { gzippedSize } from '../../console/server/assets.ts';
import type { Figure } from './run.ts';

export async function bench(log: (line: string) => void): Promise<Figure[]> {
  log('bundling console/app with esbuild');
  const size = await gzippedSize();
  return [
    { name: 'console_assets_gzip_kb', value: size.total / 1024, unit: 'KB' },
    { name: 'console_js_gzip_kb', value: size.js / 1024, unit: 'KB' },
    { name: 'console_css_gzip_kb', value: size.css / 1024, unit: 'KB' },
  ];
}
