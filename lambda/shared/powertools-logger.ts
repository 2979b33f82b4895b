/**
 * Our Logger on top of Powertools Logger (the Lambda entries): Powertools' JSON lines (level,
 * timestamp, service `case-bridge`, the invocation's request id after `addContext`), with our
 * redaction applied to the message and every field before Powertools sees them, and the delivery id
 * as `correlation_id`. Local runs keep createLogger (log.ts).
 */
import { LogFormatter, LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { LevelLogger, redact, type Logger, type LogLevel } from './log.js';

export const LOG_SERVICE = 'case-bridge';

/** Powertools' LogLevelThreshold for our levels. */
const THRESHOLD: Record<LogLevel, number> = { debug: 8, info: 12, warn: 16, error: 20 };

/**
 * Powertools' line without the Lambda context it repeats on every line (function ARN, name and
 * memory, sampling rate, X-Ray trace id: about 0.3 KB a line, issue 15, docs/cost.md): the log group
 * and stream already name the function; the request id stays (it ties a line to Lambda's own records
 * of the invocation), and `cold_start` only on a container's first invocation.
 */
export class BridgeLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        ...(context?.awsRequestId !== undefined ? { function_request_id: context.awsRequestId } : {}),
        ...(context?.coldStart === true ? { cold_start: true } : {}),
      },
    }).addAttributes(additional);
  }
}

export function createPowertoolsLogger(options: { level?: LogLevel; fields?: Record<string, unknown>; powertools?: PowertoolsLogger } = {}): {
  logger: Logger;
  powertools: PowertoolsLogger;
} {
  const powertools = options.powertools ?? new PowertoolsLogger({ serviceName: LOG_SERVICE, logFormatter: new BridgeLogFormatter(), logLevel: (options.level ?? 'info').toUpperCase() as Uppercase<LogLevel> });
  return { logger: new PowertoolsAdapter(powertools, options.fields ?? {}), powertools };
}

class PowertoolsAdapter extends LevelLogger {
  constructor(
    private readonly pt: PowertoolsLogger,
    private readonly base: Record<string, unknown>,
  ) {
    super();
  }

  protected emit(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    // Powertools filters by level too; checking first skips the redaction of dropped lines.
    if (this.pt.level > THRESHOLD[level]) return;
    const merged: Record<string, unknown> = { ...this.base, ...fields };
    const deliveryId = merged['deliveryId'];
    if (typeof deliveryId === 'string') merged['correlation_id'] = deliveryId;
    this.pt[level](redact(message) as string, redact(merged) as Record<string, unknown>);
  }


  child(fields: Record<string, unknown>): Logger {
    return new PowertoolsAdapter(this.pt, { ...this.base, ...fields });
  }
}
