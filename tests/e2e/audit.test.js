// The GraphQL-over-HTTP audit suite of the `graphql-http` package (the reference
// implementation of the GraphQL foundation's spec) against a live server. Every MUST passes;
// a SHOULD or MAY that does not must be listed here with the README's reason, so a regression
// in either shows up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditServer } from 'graphql-http';
import { startDemo } from './server.js';

// Audits skillgraph does not pass on purpose (see README, docs/frontend.md "GraphQL over HTTP").
// Empty: every audit passes, MAYs and SHOULDs included. An entry is (audit id → reason).
const EXPLAINED = new Map([]);

let server;
before(async () => {
  server = await startDemo();
});
after(() => server?.stop());

test('the graphql-http audit suite: every MUST passes, every other failure is explained', async () => {
  const results = await auditServer({
    url: `${server.base}/graphql`,
    // The audits know nothing of authentication; every request carries the demo admin's token.
    fetchFn: (url, init = {}) =>
      fetch(url, {
        ...init,
        headers: { ...(init.headers || {}), authorization: `Bearer ${server.admin}` },
      }),
  });
  assert.ok(results.length > 40, `the suite ran (${results.length} audits)`);
  const failed = results.filter((r) => r.status !== 'ok');
  const musts = failed.filter((r) => r.name.startsWith('MUST'));
  assert.deepEqual(
    musts.map((r) => `${r.id} ${r.name}: ${r.reason}`),
    [],
    'every MUST of the GraphQL-over-HTTP spec passes',
  );
  const unexplained = failed.filter((r) => !EXPLAINED.has(r.id));
  assert.deepEqual(
    unexplained.map((r) => `${r.id} ${r.name}: ${r.reason}`),
    [],
    'every SHOULD or MAY that fails is explained',
  );
  const stale = [...EXPLAINED.keys()].filter((id) => !failed.some((r) => r.id === id));
  assert.deepEqual(stale, [], 'explained audits that now pass are taken off the list');
});
