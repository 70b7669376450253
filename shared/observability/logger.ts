// The one Powertools logger of a function; imported, never constructed again.
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'session-recovery' });
