import pino, { type Logger } from 'pino';
import type { BasketConfig } from './config/config-schema';

/** JSON lines by default (one object per line, for log shippers); pretty only when asked. */
export function createLogger(config: Pick<BasketConfig, 'logLevel' | 'logPretty'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'basket' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(config.logPretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
