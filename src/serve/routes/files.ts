/**
 * Plugin: files of the results root as they are (reports, CSV, run config and metrics, logs) at
 * /files/<path inside the root>. The path is checked by `resolveInRoot`: nothing outside the root
 * is ever read, whatever the URL (`..`, encoded slashes, symlinks).
 */
import type { FastifyPluginAsync } from 'fastify';
import { readServedFile, resolveInRoot } from '../paths.js';
import type { ServeContext } from '../context.js';

/** What a served file may do in the browser: show itself, its inline styles and data: images; no script, no network. */
export const FILES_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

/** GET /files/* */
export const fileRoutes: FastifyPluginAsync<{ ctx: ServeContext }> = async (app, { ctx }) => {
  app.get(
    '/files/*',
    { schema: { params: { type: 'object', properties: { '*': { type: 'string', maxLength: 1024 } } } } },
    async (req, reply) => {
      const rel = (req.params as { '*': string })['*'];
      const { body, type } = readServedFile(resolveInRoot(ctx.rootReal, rel));
      return reply.type(type).header('content-security-policy', FILES_CSP).header('cache-control', 'no-cache').send(body);
    },
  );
};
