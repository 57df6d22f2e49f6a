// Browser tests of the till's UI in Debian's Chromium (playwright-core, executablePath
// /usr/bin/chromium), against the mock build (ui/dist-mock: the real UI with the Tauri IPC
// answered by tests/browser/mock). Served on 127.0.0.1 port 0. Prints "N passed, N failed".
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join, extname, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tests } from './tests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', 'dist-mock');
const shots = join(here, '..', '..', 'test-results', 'browser');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(join(root, 'mock.html'))) { console.error('build the mock UI first: npm run build:mock'); process.exit(2); }
if (!existsSync(CHROMIUM)) { console.error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`); process.exit(2); }
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(root, path === '/' ? 'mock.html' : path);
  if (!file.startsWith(root) || !existsSync(file)) { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/mock.html`;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  // playwright gives every launch a new empty --user-data-dir of its own.
});

const only = process.argv[2];
let passed = 0;
let failed = 0;
for (const [name, fn] of Object.entries(tests)) {
  if (only && !name.includes(only)) continue;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const open = async (query = '') => {
    await page.goto(base + query);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  };
  const shot = (n) => page.screenshot({ path: join(shots, `${n}.png`) });
  const t0 = Date.now();
  try {
    await fn({ page, open, shot });
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
    await shot(`FAILED-${name.replace(/\W+/g, '-')}`).catch(() => {});
  }
  await context.close();
}
await browser.close();
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
