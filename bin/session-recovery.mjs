#!/usr/bin/env node
// The `session-recovery` command (package.json `bin`): runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./ops.ts');
await main();
