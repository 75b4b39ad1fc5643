/** Plugin: the app's stylesheet, script and icon (from memory, never from disk). */
import type { FastifyPluginAsync } from 'fastify';
import { APP_CSS, APP_JS, FAVICON_SVG } from '../assets.js';

/** GET /assets/app.css, /assets/app.js, /favicon.svg and /favicon.ico. */
export const assetRoutes: FastifyPluginAsync = async (app) => {
  app.get('/assets/app.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(APP_CSS),
  );
  app.get('/assets/app.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(APP_JS),
  );
  for (const url of ['/favicon.svg', '/favicon.ico'])
    app.get(url, async (_req, reply) => reply.type('image/svg+xml').header('cache-control', 'max-age=86400').send(FAVICON_SVG));
};
