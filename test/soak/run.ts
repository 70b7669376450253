// `npm run soak` (see docs/soak.md). The environment is settled before anything that reads it at import
// time is loaded: the shared logger and metrics singletons (silent, no EMF lines on stdout) and the SDK.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

await import('./soak.ts');
