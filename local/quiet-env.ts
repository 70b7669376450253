// Imported first by the local entry points: Powertools reads these when its singletons are constructed
// (at import time), so they must be set before anything else is imported. The live log is the human
// view; Powertools' JSON lines and EMF blobs would drown it (LOG_LEVEL=INFO brings them back).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_DEV ??= 'true';
