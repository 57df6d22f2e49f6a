import { describe, expect, it } from 'vitest';
import { contrastRatio, luminance } from '../../src/lib/contrast';
import { TEXT_PAIRS, THEMES } from '../../src/lib/theme/tokens';

describe('contrast', () => {
  it('matches WCAG reference values', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#ffffff', '#ffffff')).toBe(1);
    expect(contrastRatio('#777', '#fff')).toBeCloseTo(4.48, 2);
    expect(luminance('#ff0000')).toBeCloseTo(0.2126, 4);
  });
  it('refuses what is not a colour', () => {
    expect(() => luminance('red')).toThrow();
  });
});

describe('themes', () => {
  for (const [fg, bg, where] of TEXT_PAIRS) {
    it(`high contrast: ${where} (${fg} on ${bg}) is at least 7:1`, () => {
      const t = THEMES['high-contrast'];
      expect(contrastRatio(t[fg], t[bg])).toBeGreaterThanOrEqual(7);
    });
    it(`normal: ${where} (${fg} on ${bg}) is at least 4.5:1 (WCAG AA)`, () => {
      const t = THEMES.normal;
      expect(contrastRatio(t[fg], t[bg])).toBeGreaterThanOrEqual(4.5);
    });
  }
  it('both themes define the same tokens', () => {
    expect(Object.keys(THEMES.normal).sort()).toEqual(Object.keys(THEMES['high-contrast']).sort());
  });
});
