// The till's UI build: Svelte 5 + TypeScript, served to the Tauri webview from ui/dist.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true }, // the app's devUrl (tauri.conf.json)
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2021' },
  test: { include: ['tests/unit/**/*.test.ts'], environment: 'node' },
});
