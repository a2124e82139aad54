/// <reference lib="dom" />
// Phone (390x844), tablet (768x1024) and desktop (1440x900) layouts in real Chromium, with touch
// emulated (hasTouch, isMobile) and real touch events (DevTools Input.dispatchTouchEvent) for
// taps, long presses, swipes and pinches. Screenshots go to test-results/screens/ for a look.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { A1111, makePng } from './fixtures';

const SHOTS = 'test-results/screens';
mkdirSync(SHOTS, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png` });

const files = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    name: `IMG_${1000 + i}.png`,
    mimeType: 'image/png',
    buffer: makePng([640, 480, 800, 512][i % 4]!, [480, 640, 450, 512][i % 4]!, i + 1, i === 0 ? { parameters: A1111 } : {}),
  }));

/** Everything the user must reach lies inside the viewport (not clipped, not scrolled away). */
async function expectOnScreen(page: Page, loc: Locator) {
  const box = await loc.boundingBox();
  const vp = page.viewportSize()!;
  expect(box, 'element has a box').not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.y).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(vp.width + 0.5);
  expect(box!.y + box!.height).toBeLessThanOrEqual(vp.height + 0.5);
  // and nothing covers it: the topmost element at its centre is it (or inside it)
  const hit = await loc.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!top && (el === top || el.contains(top));
  });
  expect(hit, 'nothing covers it').toBe(true);
}

async function expectTouchTarget(loc: Locator) {
  const box = (await loc.boundingBox())!;
  expect(box.width).toBeGreaterThanOrEqual(44);
  expect(box.height).toBeGreaterThanOrEqual(44);
}

/** No sideways scrolling anywhere in the shell. */
async function expectNoOverflow(page: Page) {
  const over = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('header, main, footer, [data-testid="top-bar"]'))
      .filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'auto')
      .map((el) => `${el.tagName}.${el.dataset.testid ?? ''} ${el.scrollWidth}>${el.clientWidth}`),
  );
  expect(over).toEqual([]);
}

/** Real touch input through DevTools: Chromium turns it into touch and pointer events. */
async function touch(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  const send = (type: 'touchStart' | 'touchMove' | 'touchEnd', points: { x: number; y: number }[]) =>
    cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map((p, id) => ({ x: p.x, y: p.y, id })) });
  return {
    async swipe(from: { x: number; y: number }, dx: number, dy = 0, steps = 8) {
      await send('touchStart', [from]);
      for (let i = 1; i <= steps; i++) await send('touchMove', [{ x: from.x + (dx * i) / steps, y: from.y + (dy * i) / steps }]);
      await send('touchEnd', []);
    },
    async pinch(center: { x: number; y: number }, from: number, to: number, steps = 8) {
      const at = (d: number) => [{ x: center.x - d / 2, y: center.y }, { x: center.x + d / 2, y: center.y }];
      await send('touchStart', at(from));
      for (let i = 1; i <= steps; i++) await send('touchMove', at(from + ((to - from) * i) / steps));
      await send('touchEnd', []);
    },
    async longPress(p: { x: number; y: number }, ms = 700) {
      await send('touchStart', [p]);
      await page.waitForTimeout(ms);
      await send('touchEnd', []);
    },
  };
}

const centre = async (loc: Locator) => {
  const b = (await loc.boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
};

async function importViaMenu(page: Page, n: number) {
  await page.getByTestId('menu-toggle').tap();
  await expectOnScreen(page, page.getByTestId('menu-import-files'));
  const chooser = page.waitForEvent('filechooser');
  await page.getByTestId('menu-import-files').tap();
  await (await chooser).setFiles(files(n));
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('import-dismiss').tap();
}

test.describe('phone, 390x844, touch', () => {
  test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });

  test('the library, the loupe and culling work with a finger on a phone', async ({ page }) => {
    await page.goto('/');
    await expect(page.getByTestId('empty-library')).toBeVisible();
    await expectNoOverflow(page);
    await shot(page, 'phone-01-empty');

    // the header fits: search, filters and the menu; the rest is in the menu
    await expectOnScreen(page, page.getByTestId('menu-toggle'));
    await expectTouchTarget(page.getByTestId('menu-toggle'));
    await page.getByTestId('menu-toggle').tap();
    for (const id of ['menu-nav-grid', 'menu-nav-status', 'menu-nav-settings', 'menu-new-image', 'menu-import-files', 'menu-import-folder']) await expectOnScreen(page, page.getByTestId(id));
    await shot(page, 'phone-02-menu');
    await page.getByTestId('menu-toggle').tap();
    await expect(page.getByTestId('app-menu')).toHaveCount(0);

    await importViaMenu(page, 14);
    await expectNoOverflow(page);
    await expectOnScreen(page, page.getByTestId('search'));
    await expectOnScreen(page, page.getByTestId('filters-toggle'));

    // the grid fills the width with three columns; no side panel takes space from it
    const grid = page.getByTestId('grid');
    expect((await grid.boundingBox())!.width).toBeGreaterThanOrEqual(385);
    await expect(page.locator('[data-testid="info-panel"][data-variant="side"]')).toHaveCount(0);
    const cells = page.getByTestId('grid-cell');
    const tops = await cells.evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
    expect(tops.filter((t) => t === tops[0]).length).toBe(3);
    expect((await cells.first().boundingBox())!.width).toBeGreaterThan(110);
    await shot(page, 'phone-03-grid');

    // the filters wrap onto the width, with targets a finger can hit
    await page.getByTestId('filters-toggle').tap();
    await expect(page.getByTestId('filter-bar')).toBeVisible();
    await expectNoOverflow(page);
    await expectTouchTarget(page.getByRole('button', { name: 'at least 3 stars', exact: true }));
    await shot(page, 'phone-03b-filters');
    await page.getByTestId('filters-toggle').tap();

    // details as a bottom sheet, from the menu
    await page.getByTestId('menu-toggle').tap();
    await page.getByTestId('menu-info').tap();
    const sheet = page.getByTestId('info-sheet');
    await expect(sheet).toBeVisible();
    const sb = (await sheet.boundingBox())!;
    expect(sb.width).toBeGreaterThanOrEqual(389);
    expect(sb.y + sb.height).toBeGreaterThanOrEqual(843);
    expect(sb.height).toBeLessThanOrEqual(844 * 0.76);
    await shot(page, 'phone-04-sheet-library');
    await page.getByTestId('info-sheet-close').tap();
    await expect(sheet).toHaveCount(0);

    // a tap opens the loupe over the whole screen
    const first = cells.first();
    const firstId = await first.getAttribute('data-id');
    await first.tap();
    const loupe = page.getByTestId('loupe');
    await expect(loupe).toHaveAttribute('data-id', firstId!);
    await expect(page.locator('[data-testid="loupe"][data-loaded="true"]')).toBeVisible();
    const lb = (await loupe.boundingBox())!;
    expect([lb.x, lb.y, lb.width, lb.height]).toEqual([0, 0, 390, 844]);
    await expect(page.getByTestId('top-bar')).toHaveCount(0);
    const canvas = page.getByTestId('loupe-canvas');
    expect((await canvas.boundingBox())!.width).toBe(390);
    expect((await canvas.boundingBox())!.height).toBeGreaterThan(600);
    await expect(page.getByTestId('loupe-counter')).toHaveText('1 / 14');
    await shot(page, 'phone-05-loupe');

    // swipe left: the next image; swipe right: back; a vertical drag does nothing
    const t = await touch(page);
    const mid = await centre(canvas);
    await t.swipe({ x: 320, y: mid.y }, -220);
    await expect(page.getByTestId('loupe-counter')).toHaveText('2 / 14');
    await t.swipe({ x: 70, y: mid.y }, 220);
    await expect(page.getByTestId('loupe-counter')).toHaveText('1 / 14');
    await t.swipe({ x: 200, y: mid.y - 150 }, 10, 300);
    await expect(page.getByTestId('loupe-counter')).toHaveText('1 / 14');

    // pinch zooms in around the fingers; a swipe then pans instead of changing the image
    const fitScale = Number(await canvas.getAttribute('data-scale'));
    await t.pinch(mid, 80, 240);
    await expect.poll(async () => Number(await canvas.getAttribute('data-scale'))).toBeGreaterThan(fitScale * 2.5);
    await t.swipe({ x: 300, y: mid.y }, -200);
    await expect(page.getByTestId('loupe-counter')).toHaveText('1 / 14');
    await shot(page, 'phone-06-loupe-zoomed');
    await t.pinch(mid, 300, 60);
    await expect.poll(async () => Number(await canvas.getAttribute('data-scale'))).toBeLessThan(fitScale * 1.01);

    // culling by touch: every target at least 44 px, and it sticks
    const bar = page.getByTestId('loupe-cull-bar');
    await expectOnScreen(page, bar);
    for (const id of ['cull-rate-1', 'cull-rate-3', 'cull-rate-5', 'cull-pick', 'cull-reject', 'loupe-back', 'loupe-info']) await expectTouchTarget(page.getByTestId(id));
    await page.getByTestId('cull-rate-4').tap();
    await page.getByTestId('cull-pick').tap();
    await expect(bar).toHaveAttribute('data-rating', '4');
    await expect(bar).toHaveAttribute('data-flag', 'pick');
    await shot(page, 'phone-07-loupe-culled');

    // details of this image in the sheet, from the loupe
    await page.getByTestId('loupe-info').tap();
    await expect(page.getByTestId('info-sheet')).toBeVisible();
    await expect(page.getByTestId('info-panel')).toHaveAttribute('data-id', firstId!);
    await expect(page.getByTestId('info-rating')).toHaveAttribute('data-rating', '4');
    await shot(page, 'phone-08-loupe-details');
    await page.getByTestId('info-sheet-close').tap();

    // back to the grid: the rating shows on the cell
    await page.getByTestId('loupe-back').tap();
    await expect(page.locator(`[data-testid="grid-cell"][data-id="${firstId}"]`)).toHaveAttribute('data-rating', '4');

    // hold an image to select; taps then add to the selection; the bar fits and its buttons are big
    await t.longPress(await centre(cells.nth(1)));
    await expect(page.getByTestId('selection-bar')).toBeVisible();
    await cells.nth(2).tap();
    await expect(page.getByTestId('selection-bar')).toContainText('2 selected');
    await expect(page.getByTestId('loupe')).toHaveCount(0);
    await expectOnScreen(page, page.getByTestId('selection-bar'));
    await expectTouchTarget(page.getByTestId('clear-selection'));
    // and they are culled together
    await expectTouchTarget(page.getByTestId('selection-pick'));
    await page.getByTestId('selection-pick').tap();
    await page.getByTestId('selection-rate').tap();
    await expectOnScreen(page, page.getByTestId('selection-rate-3'));
    await expectTouchTarget(page.getByTestId('selection-rate-3'));
    await page.getByTestId('selection-rate-3').tap();
    for (const i of [1, 2]) {
      await expect(cells.nth(i)).toHaveAttribute('data-flag', 'pick');
      await expect(cells.nth(i)).toHaveAttribute('data-rating', '3');
    }
    await shot(page, 'phone-09-selection');
    await page.getByTestId('clear-selection').tap();
    await expect(page.getByTestId('selection-bar')).toHaveCount(0);

    // the other pages fit the width too
    for (const v of ['status', 'settings'] as const) {
      await page.getByTestId('menu-toggle').tap();
      await page.getByTestId(`menu-nav-${v}`).tap();
      await page.waitForTimeout(300);
      await expectNoOverflow(page);
      await shot(page, `phone-1${v === 'status' ? 0 : 1}-${v}`);
    }
  });
});

test.describe('phone held sideways, 844x390, touch', () => {
  test.use({ viewport: { width: 844, height: 390 }, hasTouch: true, isMobile: true });

  test('keeps the phone layout: the loupe fills the screen and the image gets most of it', async ({ page }) => {
    await page.goto('/');
    await page.locator('header [data-testid="file-input"]').setInputFiles(files(4));
    await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible({ timeout: 60_000 });
    await page.getByTestId('import-dismiss').tap();
    await expect(page.getByTestId('menu-toggle')).toBeVisible();
    await expectNoOverflow(page);
    await page.getByTestId('grid-cell').first().tap();
    await expect(page.locator('[data-testid="loupe"][data-compact="true"]')).toBeVisible();
    expect((await page.getByTestId('loupe-canvas').boundingBox())!.height).toBeGreaterThan(250);
    await expectOnScreen(page, page.getByTestId('cull-rate-5'));
    await shot(page, 'phone-12-landscape-loupe');
  });
});

test.describe('tablet, 768x1024, touch', () => {
  test.use({ viewport: { width: 768, height: 1024 }, hasTouch: true });

  test('the header fits with everything in reach, and the loupe swipes and culls by touch', async ({ page }) => {
    await page.goto('/');
    await page.locator('header [data-testid="file-input"]').setInputFiles(files(10));
    await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible({ timeout: 60_000 });
    await page.getByTestId('import-dismiss').tap();
    await expectNoOverflow(page);
    for (const id of ['search', 'filters-toggle', 'sort', 'info-toggle', 'import-files', 'import-menu', 'new-image', 'nav-status', 'nav-settings']) await expectOnScreen(page, page.getByTestId(id));
    await page.getByTestId('import-menu').tap();
    await expectOnScreen(page, page.getByTestId('import-folder'));
    await page.getByTestId('import-menu').tap();
    const cells = page.getByTestId('grid-cell');
    const tops = await cells.evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
    expect(tops.filter((t) => t === tops[0]).length).toBeGreaterThanOrEqual(2);
    await shot(page, 'tablet-01-grid');

    await cells.first().tap();
    await expect(page.locator('[data-testid="loupe"][data-loaded="true"]')).toBeVisible();
    await expect(page.getByTestId('loupe-counter')).toHaveText('1 / 10');
    const t = await touch(page);
    const mid = await centre(page.getByTestId('loupe-canvas'));
    await t.swipe({ x: mid.x + 100, y: mid.y }, -250);
    await expect(page.getByTestId('loupe-counter')).toHaveText('2 / 10');
    for (const id of ['cull-rate-1', 'cull-rate-5', 'cull-pick', 'cull-reject']) await expectTouchTarget(page.getByTestId(id));
    await page.getByTestId('cull-rate-5').tap();
    await expect(page.getByTestId('loupe-cull-bar')).toHaveAttribute('data-rating', '5');
    await expectNoOverflow(page);
    await shot(page, 'tablet-02-loupe');
  });
});

test.describe('desktop, 1440x900', () => {
  test('the import menu opens over the grid, Folder… is reachable, and focus inside keeps the header in place', async ({ page }) => {
    await page.goto('/');
    await page.locator('header [data-testid="file-input"]').setInputFiles(files(6));
    await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible({ timeout: 60_000 });
    await page.getByTestId('import-dismiss').click();
    await shot(page, 'desktop-01-grid');

    await page.getByTestId('import-menu').click();
    const folder = page.getByTestId('import-folder');
    await expectOnScreen(page, folder);
    await shot(page, 'desktop-02-import-menu');
    await folder.focus();
    await page.keyboard.press('Tab');
    const header = page.locator('header');
    expect(await header.evaluate((h) => [h.scrollLeft, h.scrollTop, Math.round(h.getBoundingClientRect().top)])).toEqual([0, 0, 0]);
    const chooser = page.waitForEvent('filechooser');
    await folder.click();
    expect((await chooser).isMultiple()).toBe(true);
    await expect(page.getByTestId('import-options')).toHaveCount(0);

    await page.getByTestId('grid-cell').first().dblclick();
    await expect(page.locator('[data-testid="loupe"][data-loaded="true"]')).toBeVisible();
    // a mouse gets no touch bar; the film strip and the side panel stay
    await expect(page.getByTestId('loupe-cull-bar')).toHaveCount(0);
    await expect(page.getByTestId('film-strip')).toBeVisible();
    await expect(page.locator('[data-testid="info-panel"][data-variant="side"]')).toBeVisible();
    await shot(page, 'desktop-03-loupe');
  });
});
