// The browser-test build: the same UI with the Tauri IPC answered by the mock backend
// (tests/browser/mock), written to ui/dist-mock. Never shipped.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { resolve } from 'node:path';

export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: 'dist-mock',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: { input: resolve(__dirname, 'mock.html') },
  },
});
