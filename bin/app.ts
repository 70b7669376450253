#!/usr/bin/env node
import { createApp } from '../lib/app.ts';
// CDK entry (`cdk.json` runs it with tsx): builds the app from context; a bad context value ends the
// synth with the list of what is wrong instead of a stack trace.
import { ConfigError } from '../lib/config.ts';

try {
  const { app } = createApp();
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
