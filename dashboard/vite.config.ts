import { defineConfig } from 'vite';

// The daemon serves index.html at / and /ui/, and the bundle under /ui/ (host/src/api/ui-route.ts):
// everything is built into dist/ and nothing is loaded from elsewhere at run time.
export default defineConfig({
  root: import.meta.dirname,
  base: '/ui/',
  // Preact's automatic JSX runtime (the same settings as tsconfig.json).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // One small page: a single chunk, no source maps shipped to the board.
    chunkSizeWarningLimit: 400,
    sourcemap: false,
  },
});
