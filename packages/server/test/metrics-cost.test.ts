/**
 * `/metrics` needs no login, so what one request costs the database must not grow with
 * the request rate: the store-wide totals are read once per STATS_TTL_MS however often
 * the route is hit (src/metrics.ts). The real server on SQLite; the store's `stats` is
 * counted as it is called through.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { STATS_TTL_MS } from '../src/metrics.ts';
import type { MetadataStore } from '../src/stores/metadata.ts';
import { buildPeer, startTestServer, type TestServer } from './helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
});
afterAll(() => srv?.close());

it('a burst of scrapes reads the totals once per STATS_TTL_MS', async () => {
  let reads = 0;
  const counted: MetadataStore = {
    ...srv.metadata,
    stats: (now) => {
      reads++;
      return srv.metadata.stats(now);
    },
  };
  const app = await buildPeer(srv, { metadata: counted });
  try {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const scrape = async () => {
      const r = await fetch(`${url}/metrics`);
      expect(r.status).toBe(200);
      expect(await r.text()).toMatch(/noah_users \d+/);
    };
    await Promise.all(Array.from({ length: 10 }, scrape));
    for (let i = 0; i < 10; i++) await scrape();
    expect(reads).toBe(1);
    srv.clock.advance(STATS_TTL_MS);
    await scrape();
    expect(reads).toBe(2);
  } finally {
    app.server.closeAllConnections();
    await app.close();
  }
});
