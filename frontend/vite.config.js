import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The web app serves the build at /builder (index.html) and /builder/assets/* (files).
const webapp = process.env.VITE_WEBAPP_URL || 'http://127.0.0.1:5000'
const proxied = ['/api', '/agent', '/login', '/logout', '/playbooks', '/static']

export default defineConfig({
  base: '/builder/',
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL('../webapp/static/builder', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod's sources carry esbuild-style annotations Rollup drops harmlessly.
        if (warning.code === 'INVALID_ANNOTATION' && /node_modules/.test(warning.id ?? '')) return
        warn(warning)
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: Object.fromEntries(
      proxied.map((path) => [path, { target: webapp, changeOrigin: false, ws: false }]),
    ),
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.spec.js', 'tests/**/*.spec.js'],
    restoreMocks: true,
  },
})
