/**
 * Vite config for the Noah Backup web app. The server serves `dist/` at `/`, so API
 * calls are same-origin; in dev (`npm run dev -w packages/web`) the `/v0` routes are
 * proxied to a local server (NOAH_DEV_SERVER, default http://127.0.0.1:8080).
 */
import { defineConfig } from 'vite';

const devServer = process.env.NOAH_DEV_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // Vite 8 transforms TSX with Oxc; the automatic runtime means no `import React`.
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/v0': { target: devServer, changeOrigin: false },
      '/blob': { target: devServer, changeOrigin: false },
    },
  },
});
