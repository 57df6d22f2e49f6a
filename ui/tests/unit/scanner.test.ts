import { describe, expect, it } from 'vitest';
import { WedgeDetector } from '../../src/lib/scanner';

function feed(det: WedgeDetector, text: string, start: number, gap: number) {
  let t = start;
  const steps = [];
  for (const ch of text) {
    steps.push(det.key(ch, t));
    t += gap;
  }
  return { steps, t };
}

describe('WedgeDetector', () => {
  it('recognises a fast burst ending in Enter', () => {
    const d = new WedgeDetector({ maxGapMs: 40, minLength: 4 });
    const { t } = feed(d, '5012345678900', 1000, 8);
    expect(d.key('Enter', t)).toEqual({ kind: 'scan', code: '5012345678900' });
  });
  it('treats slow typing then Enter as typing', () => {
    const d = new WedgeDetector({ maxGapMs: 40, minLength: 4 });
    const { t } = feed(d, 'mug blue', 1000, 120);
    expect(d.key('Enter', t)).toEqual({ kind: 'enter' });
  });
  it('needs the Enter to follow quickly too', () => {
    const d = new WedgeDetector({ maxGapMs: 40, minLength: 4 });
    const { t } = feed(d, '12345', 0, 5);
    expect(d.key('Enter', t + 500)).toEqual({ kind: 'enter' });
  });
  it('ignores short bursts (a typist\'s double letter)', () => {
    const d = new WedgeDetector({ maxGapMs: 40, minLength: 4 });
    const { t } = feed(d, 'ab', 0, 10);
    expect(d.key('Enter', t)).toEqual({ kind: 'enter' });
  });
  it('starts a new burst after a pause, keeping only the fast tail', () => {
    const d = new WedgeDetector({ maxGapMs: 40, minLength: 4 });
    feed(d, 'ca', 0, 200);
    const { steps, t } = feed(d, 'TRESTLE:R:K7MQ4', 2000, 6);
    expect(steps[0]).toEqual({ kind: 'char', startsBurst: true });
    expect(steps[1]).toEqual({ kind: 'char', startsBurst: false });
    expect(d.key('Enter', t)).toEqual({ kind: 'scan', code: 'TRESTLE:R:K7MQ4' });
  });
  it('lets Shift through and breaks on other keys', () => {
    const d = new WedgeDetector({ maxGapMs: 40, minLength: 4 });
    d.key('A', 0);
    d.key('Shift', 3);
    d.key('B', 6);
    d.key('C', 9);
    d.key('D', 12);
    expect(d.key('Enter', 15)).toEqual({ kind: 'scan', code: 'ABCD' });
    feed(d, 'ABC', 100, 5);
    d.key('ArrowLeft', 116);
    d.key('D', 120);
    expect(d.key('Enter', 125)).toEqual({ kind: 'enter' });
  });
});
