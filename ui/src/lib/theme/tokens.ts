//! The colour tokens of the two themes — `normal` and `high-contrast` (outdoor stalls in
//! sunlight) — and the text/background pairs the UI draws with them. The CSS reads the tokens as
//! custom properties (`applyTheme`); the unit test computes every pair's contrast from here.

export type ThemeName = 'normal' | 'high-contrast';

export interface Tokens {
  bg: string; // page background
  surface: string; // panels, cards, the cart
  surfaceAlt: string; // alternate rows, the selected line
  text: string;
  textMuted: string;
  border: string;
  accent: string; // primary buttons' background
  accentText: string; // text on accent
  danger: string; // error banners' background
  dangerText: string;
  ok: string; // online badge, success
  okText: string;
  warn: string; // offline badge, pending
  warnText: string;
  focus: string; // focus ring
}

export const THEMES: Record<ThemeName, Tokens> = {
  normal: {
    bg: '#eef1f4',
    surface: '#ffffff',
    surfaceAlt: '#e3e9f0',
    text: '#1a2230',
    textMuted: '#4a5566',
    border: '#b6c0cc',
    accent: '#1f5fae',
    accentText: '#ffffff',
    danger: '#b3261e',
    dangerText: '#ffffff',
    ok: '#1e6b34',
    okText: '#ffffff',
    warn: '#8a4b00',
    warnText: '#ffffff',
    focus: '#f0a000',
  },
  'high-contrast': {
    bg: '#000000',
    surface: '#000000',
    surfaceAlt: '#1f1f1f',
    text: '#ffffff',
    textMuted: '#e6e6e6',
    border: '#ffffff',
    accent: '#ffe600',
    accentText: '#000000',
    danger: '#ffb3b3',
    dangerText: '#000000',
    ok: '#7dff9a',
    okText: '#000000',
    warn: '#ffc266',
    warnText: '#000000',
    focus: '#00e5ff',
  },
};

/** Every text colour drawn on every background it is drawn on: [foreground, background, where]. */
export const TEXT_PAIRS: [keyof Tokens, keyof Tokens, string][] = [
  ['text', 'bg', 'body text'],
  ['text', 'surface', 'panel text'],
  ['text', 'surfaceAlt', 'selected line'],
  ['textMuted', 'bg', 'hints on the page'],
  ['textMuted', 'surface', 'hints in panels'],
  ['textMuted', 'surfaceAlt', 'hints on the selected line'],
  ['accentText', 'accent', 'primary buttons'],
  ['dangerText', 'danger', 'error messages'],
  ['okText', 'ok', 'online badge'],
  ['warnText', 'warn', 'offline badge'],
];

/** Puts a theme's tokens on `root` as `--bg`, `--surface-alt`, … and names it in data-theme. */
export function applyTheme(root: HTMLElement, name: ThemeName): void {
  const t = THEMES[name];
  for (const [k, v] of Object.entries(t)) {
    root.style.setProperty(`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`, v);
  }
  root.dataset.theme = name;
}
