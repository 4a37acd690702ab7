// Starts `skillgraph serve --demo` on a free loopback port with a fresh SQLite file, and reads
// the admin and learner tokens and the address it prints. SKILLGRAPH_BIN names the binary
// (default: the debug build in CARGO_TARGET_DIR or ../../target).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function binary() {
  if (process.env.SKILLGRAPH_BIN) return process.env.SKILLGRAPH_BIN;
  const target = process.env.CARGO_TARGET_DIR || resolve(here, '../../target');
  return join(target, 'debug', 'skillgraph');
}

export async function startDemo() {
  const dir = mkdtempSync(join(tmpdir(), 'skillgraph-e2e-'));
  const child = spawn(
    binary(),
    ['serve', '--demo', '--listen', '127.0.0.1:0', '--database', join(dir, 'e2e.db')],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  const server = { child, dir };
  await new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error('the server did not start within 60 s')), 60_000);
    child.on('exit', (code) => fail(new Error(`the server exited with ${code}`)));
    child.on('error', (e) => fail(new Error(`cannot start ${binary()}: ${e.message}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('admin token: ')) server.admin = line.slice('admin token: '.length);
      else if (line.startsWith('learner token: ')) server.learner = line.slice('learner token: '.length);
      else if (line.startsWith('skillgraph listening on ')) {
        server.base = line.slice('skillgraph listening on '.length).split(/\s+/)[0].replace(/\/$/, '');
        clearTimeout(timer);
        ready();
      }
    });
  });
  server.ws = server.base.replace(/^http/, 'ws') + '/graphql';
  // POST /graphql as `token` (the demo admin by default); throws on any GraphQL error.
  server.graphql = async (query, variables = {}, token = server.admin) => {
    const res = await fetch(`${server.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  server.stop = () => {
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  return server;
}

// A training set-up of our own: a group whose rule assigns one course, so that each member
// added makes one ASSIGNED event and each member removed one WITHDRAWN event.
export async function training(server, name) {
  const { createGroup } = await server.graphql(
    'mutation($i: CreateGroupInput!) { createGroup(input: $i) { group { id } } }',
    { i: { name } },
  );
  const { createCourse } = await server.graphql(
    'mutation($i: CreateCourseInput!) { createCourse(input: $i) { course { id } } }',
    { i: { title: `${name} basics` } },
  );
  await server.graphql(
    'mutation($i: CreateRuleInput!) { createRule(input: $i) { rule { id } } }',
    { i: { name: `${name} rule`, audience: { groupId: createGroup.group.id }, courses: [{ courseId: createCourse.course.id }] } },
  );
  let n = 0;
  return {
    group: createGroup.group.id,
    course: createCourse.course.id,
    // Creates a user and adds them to the group; returns the user's id.
    async join() {
      n += 1;
      const tag = `${Date.now().toString(36)}${n}`;
      const { createUser } = await server.graphql(
        'mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }',
        { i: { email: `e2e-${tag}@example.com`, name: `E2E ${tag}` } },
      );
      await server.graphql(
        'mutation($i: AddMembershipInput!) { addMembership(input: $i) { membership { id } } }',
        { i: { userId: createUser.user.id, groupId: createGroup.group.id } },
      );
      return createUser.user.id;
    },
    async leave(userId) {
      await server.graphql(
        'mutation($i: RemoveMembershipInput!) { removeMembership(input: $i) { membership { id } } }',
        { i: { userId, groupId: createGroup.group.id } },
      );
    },
  };
}

// The cursor of the organization's newest event (via the polling query).
export async function endCursor(server) {
  let after = null;
  for (;;) {
    const { assignmentEvents } = await server.graphql(
      'query($after: String) { assignmentEvents(first: 500, after: $after) { pageInfo { hasNextPage endCursor } } }',
      { after },
    );
    after = assignmentEvents.pageInfo.endCursor ?? after;
    if (!assignmentEvents.pageInfo.hasNextPage) return after;
  }
}
