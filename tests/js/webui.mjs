// kestrel serve's chat page (GET /) in headless Chromium, with playwright-core.
//
//   node tests/js/webui.mjs http://127.0.0.1:PORT/ [API_KEY]
//
// Sends a message, watches the streamed answer grow, checks Stop is enabled
// while generating, clicks it and checks the generation ends. The server
// (tests/unit/server/test_server_js_clients.cpp) ignores end-of-generation
// tokens so the answer runs until stopped. Chromium: CHROMIUM, default
// /usr/bin/chromium. Exits 0 when all checks pass, else 1.
import {chromium} from 'playwright-core';

const [url, apiKey] = process.argv.slice(2);
if (!url) {
  console.error('usage: node webui.mjs URL [API_KEY]');
  process.exit(2);
}

const failures = [];
function check(cond, what, detail) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}${detail === undefined ? '' : ' ' + JSON.stringify(detail)}`);
  if (!cond) failures.push(detail === undefined ? what : `${what}: ${JSON.stringify(detail)}`);
  return cond;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  timeout: 30_000,
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  if (apiKey && apiKey !== '-') {
    await page.addInitScript((k) => localStorage.setItem('kestrel_api_key', k), apiKey);
  }

  const res = await page.goto(url);
  check(res && res.status() === 200, 'GET / answers 200', res && res.status());
  await page.waitForFunction(() => document.getElementById('model').textContent.length > 0);
  check(true, 'the header shows the model id', await page.textContent('#model'));
  check(await page.isEnabled('#send'), '#send is enabled before sending');
  check(await page.isDisabled('#stop'), '#stop is disabled before sending');

  await page.fill('#input', 'Tell me a very long story.');
  await page.press('#input', 'Enter');
  check((await page.inputValue('#input')) === '', 'Enter sends (the input is cleared)');
  await page.waitForSelector('.msg.user');
  check((await page.textContent('.msg.user')) === 'Tell me a very long story.', 'the user message is shown');

  const assistant = page.locator('.msg.assistant').first();
  await page.waitForFunction(() => {
    const a = document.querySelector('.msg.assistant');
    return a && a.textContent.length > 0;
  });
  const first = await assistant.textContent();
  check(first.length > 0, 'the assistant answer starts', first.length);
  check(await page.isEnabled('#stop'), '#stop is enabled during generation');
  check(await page.isDisabled('#send'), '#send is disabled during generation');

  // Streamed tokens keep arriving: the text grows between samples.
  let prev = first.length, grew = 0;
  for (let i = 0; i < 3; i++) {
    await page.waitForFunction((n) => document.querySelector('.msg.assistant').textContent.length > n, prev);
    const len = (await assistant.textContent()).length;
    if (len > prev) grew++;
    prev = len;
  }
  check(grew === 3, 'the answer grew at each of 3 samples', {grew, length: prev});
  check((await assistant.getAttribute('data-done')) === null, 'still generating before Stop');

  await page.click('#stop');
  await page.waitForFunction(() => document.getElementById('stats').textContent.includes('stopped'));
  check(true, '#stats says stopped', await page.textContent('#stats'));
  await page.waitForFunction(() => !document.getElementById('send').disabled);
  check(await page.isEnabled('#send'), '#send is enabled again after Stop');
  check(await page.isDisabled('#stop'), '#stop is disabled again after Stop');
  check((await assistant.getAttribute('data-done')) === '1', 'the answer is marked done');
  check(!(await assistant.evaluate((e) => e.classList.contains('error'))), 'the answer is not an error');
  const stopped = await assistant.textContent();
  await sleep(700);
  const later = await assistant.textContent();
  check(later === stopped, 'the answer stops changing after Stop', {at_stop: stopped.length, later: later.length});
  check(pageErrors.length === 0, 'no uncaught page errors', pageErrors);
} catch (e) {
  failures.push(`threw: ${e && e.message}`);
  console.log(`FAIL threw: ${e && e.stack}`);
} finally {
  await browser.close();
}

if (failures.length) {
  console.log(`\n${failures.length} check(s) failed:`);
  for (const f of failures) console.log('  - ' + f);
  process.exit(1);
}
console.log('all checks passed');
