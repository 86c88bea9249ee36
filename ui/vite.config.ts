import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import type { Plugin } from "vite";
import { defineInsteadOfAssignToString } from "./src/lib/frozenPrototype";

// The app runs with Tauri's `freezePrototype`; xterm.js needs one fix for it
// (see src/lib/frozenPrototype.ts).
function xtermUnderFrozenPrototype(): Plugin {
  return {
    name: "xterm-under-frozen-prototype",
    transform(code, id) {
      if (!id.includes("@xterm/xterm")) return null;
      const patched = defineInsteadOfAssignToString(code);
      return patched === code ? null : { code: patched, map: null };
    },
  };
}

// Tauri loads the built files from ui/dist (frontendDist = "../ui/dist") and,
// in development, this dev server on a fixed port (devUrl).
const tauriDevHost = process.env.TAURI_DEV_HOST;

export default defineConfig({
  plugins: [svelte(), xtermUnderFrozenPrototype()],
  base: "./",
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    host: tauriDevHost || false,
    hmr: tauriDevHost ? { protocol: "ws", host: tauriDevHost, port: 1421 } : undefined,
    watch: { ignored: ["**/src-tauri/**"] },
  },
  envPrefix: ["VITE_", "TAURI_ENV_"],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Every asset is a file of its own: nothing needs a data: or inline exception in the CSP.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
