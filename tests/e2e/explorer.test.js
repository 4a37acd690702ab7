// The GraphiQL explorer in a real browser (Debian's Chromium, driven by playwright-core), with
// every request to another host refused: the page must render from what skillgraph serves,
// run the demo query with one click, and run a subscription that sees an event arrive after a
// mutation. The first test saves the README's screenshot (docs/explorer.png, or
// $EXPLORER_SCREENSHOT).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { endCursor, startDemo, training } from './server.js';

const here = dirname(fileURLToPath(import.meta.url));
const SCREENSHOT = process.env.EXPLORER_SCREENSHOT || resolve(here, '../../docs/explorer.png');
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

let server;
let browser;
before(async () => {
  server = await startDemo();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: FLAGS,
  });
});
after(async () => {
  await browser?.close();
  server?.stop();
});

// A fresh page on the explorer, with every request that leaves the server refused and recorded.
async function openExplorer() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  const outside = [];
  const errors = [];
  const unauthorized = [];
  const host = new URL(server.base).host;
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.host === host) return route.continue();
    outside.push(url.href);
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('response', (r) => {
    if (r.status() === 401) unauthorized.push(`${r.request().method()} ${r.url()}`);
  });
  const response = await page.goto(`${server.base}/`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-type'], /text\/html; charset=utf-8/i);
  await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
  await page.waitForSelector('.graphiql-execute-button');
  return { context, page, outside, errors, unauthorized };
}

// The text of one of GraphiQL's CodeMirror editors.
const editor = (page, selector) =>
  page.evaluate((s) => document.querySelector(`${s} .CodeMirror`).CodeMirror.getValue(), selector);

async function waitForResult(page, predicate, ms = 20_000) {
  const until = Date.now() + ms;
  let text = '';
  while (Date.now() < until) {
    text = await editor(page, '.graphiql-response');
    if (predicate(text)) return text;
    await page.waitForTimeout(200);
  }
  throw new Error(`the result pane never matched; it shows: ${text}`);
}

test('the explorer renders offline, carries the demo token and runs the first query in one click', async () => {
  const { context, page, outside, errors } = await openExplorer();
  // The tool pane holds the variables and the headers editors; the headers one is shown.
  const tools = await page.evaluate(() =>
    [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')].map((e) => e.CodeMirror.getValue()));
  assert.ok(
    tools.some((t) => t.includes(`"Authorization": "Bearer ${server.admin}"`)),
    `the headers pane carries the demo token: ${JSON.stringify(tools)}`,
  );
  const query = await editor(page, '.graphiql-query-editor');
  assert.match(query, /organization \{ name \}/);

  await page.click('.graphiql-execute-button');
  const result = JSON.parse(await waitForResult(page, (t) => t.includes('"Acme"')));
  assert.equal(result.data.organization.name, 'Acme');
  assert.equal(result.data.viewer.name, 'Morgan Blake');
  assert.ok(result.data.groups.some((g) => g.name === 'Sales'), 'the demo groups are listed');
  assert.ok(result.data.assignments.totalCount > 0, 'the demo has assignments');

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  assert.deepEqual(outside, [], 'no request left the server');
  assert.deepEqual(errors, [], 'no script error');
  await context.close();
});

test('Docs and autocomplete work on first load: the schema is fetched with the demo token', async () => {
  const { context, page, errors, unauthorized } = await openExplorer();
  await page.click('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]');
  // The root types are listed once the schema arrived; open Query and find users, described.
  const query = page.locator('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name', { hasText: /^Query$/ });
  await query.first().click({ timeout: 20_000 });
  const users = page.locator('.graphiql-doc-explorer-field-name', { hasText: /^users$/ });
  await users.first().waitFor({ timeout: 10_000 });
  const docs = await page.locator('.graphiql-doc-explorer').innerText();
  assert.match(docs, /Users visible to the viewer/, 'Query.users is documented in Docs');
  assert.doesNotMatch(docs, /Error fetching schema/);
  // Autocomplete knows the schema: ask for hints after `{ vie`.
  await page.evaluate(() => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    cm.setValue('{ vie');
    cm.focus();
    cm.setCursor({ line: 0, ch: 5 });
    cm.execCommand('autocomplete');
  });
  await page.waitForSelector('.CodeMirror-hints li', { timeout: 10_000 });
  const hints = await page.locator('.CodeMirror-hints li').allInnerTexts();
  assert.ok(hints.some((h) => h.startsWith('viewer')), `autocomplete offers viewer: ${hints}`);
  assert.deepEqual(unauthorized, [], 'no request answered 401');
  assert.deepEqual(errors, [], 'no script error');
  await context.close();
});

test('the schema is fetched again with the new token when the headers change', async () => {
  const { context, page, unauthorized } = await openExplorer();
  const introspections = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && (r.postData() || '').includes('IntrospectionQuery')) {
      introspections.push(r.headers().authorization);
    }
  });
  await page.click('.graphiql-editor-tools button:has-text("Headers")').catch(() => {});
  await page.evaluate((token) => {
    const cms = [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')].map((e) => e.CodeMirror);
    const headers = cms.find((cm) => cm.getValue().includes('Authorization'));
    headers.setValue(JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));
  }, server.learner);
  const until = Date.now() + 10_000;
  while (!introspections.includes(`Bearer ${server.learner}`) && Date.now() < until) {
    await page.waitForTimeout(100);
  }
  assert.ok(
    introspections.includes(`Bearer ${server.learner}`),
    `the schema is fetched again with the learner's token: ${JSON.stringify(introspections)}`,
  );
  assert.deepEqual(unauthorized, []);
  await context.close();
});

test('a subscription run from the explorer shows an event after a mutation', async () => {
  const t = await training(server, 'Explorer live');
  const cursor = await endCursor(server);
  const { context, page, outside } = await openExplorer();
  const subscription = `subscription {
  assignmentEvents(filter: { groupId: "${t.group}" }, after: ${JSON.stringify(cursor)}) {
    kind
    assignment { status user { id name } course { title } }
  }
}`;
  await page.evaluate(
    (text) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(text),
    subscription,
  );
  // GraphiQL parses the editor's text after a short debounce; run once it knows the operation
  // is a subscription (sent over the WebSocket, not POST).
  await page.waitForTimeout(1500);
  await page.click('.graphiql-execute-button');
  await page.waitForTimeout(500);
  const joined = await t.join();
  const text = await waitForResult(page, (s) => s.includes(joined));
  const shown = JSON.parse(text);
  assert.equal(shown.data.assignmentEvents.kind, 'ASSIGNED');
  assert.equal(shown.data.assignmentEvents.assignment.user.id, joined);
  assert.equal(shown.data.assignmentEvents.assignment.course.title, 'Explorer live basics');
  assert.deepEqual(outside, []);
  await context.close();
});

test('unknown paths answer 404 and a malformed GraphQL body a GraphQL error, never the page', async () => {
  for (const path of ['/nope', '/explorer/missing.js', '/graphql/x']) {
    const res = await fetch(`${server.base}${path}`);
    assert.equal(res.status, 404, path);
    assert.doesNotMatch(await res.text(), /graphiql/i, path);
  }
  const res = await fetch(`${server.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.admin}` },
    body: '{"query": ',
  });
  assert.match(res.headers.get('content-type'), /json/);
  const body = await res.json();
  assert.ok(body.errors?.length, JSON.stringify(body));
});
