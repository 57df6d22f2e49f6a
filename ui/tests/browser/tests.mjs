// The browser checks, one function per check. Each gets a fresh page at 1280×800; `open(query)`
// loads the mock build and waits for the ready signal; `shot(name)` saves a screenshot.
import assert from 'node:assert/strict';

const SCAN_GAP = 5; // ms between a scanner's keystrokes
const HUMAN_GAP = 90; // ms between a person's

// A scanner: keystrokes stamped SCAN_GAP ms apart, as the operating system stamps a wedge's
// keys, through the DevTools protocol (the page sees those times in KeyboardEvent.timeStamp
// however busy the test machine is).
async function scan(page, code) {
  const cdp = await page.context().newCDPSession(page);
  const t0 = Date.now() / 1000;
  let i = 0;
  for (const ch of code) {
    const t = t0 + (i++ * SCAN_GAP) / 1000;
    await cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', key: ch, text: ch, timestamp: t });
    await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: ch, timestamp: t + 0.001 });
  }
  const t = t0 + (i * SCAN_GAP) / 1000;
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r', timestamp: t });
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, timestamp: t + 0.001 });
  await cdp.detach();
}

const text = (page, sel) => page.locator(sel).innerText();
const calls = (page, cmd) => page.evaluate((c) => window.mockTill.calls.filter((x) => x.cmd === c).map((x) => x.args), cmd);
async function noHorizontalScroll(page) {
  const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(sw <= cw, `horizontal scroll: ${sw} > ${cw}`);
}
async function cartLines(page) {
  return page.locator('[data-testid="cart-line"]').count();
}

