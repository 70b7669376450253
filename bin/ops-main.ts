// `npm run ops -- <command>`: the ops CLI entry under tsx.
import { main } from './ops.ts';

await main();
