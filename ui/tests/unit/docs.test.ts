import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHORTCUTS } from '../../src/lib/shortcuts';

describe('docs/ui.md', () => {
  const doc = readFileSync(new URL('../../../docs/ui.md', import.meta.url), 'utf8');
  it('lists every shortcut the app has', () => {
    for (const s of SHORTCUTS) {
      const row = doc.split('\n').find((l) => l.startsWith('| ') && l.includes(`| ${s.what} |`));
      expect(row, s.what).toBeDefined();
      for (const k of s.keys) expect(row).toContain(`\`${k}\``);
    }
  });
});