export const tests = {
  async 'every screen renders and fits 1280x800 without horizontal scroll'({ page, open, shot }) {
    await open();
    for (const [key, id, probe] of [['1', 'sell', 'favourite'], ['2', 'pickups', 'pickup-item'], ['3', 'stock', 'stock-row'], ['4', 'sync', 'conflict'], ['5', 'setup', 'setup-status']]) {
      await page.keyboard.press(`Alt+${key}`);
      await page.waitForSelector(`[data-testid="screen-${id}"] [data-testid="${probe}"]`);
      await noHorizontalScroll(page);
      await shot(`screen-${id}`);
    }
    assert.match(await text(page, '[data-testid="sync-badge"]'), /Online · 3 to sync · 1 conflict/);
  },

  async 'a cash sale of three scanned items takes two actions after scanning'({ page, open, shot }) {
    await open();
    for (const code of ['4006381333948', '4006381333979', '4006381333979']) await scan(page, code);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cart-line"]').length === 2);
    assert.equal(await text(page, '[data-testid="cart-total"]'), '$73.00');
    assert.equal(await page.inputValue('[data-testid="search"]'), '', 'scanned keys left in the search field');
    await shot('sell-cart');
    let actions = 0;
    await page.keyboard.press('F8'); actions++;
    await page.waitForSelector('[data-testid="tender-cash"]');
    await shot('tender-cash');
    await page.keyboard.press('Enter'); actions++;
    await page.waitForSelector('[data-testid="receipt"]');
    assert.ok(actions <= 4);
    assert.equal(await text(page, '[data-testid="receipt-total"]'), '$73.00');
    assert.match(await text(page, '[data-testid="receipt-no"]'), /^A1-\d{6}$/);
    await shot('receipt');
    const sale = await calls(page, 'sale_complete');
    assert.deepEqual(sale, [{ tenders: [{ kind: 'cash', amount: 7300 }] }]);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="receipt"]', { state: 'detached' });
    assert.equal(await cartLines(page), 0);
  },

  async 'cash with a quick amount shows the change from the till'({ page, open }) {
    await open();
    await scan(page, '4006381333986');
    await page.waitForSelector('[data-testid="cart-line"]');
    await page.keyboard.press('F8');
    await page.waitForSelector('[data-testid="quick-amount"]');
    const quick = await page.locator('[data-testid="quick-amount"]').allInnerTexts();
    assert.deepEqual(quick.map((q) => q.replace(/\s+/g, ' ').trim()), ['1 Exact $28.00', '2 $30.00', '3 $40.00', '4 $50.00']);
    await page.keyboard.type('50', { delay: HUMAN_GAP });
    await page.waitForFunction(() => document.querySelector('[data-testid="change-due"]')?.textContent?.includes('Change $22.00'));
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="receipt"]');
    assert.equal(await text(page, '[data-testid="receipt-change"]'), '$22.00');
  },

  async 'split tender: cash part, card takes the rest with its reference'({ page, open, shot }) {
    await open();
    await scan(page, '4006381333931');
    await page.waitForSelector('[data-testid="cart-line"]');
    await page.keyboard.press('F10');
    await page.waitForSelector('[data-testid="tender-split"]');
    await page.keyboard.type('20', { delay: HUMAN_GAP });
    await page.waitForFunction(() => document.querySelector('[data-testid="card-amount"]')?.textContent === '$66.00');
    await page.locator('[data-testid="card-reference"]').fill('AUTH 884201');
    await shot('tender-split');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="receipt"]');
    assert.deepEqual(await calls(page, 'sale_complete'), [{ tenders: [{ kind: 'cash', amount: 2000 }, { kind: 'card', amount: 6600, reference: 'AUTH 884201' }] }]);
  },

  async 'a refund of some of a sale by its receipt number'({ page, open, shot }) {
    await open();
    await scan(page, '4006381333979');
    await scan(page, '4006381333979');
    await scan(page, '4006381333948');
    await page.waitForFunction(() => document.querySelector('[data-testid="cart-total"]')?.textContent === '$73.00');
    await page.keyboard.press('F8');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="receipt"]');
    const no = await text(page, '[data-testid="receipt-no"]');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Alt+R');
    await page.waitForSelector('[data-testid="refund-dialog"]');
    await page.keyboard.type('A1-999999', { delay: HUMAN_GAP });
    await page.keyboard.press('Enter');
    assert.equal(await text(page, '[data-testid="refund-error"]'), 'No sale has that receipt number.');
    await page.locator('[data-testid="refund-receipt"]').fill(no.toLowerCase());
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="refund-line"]');
    // The cursor is in "Why" once the sale is shown, so Enter refunds what is chosen.
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'refund-reason');
    await page.getByRole('button', { name: /One fewer THE IMPORTANT CALL #PK — M Black T-Shirt/ }).click();
    await page.getByRole('button', { name: /One fewer Old Soul 020/ }).click();
    await page.locator('[data-testid="refund-reason"]').fill('wrong size');
    await shot('refund');
    await page.locator('[data-testid="refund-reason"]').press('Enter');
    await page.waitForSelector('[data-testid="refund-done"]');
    assert.match(await text(page, '[data-testid="refund-done"]'), /Pay back \$19\.00: \$19\.00 in cash/);
    const r = await calls(page, 'refund');
    assert.deepEqual(r, [{ receipt_no: no, items: [{ item: '0193a6f0-0000-7000-8000-000000000005', qty: 1 }], reason: 'wrong size' }]);
  },

  async 'card payment by keyboard'({ page, open }) {
    await open();
    await scan(page, '4006381333962');
    await page.waitForSelector('[data-testid="cart-line"]');
    await page.keyboard.press('F9');
    await page.waitForSelector('[data-testid="tender-card"]');
    await page.keyboard.type('REF-77', { delay: HUMAN_GAP });
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="receipt"]');
    assert.deepEqual(await calls(page, 'sale_complete'), [{ tenders: [{ kind: 'card', amount: 3500, reference: 'REF-77' }] }]);
  },

  async 'search as you type, pick by keyboard, quantities and removal by key'({ page, open }) {
    await open();
    await page.keyboard.type('hood', { delay: HUMAN_GAP });
    await page.waitForSelector('[data-testid="search-result"]');
    assert.match(await page.locator('[data-testid="search-result"]').first().innerText(), /Hoodie/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="cart-line"]');
    await page.keyboard.press('Alt+=');
    await page.waitForFunction(() => document.querySelector('[data-testid="line-qty"]')?.textContent === '2');
    await page.keyboard.press('Alt+-');
    await page.waitForFunction(() => document.querySelector('[data-testid="line-qty"]')?.textContent === '1');
    await page.keyboard.press('Alt+Backspace');
    await page.waitForSelector('[data-testid="cart-empty"]');
  },

  async 'a scan while typing in the search field goes to the cart and leaves the typed text'({ page, open }) {
    await open();
    await page.keyboard.type('que', { delay: HUMAN_GAP });
    await page.waitForTimeout(100);
    await scan(page, '4006381333993');
    await page.waitForSelector('[data-testid="cart-line"]');
    assert.equal(await page.inputValue('[data-testid="search"]'), 'que');
    assert.match(await text(page, '[data-testid="cart"]'), /Queen Nefertiti — S White T-Shirt/);
  },

  async 'line and cart discounts by key, with messages in words'({ page, open, shot }) {
    await open();
    await scan(page, '4006381333931');
    await page.waitForSelector('[data-testid="cart-line"]');
    await page.keyboard.press('F6');
    await page.waitForSelector('[data-testid="discount-dialog"]');
    await page.keyboard.type('10%', { delay: HUMAN_GAP });
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="line-discount"]');
    assert.equal(await text(page, '[data-testid="cart-total"]'), '$77.40');
    await page.keyboard.press('F7');
    await page.keyboard.type('ten', { delay: HUMAN_GAP });
    await page.keyboard.press('Enter');
    assert.equal(await text(page, '[data-testid="discount-error"]'), '“ten” is not an amount.');
    await page.locator('[data-testid="discount-input"]').fill('500');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="banner-text"]');
    assert.equal(await text(page, '[data-testid="banner-text"]'), 'The discount is larger than the price.');
    await shot('discount-error');
    await page.locator('[data-testid="discount-input"]').fill('7.40');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="discount-dialog"]', { state: 'detached' });
    assert.equal(await text(page, '[data-testid="cart-total"]'), '$70.00');
  },

  async 'errors show in words, never codes'({ page, open, shot }) {
    await open();
    await scan(page, '9999999999999');
    await page.waitForSelector('[data-testid="banner"]');
    const t = await text(page, '[data-testid="banner"]');
    assert.match(t, /That item is not in the catalog/);
    assert.doesNotMatch(t, /catalog\.unknown_item|Error|\bat /);
    await shot('error-unknown-item');
    await scan(page, '4006381334037'); // none left
    await page.waitForFunction(() => document.querySelector('[data-testid="banner-text"]')?.textContent?.startsWith('Not enough'));
    assert.equal(await text(page, '[data-testid="banner-detail"]'), 'Only 0 of Kobe and Gigi left at this till, 1 wanted.');
    await scan(page, '4006381333948');
    await page.waitForSelector('[data-testid="cart-line"]');
    await page.evaluate(() => window.mockTill.failNext.set('sale_complete', { code: 'storage.failure', message: 'disk I/O error: SQLITE_IOERR' }));
    await page.keyboard.press('F8');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="tender-error"]');
    assert.equal(await text(page, '[data-testid="tender-error"]'), 'The till could not save. Nothing was recorded; try again, and check the disk if it keeps failing.');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="receipt"]');
  },

  async 'a pickup by scanned QR code from the Sell screen takes three actions'({ page, open, shot }) {
    await open();
    await scan(page, 'TRESTLE:R:K7MQ4');
    await page.waitForSelector('[data-testid="reservation-code"]');
    assert.equal(await text(page, '[data-testid="reservation-code"]'), 'K7MQ4');
    assert.equal(await text(page, '[data-testid="reservation-remaining"]'), '$73.00');
    await shot('pickup-open');
    let actions = 0;
    await page.keyboard.press('Enter'); actions++; // hand over → pay what is left
    await page.waitForSelector('[data-testid="tender-cash"]');
    await page.keyboard.press('Enter'); actions++; // exact cash
    await page.waitForSelector('[data-testid="receipt"]');
    await page.keyboard.press('Enter'); actions++; // done
    await page.waitForSelector('[data-testid="receipt"]', { state: 'detached' });
    assert.ok(actions <= 3);
    const h = await calls(page, 'reservation_hand_over');
    assert.deepEqual(h, [{ code: 'K7MQ4', lines: [{ index: 0, qty: 1 }, { index: 1, qty: 2 }], tenders: [{ kind: 'cash', amount: 7300 }] }]);
    assert.match(await text(page, '[data-testid="banner"]'), /Handed over to Amani Uwase/);
  },

  async 'pickups: find by name, phone and typed code; hand over some lines'({ page, open, shot }) {
    await open();
    await page.keyboard.press('Alt+2');
    await page.waitForSelector('[data-testid="pickup-item"]');
    assert.equal(await page.locator('[data-testid="pickup-item"]').count(), 3);
    await page.keyboard.type('grace', { delay: HUMAN_GAP });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="pickup-item"]').length === 1);
    await page.locator('[data-testid="pickup-search"]').fill('');
    await page.keyboard.type('0788 123', { delay: HUMAN_GAP });
    await page.waitForFunction(() => document.querySelector('[data-testid="pickup-item"]')?.textContent?.includes('Amani'));
    await page.locator('[data-testid="pickup-search"]').fill('r2tt8');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="reservation-line"]');
    await page.getByRole('button', { name: /One fewer Queen Nefertiti/ }).click();
    assert.equal(await text(page, '[data-testid="take-qty"]'), '1');
    await shot('pickup-partial');
    await page.locator('[data-testid="hand-over-card"]').click();
    await page.waitForSelector('[data-testid="tender-card"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="receipt"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="reservation-status"]');
    assert.equal(await text(page, '[data-testid="reservation-status"]'), 'Partly collected');
  },

  async 'pickups: mark a held pickup ready by F4; a refusal in words'({ page, open, shot }) {
    await open();
    await page.keyboard.press('Alt+2');
    await page.waitForSelector('[data-testid="pickup-item"]');
    await page.locator('[data-testid="pickup-search"]').fill('p3zx9');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="mark-ready"]');
    assert.equal(await text(page, '[data-testid="reservation-status"]'), 'Held');
    await shot('pickup-held');
    await page.keyboard.press('F4');
    await page.waitForSelector('[data-testid="mark-ready"]', { state: 'detached' });
    assert.equal(await text(page, '[data-testid="reservation-status"]'), 'Ready');
    assert.match(await text(page, '[data-testid="banner"]'), /Pickup P3ZX9 for Jean Habimana is marked ready/);
    assert.deepEqual(await calls(page, 'reservation_mark_ready'), [{ code: 'P3ZX9' }]);
    // F4 on a pickup that is ready already does nothing; a refusal from the till is in words.
    await page.keyboard.press('F4');
    assert.equal((await calls(page, 'reservation_mark_ready')).length, 1);
    await page.evaluate(() => { window.mockTill.reservations[2].status = 'held'; });
    await page.locator('[data-testid="pickup-search"]').fill('r2tt8');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid="reservation-code"]')?.textContent === 'R2TT8');
    await page.evaluate(() => window.mockTill.failNext.set('reservation_mark_ready', { code: 'pickup.refused', message: 'pickup R2TT8 is held by hub; mark it ready there' }));
    await page.locator('[data-testid="mark-ready"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="banner-text"]')?.textContent === 'That pickup cannot be marked ready.');
    assert.equal(await text(page, '[data-testid="banner-detail"]'), 'Pickup R2TT8 is held by hub; mark it ready there.');
    assert.equal(await text(page, '[data-testid="reservation-status"]'), 'Held');
  },

  async 'stock: levels and a count correction with a reason'({ page, open, shot }) {
    await open();
    await page.keyboard.press('Alt+3');
    await page.waitForSelector('[data-testid="stock-row"]');
    await scan(page, '4006381334020');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="stock-row"]').length === 1);
    await page.locator('[data-testid="stock-count"]').click();
    await page.locator('[data-testid="count-input"]').fill('3');
    await page.keyboard.press('Enter');
    assert.match(await text(page, '[data-testid="count-error"]'), /Say why the count changed/);
    await page.locator('[data-testid="count-reason"]').fill('found two under the table');
    await shot('stock-count');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="count-dialog"]', { state: 'detached' });
    assert.equal(await text(page, '[data-testid="stock-available"]'), '3');
    assert.deepEqual((await calls(page, 'stock_count'))[0].reason, 'found two under the table');
  },

  async 'sync: conflicts with resolutions; offline says so in words'({ page, open, shot }) {
    await open();
    await page.keyboard.press('Alt+4');
    await page.waitForSelector('[data-testid="conflict"]');
    await page.getByRole('button', { name: 'Make 2 more' }).click();
    await page.waitForSelector('[data-testid="conflict-resolved"]');
    assert.match(await text(page, '[data-testid="conflict-resolved"]'), /Decided: Make 2 more/);
    await page.locator('[data-testid="sync-now"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="sync-pending-count"]')?.textContent === '0 events');
    await open('?offline=1');
    assert.match(await text(page, '[data-testid="sync-badge"]'), /^○?\s*Offline/);
    await page.keyboard.press('Alt+4');
    await page.locator('[data-testid="sync-now"]').click();
    await page.waitForSelector('[data-testid="banner-text"]');
    assert.equal(await text(page, '[data-testid="banner-text"]'), 'The hub cannot be reached. Keep selling: everything is saved here and syncs when the connection is back.');
    await shot('sync-offline');
  },

  async 'first run: setup with the demo and pairing by code'({ page, open, shot }) {
    await open('?fresh=1');
    await page.waitForSelector('[data-testid="screen-setup"] [data-testid="pair-form"]');
    await shot('setup-first-run');
    await page.locator('[data-testid="pair-hub"]').fill('ftp://nowhere');
    await page.locator('[data-testid="pair-code"]').fill('AB12-CD34');
    await page.locator('[data-testid="pair-submit"]').click();
    assert.match(await text(page, '[data-testid="pair-error"]'), /Type the hub’s address/);
    await page.locator('[data-testid="pair-hub"]').fill('http://127.0.0.1:8460');
    await page.locator('[data-testid="pair-code"]').fill('WRONG1');
    await page.locator('[data-testid="pair-submit"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="pair-error"]')?.textContent?.includes('not valid or has expired'));
    await page.locator('[data-testid="demo-start"]').click();
    await page.waitForSelector('[data-testid="screen-sell"] [data-testid="favourite"]');
    assert.match(await text(page, '[data-testid="shop-name"]'), /Kalima Arts · demo/);
  },

  async 'the high-contrast theme applies and its text is at least 7:1'({ page, open, shot }) {
    await open();
    await page.keyboard.press('Alt+H');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'high-contrast');
    const ratio = await page.evaluate(() => {
      const rgb = (s) => s.match(/\d+/g).slice(0, 3).map(Number);
      const lum = ([r, g, b]) => [r, g, b].map((v) => { const c = v / 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
        .reduce((a, c, i) => a + c * [0.2126, 0.7152, 0.0722][i], 0);
      const pairs = [];
      for (const el of document.querySelectorAll('button, h2, td, span, p')) {
        const cs = getComputedStyle(el);
        let bgEl = el;
        let bg = cs.backgroundColor;
        while (bg === 'rgba(0, 0, 0, 0)' && bgEl.parentElement) { bgEl = bgEl.parentElement; bg = getComputedStyle(bgEl).backgroundColor; }
        if (bg === 'rgba(0, 0, 0, 0)') bg = 'rgb(0, 0, 0)';
        const [a, b] = [lum(rgb(cs.color)), lum(rgb(bg))].sort((x, y) => y - x);
        pairs.push((a + 0.05) / (b + 0.05));
      }
      return Math.min(...pairs);
    });
    assert.ok(ratio >= 7, `lowest text contrast ${ratio.toFixed(2)}`);
    await shot('high-contrast-sell');
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'high-contrast', 'the choice is kept');
  },

  async 'the shortcut overlay opens with F1 and ?, and closes with Escape'({ page, open, shot }) {
    await open();
    await page.keyboard.press('F1');
    await page.waitForSelector('[data-testid="help"]');
    assert.match(await text(page, '[data-testid="help"]'), /Pay cash/);
    await shot('help');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="help"]', { state: 'detached' });
    await page.locator('[data-testid="nav-stock"]').focus();
    await page.keyboard.press('?');
    await page.waitForSelector('[data-testid="help"]');
  },

  async 'touch targets are at least 44 px'({ page, open }) {
    await open();
    const small = await page.evaluate(() => [...document.querySelectorAll('button, input')]
      .map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0 && (r.height < 44 || r.width < 44)).length);
    assert.equal(small, 0);
  },
};
