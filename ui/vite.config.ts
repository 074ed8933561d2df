import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";
import { fileURLToPath } from "node:url";

const uiRoot = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: uiRoot,
  plugins: [svelte({ configFile: false }), ...(process.env.VITEST ? [svelteTesting()] : [])],
  // Keep Vite's cache in the root node_modules (ignored by git), not in ui/.
  cacheDir: "../node_modules/.vite",
  clearScreen: false,
  // tauri.conf.json's devUrl is http://localhost:1420.
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // One stylesheet file and no assets inlined as data: URLs, which the CSP would have to allow.
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    target: "es2022",
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    setupFiles: ["src/test/setup.ts"],
  },
});
