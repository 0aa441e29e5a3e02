import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { eventually, listenTestApp } from '../sse/live-app';
import { TOKENS } from '../../src/tokens';
import type { GroupCoordinator } from '../../src/coordinator/group/group-coordinator';
import { EVENTS_PAGE, EVENTS_PAGE_PATH, launchChromium, serveEventsPage, type PageState } from './browser';

function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const w = globalThis as unknown as PageState;
    return { received: w.received, ends: w.ends, opens: w.opens, errors: w.errors };
  });
}

async function waitForReceived(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => (globalThis as unknown as PageState).received.length >= n, count, { timeout: 10_000, polling: 20 });
}

test("a browser's EventSource receives records, loses the connection, and resumes by itself with no gap and no repeat", async (t) => {
  const lastEventIds: Array<string | undefined> = [];
  const live = await listenTestApp(t, { BASKET_SSE_RETRY_MS: '200', BASKET_NUM_PARTITIONS: '3' }, (app) => {
    serveEventsPage(app);
    app.addHook('onRequest', async (request) => {
      if (request.url.startsWith('/topics/clicks/events')) lastEventIds.push(request.headers['last-event-id'] as string | undefined);
    });
  });
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  await live.produce('clicks', Array.from({ length: 6 }, (_, i) => ({ key: `u${i}`, value: i })));
  // from=earliest stays in the URL: a reconnect that ignored the cursor would repeat everything.
  await page.goto(`${live.base}${EVENTS_PAGE_PATH}?stream=${encodeURIComponent('/topics/clicks/events?from=earliest')}`);
  await waitForReceived(page, 6);
  await eventually(() => live.hub.readers.size > 0, 'the stream to reach the tail');

  live.hub.dropAll();
  // Records appended while the browser is away must arrive after it reconnects.
  await live.produce('clicks', Array.from({ length: 6 }, (_, i) => ({ key: `u${i}`, value: 100 + i })));
  await waitForReceived(page, 12);
  await live.produce('clicks', [{ key: 'u0', value: 200 }]);
  await waitForReceived(page, 13);

  const state = await pageState(page);
  assert.ok(state.opens >= 2, `the EventSource reconnected (${state.opens} opens)`);
  assert.equal(lastEventIds[0], undefined);
  assert.ok(lastEventIds.length >= 2 && lastEventIds[1] !== undefined, 'the reconnect carried Last-Event-ID');
  assert.equal(lastEventIds[1], state.received[5].id, 'the id of the last event seen before the drop');
  const seen = state.received.map((r) => `${r.partition}:${r.offset}`);
  assert.equal(new Set(seen).size, seen.length, `no record twice: ${seen.join(' ')}`);
  assert.deepEqual(
    state.received.map((r) => r.value).sort((a, b) => (a as number) - (b as number)),
    [0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 104, 105, 200],
  );
  // Per partition, offsets arrive in order with no hole.
  for (const p of [0, 1, 2]) {
    const offsets = state.received.filter((r) => r.partition === p).map((r) => r.offset);
    assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p}: ${offsets.join(',')}`);
  }
});

test('a page whose stream the server ends (end event with the cursor, retry hint) reconnects and resumes from that cursor', async (t) => {
  const live = await listenTestApp(t, { BASKET_SSE_RETRY_MS: '100' }, serveEventsPage);
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  await live.produce('ticks', [{ value: 'a' }, { value: 'b' }]);
  await page.goto(`${live.base}${EVENTS_PAGE_PATH}?stream=${encodeURIComponent('/topics/ticks/events?from=earliest')}`);
  await waitForReceived(page, 2);
  await eventually(() => live.hub.streamCount === 1, 'one stream');
  // As one server of several behind a proxy going down for a restart would.
  live.hub.endAll('shutdown', 'restarting');
  await page.waitForFunction(() => (globalThis as unknown as PageState).ends.length === 1, undefined, { timeout: 5000, polling: 20 });
  await live.produce('ticks', [{ value: 'c' }]);
  await waitForReceived(page, 3);
  const state = await pageState(page);
  assert.deepEqual(state.received.map((r) => r.value), ['a', 'b', 'c']);
  assert.equal(state.ends[0].cursor, state.received[1].id);
  assert.ok(state.opens >= 2);
});

test('a group of two browser subscribers splits the partitions between them', async (t) => {
  const live = await listenTestApp(t, { BASKET_NUM_PARTITIONS: '2' }, serveEventsPage);
  await live.produce('shared-web', [{ partition: 0, value: 'warm-up' }]);
  const browser = await launchChromium(t);
  const stream = encodeURIComponent('/topics/shared-web/events?group=web');
  const pages = [await browser.newPage(), await browser.newPage()];
  for (const page of pages) await page.goto(`${live.base}${EVENTS_PAGE_PATH}?stream=${stream}`);
  const coordinator = live.container.resolve<GroupCoordinator>(TOKENS.GroupCoordinator);
  await eventuallyAsync(async () => {
    const g = await coordinator.describeGroup('web').catch(() => undefined);
    return g?.state === 'Stable' && g.members.length === 2 && g.members.every((m) => m.assignment.length === 1);
  }, 'both pages in the group, one partition each');

  await live.produce('shared-web', Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: i })));
  await Promise.all(pages.map((page) => waitForReceived(page, 5)));
  const states = await Promise.all(pages.map(pageState));
  const partitions = states.map((s) => new Set(s.received.map((r) => r.partition)));
  assert.deepEqual(partitions.map((p) => p.size), [1, 1], 'each page reads one partition');
  assert.notDeepEqual([...partitions[0]], [...partitions[1]]);
  const values = states.flatMap((s) => s.received.map((r) => r.value)).sort((x, y) => (x as number) - (y as number));
  assert.deepEqual(values, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every record once across the group');
});

async function eventuallyAsync(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a page on another origin streams through CORS, and its reconnect with Last-Event-ID passes CORS too', async (t) => {
  const pageServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(EVENTS_PAGE));
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => pageServer.close(() => resolve())));
  const pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  const live = await listenTestApp(t, { BASKET_CORS_ALLOWED_ORIGINS: pageOrigin, BASKET_SSE_RETRY_MS: '200' });
  await live.produce('xorigin', [{ value: 1 }, { value: 2 }]);
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  await page.goto(`${pageOrigin}/?stream=${encodeURIComponent(`${live.base}/topics/xorigin/events?from=earliest`)}`);
  await waitForReceived(page, 2);
  await eventually(() => live.hub.readers.size > 0, 'the stream to reach the tail');
  live.hub.dropAll();
  await live.produce('xorigin', [{ value: 3 }]);
  await waitForReceived(page, 3);
  const state = await pageState(page);
  assert.deepEqual(state.received.map((r) => r.value), [1, 2, 3]);
  assert.ok(state.opens >= 2, 'reconnected across origins');
});
