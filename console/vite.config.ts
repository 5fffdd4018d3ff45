import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Everything the page loads is in the bundle: the console's CSP allows scripts and styles from 'self' only.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, assetsInlineLimit: 0 },
});
