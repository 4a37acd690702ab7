// The assignment event stream through graphql-ws, the protocol's reference client: subscribe,
// change something over HTTP, receive it; disconnect, change more, reconnect with `after` and
// receive exactly the missed events, then live ones; no token, no connection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { endCursor, startDemo, training } from './server.js';

const SUBSCRIPTION = `subscription($f: AssignmentEventFilter, $after: String) {
  assignmentEvents(filter: $f, after: $after) { cursor kind at assignment { status user { id } course { id } } }
}`;

let server;
before(async () => { server = await startDemo(); });
after(() => server?.stop());

function connect(connectionParams) {
  return createClient({ url: server.ws, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0 });
}

// Subscribes and collects events; `waitFor(n)` resolves once n events arrived.
function collect(client, variables) {
  const events = [];
  let failure = null;
  let wake = () => {};
  const dispose = client.subscribe({ query: SUBSCRIPTION, variables }, {
    next: (r) => { if (r.errors) failure = r.errors; else events.push(r.data.assignmentEvents); wake(); },
    error: (e) => { failure = e; wake(); },
    complete: () => wake(),
  });
  return {
    events,
    dispose,
    get failure() { return failure; },
    async waitFor(n, ms = 15_000) {
      const until = Date.now() + ms;
      while (events.length < n) {
        if (failure) throw new Error(`subscription failed: ${JSON.stringify(failure.code ?? failure)}`);
        if (Date.now() > until) throw new Error(`timed out with ${events.length} of ${n} events`);
        await new Promise((r) => { wake = r; setTimeout(r, 100); });
      }
      return events;
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('subscribe, miss events while disconnected, resume with after and get exactly those', async () => {
  const t = await training(server, 'E2E live');
  const filter = { groupId: t.group };
  const start = await endCursor(server);

  const first = connect({ Authorization: `Bearer ${server.admin}` });
  const live = collect(first, { f: filter, after: start });
  const u1 = await t.join();
  const [assigned] = await live.waitFor(1);
  assert.equal(assigned.kind, 'ASSIGNED');
  assert.equal(assigned.assignment.user.id, u1);
  assert.equal(assigned.assignment.course.id, t.course);
  live.dispose();
  await first.dispose();

  // Missed while disconnected: three joins and a leave.
  const u2 = await t.join();
  const u3 = await t.join();
  const u4 = await t.join();
  await t.leave(u1);

  const second = connect({ authToken: server.admin });
  const resumed = collect(second, { f: filter, after: assigned.cursor });
  const missed = await resumed.waitFor(4);
  assert.deepEqual(missed.map((e) => [e.kind, e.assignment.user.id]), [
    ['ASSIGNED', u2], ['ASSIGNED', u3], ['ASSIGNED', u4], ['WITHDRAWN', u1],
  ]);
  assert.equal(new Set(missed.map((e) => e.cursor)).size, 4, 'every event has its own cursor');
  await sleep(500);
  assert.equal(resumed.events.length, 4, 'nothing more, no duplicate');

  // Then live ones follow on the same subscription.
  const u5 = await t.join();
  const all = await resumed.waitFor(5);
  assert.deepEqual([all[4].kind, all[4].assignment.user.id], ['ASSIGNED', u5]);
  resumed.dispose();
  await second.dispose();
});

test('a connection without a valid token is closed with 4401', async () => {
  for (const params of [undefined, { Authorization: 'Bearer not-a-jwt' }]) {
    const client = connect(params);
    const sub = collect(client, {});
    await assert.rejects(sub.waitFor(1, 5_000), /4401/);
    await client.dispose();
  }
});

// A person out of the viewer's reach is answered as if unknown (NOT_FOUND), never FORBIDDEN: the
// answer does not tell whether they exist.
test('a learner asking for another user\'s events is refused with NOT_FOUND', async () => {
  const t = await training(server, 'E2E out of reach');
  const someone = await t.join();
  const client = connect({ Authorization: `Bearer ${server.learner}` });
  const sub = collect(client, { f: { userId: someone } });
  await assert.rejects(sub.waitFor(1, 5_000), /NOT_FOUND/);
  await client.dispose();
});
