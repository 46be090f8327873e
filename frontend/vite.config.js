import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The page is served by the gateway itself: the build lands among the service's static resources (Spring Boot
// serves classpath:/static at /). `npm run dev` serves it with hot reload and sends /api to a running gateway.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: '../target/classes/static',
    emptyOutDir: true,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
