// Drives the system's Chromium (headless, through playwright-core) against a dev node's explorer
// page, for bitverse/tests/explorer.rs, which starts the node and writes a key first. Reads its
// configuration as JSON from EXPLORER_TEST_CONFIG; prints one JSON line of what it saw; exits
// non-zero with the reason on the first thing that is not as it should be.
//
// It checks: the page loads and shows the block that included the key and the tree of chains
// with a data chain anchored under the root; a second write, made while the page is open,
// appears without a reload (the new-heads subscription); the browse filter narrows the lists;
// the block's transactions link to the key; the key's page shows its value and its proof; the
// keyspace's page lists the key; the sender's page shows a balance in coins; the page made no
// HTTP request besides its three assets (so it did not poll) and logged no console error.
// Screenshots of each step go to the artifacts directory.
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const config = JSON.parse(process.env.EXPLORER_TEST_CONFIG || '{}');
/** Longest wait for anything on the page. */
const WAIT_MS = 30000;
/** The whole run's limit, so a hung browser never hangs the suite. */
const RUN_MS = 150000;

const watchdog = setTimeout(() => fail(`the browser run took more than ${RUN_MS} ms`), RUN_MS);

let browser = null;

async function fail(reason) {
  console.error(`explorer test failed: ${reason}`);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}

/** Runs a command (the CLI's second write) with a timeout; resolves with its stdout. */
function run(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${argv.join(' ')} timed out`)); }, WAIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`));
    });
  });
}

async function main() {
  const { url, artifacts, userDataDir, height, dataChain, key, value, liveWrite, liveKey } = config;
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: config.chromium || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const consoleErrors = [];
  const httpRequests = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => consoleErrors.push(`request failed: ${request.url()}`));
  page.on('request', (request) => httpRequests.push(request.url()));

  // 1. The page loads, goes live, and lists the block that included the key.
  await page.goto(`${url}/`);
  await page.locator('#live:not(.off)').waitFor();
  const blockLink = page.locator(`#recent-blocks a.block-link[data-chain="root"][data-height="${height}"]`);
  await blockLink.waitFor();
  await page.locator('#tree svg a.tree-node[data-chain="root"]').waitFor();
  // The data chain is drawn under the root, its edge marked anchored.
  await page.locator(`#tree svg a.tree-node[data-chain="${dataChain}"]`).waitFor();
  await page.locator('#tree svg line.anchored').waitFor();
  await page.locator('#keyspaces a.keyspace-link', { hasText: key.split('/')[0] }).first().waitFor();
  await page.screenshot({ path: `${artifacts}/1-home.png`, fullPage: true });

  // 2. A write made while the page is open shows up without a reload.
  const rendered = await page.locator('#view').getAttribute('data-rendered');
  await run(liveWrite);
  await page.locator('#most-written a.key-link', { hasText: liveKey }).waitFor();
  const renderedAfter = await page.locator('#view').getAttribute('data-rendered');
  if (renderedAfter === rendered) await fail('the page did not redraw after the new block');
  await page.screenshot({ path: `${artifacts}/2-live-update.png`, fullPage: true });

  // The browse filter narrows the lists through bv_browse's search.
  await page.locator('#browse-filter').fill('hello');
  await page.locator('#most-written a.key-link', { hasText: liveKey }).waitFor({ state: 'detached' });
  await page.locator('#most-written a.key-link', { hasText: key }).waitFor();
  await page.locator('#browse-filter').fill('');
  await page.locator('#most-written a.key-link', { hasText: liveKey }).waitFor();

  // 3. The block and its transactions; the put links to its key.
  await page.locator(`#recent-blocks a.block-link[data-chain="root"][data-height="${height}"]`).click();
  const keyLink = page.locator('#transactions a.key-link', { hasText: key });
  await keyLink.waitFor();
  await page.screenshot({ path: `${artifacts}/3-block.png`, fullPage: true });

  // 4. The key: its value and its proof.
  await keyLink.click();
  await page.locator('#value', { hasText: value }).waitFor();
  const proofHex = (await page.locator('#proof-hex').textContent()) || '';
  if (!/^[0-9a-f]{64,}/.test(proofHex)) await fail(`no proof shown: ${JSON.stringify(proofHex.slice(0, 80))}`);
  await page.screenshot({ path: `${artifacts}/4-key-and-proof.png`, fullPage: true });

  // 5. The key's keyspace lists the key; the block's sender has a balance in coins.
  await page.locator('#key a.keyspace-link').click();
  await page.locator('#keys a.key-link', { hasText: key }).waitFor();
  await page.goBack();
  await page.goBack();
  await page.locator('#transactions a.account-link').first().click();
  const balance = (await page.locator('#balance').textContent()) || '';
  if (!/^[0-9]+(\.[0-9]+)? BV$/.test(balance)) await fail(`no balance in coins: ${JSON.stringify(balance)}`);
  // Its stakes and reliability record (the prior: nothing recorded yet) and its endowment pay.
  await page.locator('#ledger td', { hasText: 'no (the prior)' }).first().waitFor();
  await page.locator('#earnings').waitFor();
  await page.screenshot({ path: `${artifacts}/5-account.png`, fullPage: true });

  // Only the three assets were fetched over HTTP: everything else came over the WebSocket.
  const origin = new URL(url).origin;
  const expected = new Set([`${origin}/`, `${origin}/explorer.js`, `${origin}/explorer.css`]);
  const unexpected = httpRequests.filter((r) => !expected.has(r));
  if (unexpected.length) await fail(`unexpected HTTP requests: ${unexpected.join(', ')}`);
  if (consoleErrors.length) await fail(`console errors: ${consoleErrors.join(' | ')}`);

  console.log(JSON.stringify({
    ok: true,
    http_requests: httpRequests.length,
    proof_hex_chars: proofHex.length,
    balance,
    screenshots: ['1-home.png', '2-live-update.png', '3-block.png', '4-key-and-proof.png', '5-account.png'],
  }));
  await browser.close();
  clearTimeout(watchdog);
}

main().catch((error) => fail(error.stack || String(error)));
