import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
import { VitePWA } from 'vite-plugin-pwa'

// Assets are Django static files under /static/pwa/ (whitenoise); index.html, sw.js and
// manifest.webmanifest are also served from the site root by webapp.views.
const BASE = '/static/pwa/'

/**
 * Write .br and .gz beside each text asset: whitenoise serves a compressed sibling when
 * the browser accepts it (Lighthouse "text compression"), with no work per request.
 */
function precompress(): Plugin {
  return {
    name: 'livehub-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      const dir = options.dir ?? 'dist'
      for (const [name, chunk] of Object.entries(bundle)) {
        if (!/\.(js|css|svg|json)$/.test(name)) continue
        const body = Buffer.from(chunk.type === 'chunk' ? chunk.code : chunk.source)
        if (body.length < 1024) continue
        writeFileSync(join(dir, `${name}.gz`), gzipSync(body, { level: 9 }))
        writeFileSync(join(dir, `${name}.br`), brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }))
      }
    },
  }
}

export default defineConfig({
  base: BASE,
  // Compile-time flags: every component is <script setup> (no Options API) and vue-i18n
  // runs in composition mode without its global components, so that code is dropped.
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2020',
    // dist/.vite/manifest.json: webapp/boot.py modulepreloads a landing page's chunks
    manifest: true,
    rollupOptions: {
      output: {
        // Console-only libraries get stable names so the service worker can skip them.
        manualChunks: (id: string) => (id.includes('node_modules/@zxing/') ? 'zxing' : undefined),
      },
    },
  },
  plugins: [
    vue(),
    precompress(),
    VitePWA({
      // registered by src/pwa.ts at /sw.js with scope "/", not from /static/pwa/
      injectRegister: false,
      registerType: 'autoUpdate',
      filename: 'sw.js',
      manifestFilename: 'manifest.webmanifest',
      manifest: {
        id: '/',
        name: 'LiveHub',
        short_name: 'LiveHub',
        description: 'Live shopping and pick-up in store',
        lang: 'zh-CN',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#b4231f',
        icons: [
          { src: `${BASE}icons/icon-192.png`, sizes: '192x192', type: 'image/png' },
          { src: `${BASE}icons/icon-512.png`, sizes: '512x512', type: 'image/png' },
          { src: `${BASE}icons/icon-512.png`, sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // web push: the `push` and `notificationclick` handlers (public/push-sw.js)
        importScripts: [`${BASE}push-sw.js`],
        inlineWorkboxRuntime: true,
        clientsClaim: true,
        skipWaiting: true,
        globPatterns: ['**/*.{js,css,html,svg,png,woff2}'],
        // hls.js loads only in the live room; it is fetched then, not at install
        // nor are the barcode reader (staff fallback) and chart.js (host dashboard)
        globIgnores: ['**/hls-*.js', '**/zxing-*.js', '**/charts-*.js'],
        modifyURLPrefix: { '': BASE },
        navigateFallback: `${BASE}index.html`,
        navigateFallbackDenylist: [
          /^\/api/, /^\/admin/, /^\/ws\//, /^\/media\//, /^\/s\//, /^\/payments\//,
          /^\/healthz/, /^\/readyz/, /^\/metrics/, /^\/static\/(?!pwa\/)/,
        ],
        runtimeCaching: [
          {
            // the catalogue stays browsable offline
            urlPattern: ({ url }) =>
              url.pathname.startsWith('/api/products') || url.pathname === '/api/locations/',
            handler: 'StaleWhileRevalidate',
            options: { cacheName: 'catalogue', expiration: { maxEntries: 200, maxAgeSeconds: 86400 } },
          },
        ],
      },
    }),
  ],
})
