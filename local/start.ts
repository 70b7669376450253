// `npm start`: quiet the Lambda-style logging first, then run the local runtime.
import './quiet-env.ts';

const { main } = await import('./runtime.ts');
await main();
