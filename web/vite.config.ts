// The connect portal: built into api/web/portal/, served by the API at /portal/ (api/routers/portal.py).
import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: "/portal/",
  plugins: [react()],
  build: {
    outDir: resolve(here, "../api/web/portal"),
    emptyOutDir: true,
    // The page's CSP allows scripts and styles from 'self' only: nothing inlined.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: { portal: resolve(here, "index.html"), oauth: resolve(here, "oauth.html") },
    },
  },
});
