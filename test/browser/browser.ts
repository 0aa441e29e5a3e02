import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium, as scripts/setup.sh installs it. A missing browser fails the test, it does not skip it. */
export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  return browser;
}

/** The page that opens an EventSource (test/browser/events-page.html), from the source tree. */
export const EVENTS_PAGE = readFileSync(join(__dirname, '..', '..', '..', 'test', 'browser', 'events-page.html'), 'utf8');
export const EVENTS_PAGE_PATH = '/__test/events.html';

/** Serves the events page from the app under test, so the page and the streams share an origin. */
export function serveEventsPage(app: FastifyInstance): void {
  app.get(EVENTS_PAGE_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(EVENTS_PAGE));
}

/** What the page recorded: see events-page.html. */
export interface PageState {
  received: Array<{ id: string; topic: string; partition: number; offset: number; value: unknown }>;
  ends: Array<{ reason: string; cursor: string }>;
  opens: number;
  errors: number;
}
