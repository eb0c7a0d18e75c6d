/**
 * Layout checks for a phone screen, run in the page: nothing sticks out sideways; no two
 * controls, text elements, cards or notices overlap, and no two controls, cards or
 * notices touch; and no control, label, heading, date or amount breaks onto a second
 * line (prose may wrap; these may not).
 * @module
 */
import type { Page } from 'playwright-core';

/** One problem found, naming the element by tag, class and text. */
export type LayoutProblem = string;

/**
 * Checks the page as it is now (the open dialog's content, if a modal is open).
 * @returns the problems, empty when the layout is clean
 */
export function layoutProblems(page: Page): Promise<LayoutProblem[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const name = (el: Element) =>
      `<${el.tagName.toLowerCase()}${el.className ? ` .${String(el.className).split(' ').join('.')}` : ''}> "${(el.textContent ?? '').trim().slice(0, 40)}"`;
    const visible = (el: Element) => {
      const r = el.getBoundingClientRect();
      const st = getComputedStyle(el);
      if (r.width < 2 || r.height < 2 || st.visibility === 'hidden' || st.opacity === '0')
        return false;
      // Screen-reader-only text is clipped to 1 px on purpose.
      return !el.closest('.sr-only, .skip-link');
    };
    const modal = document.querySelector('dialog[open]');
    const scope: ParentNode = modal ?? document;
    const width = document.documentElement.clientWidth;

    // 1. Nothing wider than the screen.
    if (document.documentElement.scrollWidth > width)
      problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
    for (const el of scope.querySelectorAll('body *')) {
      if (!visible(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.left < -0.5 || r.right > width + 0.5)
        problems.push(`${name(el)} sticks out: ${Math.round(r.left)}..${Math.round(r.right)}`);
    }

    // 2. Controls and text leaves neither overlap nor touch.
    const CONTROL = 'button, a, input, textarea, [role="switch"], [role="progressbar"], .badge';
    // Framed blocks (cards, notices) need air between them, as controls do.
    const FRAMED = '.card, .notice';
    const framed = [...scope.querySelectorAll(FRAMED)].filter(visible);
    for (let i = 0; i < framed.length; i++)
      for (let j = i + 1; j < framed.length; j++) {
        const a = framed[i]!;
        const b = framed[j]!;
        if (a.contains(b) || b.contains(a)) continue;
        const ra = a.getBoundingClientRect();
        const rb = b.getBoundingClientRect();
        const gapX = Math.max(rb.left - ra.right, ra.left - rb.right);
        const gapY = Math.max(rb.top - ra.bottom, ra.top - rb.bottom);
        if (gapX < 2 && gapY < 2)
          problems.push(`${name(a)} ${gapX < 0 && gapY < 0 ? 'overlaps' : 'touches'} ${name(b)}`);
      }
    const boxes = [...scope.querySelectorAll('body *')].filter(
      (el) =>
        visible(el) &&
        !el.parentElement?.closest(CONTROL) &&
        (el.matches(CONTROL) || (el.children.length === 0 && (el.textContent ?? '').trim() !== '')),
    );
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        if (a.contains(b) || b.contains(a)) continue;
        const ra = a.getBoundingClientRect();
        const rb = b.getBoundingClientRect();
        const gapX = Math.max(rb.left - ra.right, ra.left - rb.right);
        const gapY = Math.max(rb.top - ra.bottom, ra.top - rb.bottom);
        // Text of one line sits flush against the next line: only controls need air.
        const controls = a.matches(CONTROL) && b.matches(CONTROL);
        if (gapX < (controls ? 2 : 0) && gapY < (controls ? 2 : 0))
          problems.push(`${name(a)} ${gapX < 0 && gapY < 0 ? 'overlaps' : 'touches'} ${name(b)}`);
      }

    // 3. Controls, labels, dates and amounts stay on one line.
    const oneLine =
      'button, .button, .badge, .nav-link, .brand, .seed-word, .backup-date, .payment-amount, .balance, .progress-text, .progress-bytes, .switch-label, .field label, .segmented span, .notice-footer .small, h1, h2';
    for (const el of scope.querySelectorAll(oneLine)) {
      if (!visible(el)) continue;
      const range = document.createRange();
      range.selectNodeContents(el);
      // Boxes that share most of their height are on one line (an icon and its text).
      const lines: DOMRect[] = [];
      for (const r of range.getClientRects()) {
        if (r.width === 0 || r.height === 0) continue;
        const same = lines.find(
          (l) =>
            Math.min(l.bottom, r.bottom) - Math.max(l.top, r.top) >
            Math.min(l.height, r.height) / 2,
        );
        if (!same) lines.push(r);
      }
      if (lines.length > 1) problems.push(`${name(el)} wraps onto ${lines.length} lines`);
    }
    return problems;
  });
}
