#!/usr/bin/env node
/**
 * Patch the `postgres` driver (porsager/postgres 3.4.9, the latest release)
 * against connection-loss bugs that upstream has open fixes for but no
 * release yet. Run at install (`postinstall`) and verified before the tests
 * (`--check`); idempotent: a patched file is left alone, an unexpected one
 * (another version, changed source) stops with an error instead of guessing.
 *
 * 1. `nextWrite` after the socket closed: `TypeError: Cannot read properties
 *    of null (reading 'write')` thrown from a setImmediate callback kills the
 *    process (porsager/postgres#1066, #1154, #1208; fix as in PR #1209): settle
 *    the pending queries with CONNECTION_CLOSED instead of writing.
 * 2. A closed socket leaves its buffered bytes and a cleared-but-set write
 *    timer behind, so the next socket's startup message is never flushed (the
 *    connection only comes back through CONNECT_TIMEOUT) or carries the old
 *    bytes; the old backend's error and active query carry over too, failing
 *    the first query of the new connection (porsager/postgres#1215). Reset
 *    them when a socket closes and when a new one starts.
 * 3. `sql.begin()` rejects when its connection closes but the callback keeps
 *    running: its later queries (and the automatic commit/rollback) would run
 *    on the reconnected connection, outside the transaction or inside another
 *    one (porsager/postgres#1216, PR #1215). Reject them with the close error.
 * 4. The array-types query a new connection runs first is an async call
 *    whose promise nobody holds: a connection lost or killed during it is an
 *    unhandled rejection that ends the process (porsager/postgres#1192, #1205,
 *    #1223). The failure already settles the pending queries through the
 *    connection's error path; only the dropped promise needs a handler.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const VERSION = "3.4.9";
const MARK = "/* authz-sidecar patch */";

const PATCHES = {
  "connection.js": [
    {
      from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
      to: `  function nextWrite(fn) {
    if (!socket) { ${MARK}
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
    },
    {
      from: `    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)
    socket.removeListener('connect', connected)
    idleTimer.cancel()`,
      to: `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null ${MARK}
    socket.removeListener('data', data)
    socket.removeListener('connect', connected)
    idleTimer.cancel()`,
    },
    {
      from: `    try {
      statements = {}
      needsTypes = options.fetch_types`,
      to: `    try {
      query = results = errorResponse = null ${MARK}
      result = new Result()
      statements = {}
      needsTypes = options.fetch_types`,
    },
    {
      from: `        initial.reserve && (initial = null)
        return fetchArrayTypes()`,
      to: `        initial.reserve && (initial = null)
        return fetchArrayTypes().catch(() => {}) ${MARK}`,
    },
  ],
  "index.js": [
    {
      from: `    let savepoints = 0
      , connection
      , prepare = null

    try {
      await sql.unsafe('begin ' + options.replace(/[^a-z ]/ig, ''), [], { onexecute }).execute()
      return await Promise.race([
        scope(connection, fn),
        new Promise((_, reject) => connection.onclose = reject)
      ])`,
      to: `    let savepoints = 0
      , connection
      , prepare = null
      , closedError = null ${MARK}

    try {
      await sql.unsafe('begin ' + options.replace(/[^a-z ]/ig, ''), [], { onexecute }).execute()
      return await Promise.race([
        scope(connection, fn),
        new Promise((_, reject) => connection.onclose = e => {
          closedError = e
          while (queries.length) queries.shift().reject(e)
          reject(e)
        })
      ])`,
    },
    {
      from: `      function handler(q) {
        q.catch(e => uncaughtError || (uncaughtError = e))
        c.queue === full`,
      to: `      function handler(q) {
        q.catch(e => uncaughtError || (uncaughtError = e))
        if (closedError) return q.reject(closedError) ${MARK}
        c.queue === full`,
    },
  ],
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const defaultDir = path.join(root, "node_modules", "postgres");

export function patchPostgres({ check = false, dir: pkgDir = defaultDir } = {}) {
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  if (pkg.version !== VERSION) {
    throw new Error(
      `postgres ${pkg.version} installed, the patch is for ${VERSION}: check whether the release fixes ` +
        "porsager/postgres#1208 and #1216 and update or drop scripts/patch-postgres.mjs",
    );
  }
  const report = [];
  for (const dir of ["src", "cjs/src"]) {
    for (const [file, patches] of Object.entries(PATCHES)) {
      const target = path.join(pkgDir, dir, file);
      let text = readFileSync(target, "utf8");
      let changed = false;
      for (const p of patches) {
        if (text.includes(p.to)) continue;
        const at = text.indexOf(p.from);
        if (at < 0 || text.indexOf(p.from, at + 1) >= 0)
          throw new Error(`${dir}/${file}: unexpected source, cannot apply patch:\n${p.from}`);
        if (check) throw new Error(`${dir}/${file} is not patched: run node scripts/patch-postgres.mjs`);
        text = text.replace(p.from, p.to);
        changed = true;
      }
      if (changed) writeFileSync(target, text);
      report.push(`${dir}/${file}: ${changed ? "patched" : "ok"}`);
    }
  }
  return report;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const report = patchPostgres({ check: process.argv.includes("--check") });
    process.stdout.write(`postgres ${VERSION} connection-loss patch: ${report.join(", ")}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
