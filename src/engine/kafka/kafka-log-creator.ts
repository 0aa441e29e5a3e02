import { logLevel, type logCreator, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Routes kafkajs's log entries to pino. kafkajs's levels map one to one (ERROR, WARN, INFO, DEBUG);
 * the kafkajs namespace (Cluster, Connection, Producer...) becomes a `kafkajs` field, the entry's
 * extra fields (broker, retryCount, error...) are kept, and kafkajs's own timestamp is dropped
 * since pino stamps every line.
 */
export function kafkajsLogLevelFor(logger: Logger): logLevel {
  switch (logger.level) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'error':
    case 'fatal':
      return logLevel.ERROR;
    default:
      return logLevel.NOTHING;
  }
}

export function pinoLogCreator(logger: Logger): logCreator {
  return () => (entry: LogEntry) => {
    const { message, timestamp: _timestamp, logger: _source, ...extra } = entry.log as LogEntry['log'] & { logger?: unknown };
    const fields = { kafkajs: entry.namespace, ...extra };
    switch (entry.level) {
      case logLevel.ERROR:
        logger.error(fields, message);
        break;
      case logLevel.WARN:
        logger.warn(fields, message);
        break;
      case logLevel.INFO:
        logger.info(fields, message);
        break;
      case logLevel.DEBUG:
        logger.debug(fields, message);
        break;
      default:
        break;
    }
  };
}
