// Builds the web UI into web/dist, which the daemon serves on its --http port.
// `npx vite --config src/web/vite.config.mjs` serves it in development against a daemon
// on KVMGR_URL (default http://127.0.0.1:8780), proxying the API and its WebSockets.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const target = process.env.KVMGR_URL ?? "http://127.0.0.1:8780";

export default defineConfig({
  root: here("."),
  base: "/",
  plugins: [react()],
  build: {
    outDir: here("../../web/dist"),
    emptyOutDir: true,
    // noVNC uses top-level await.
    target: "es2022",
    chunkSizeWarningLimit: 1024,
    reportCompressedSize: false,
  },
  server: { proxy: { "/v1": { target, ws: true } } },
});
