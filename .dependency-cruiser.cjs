/**
 * Import rules for src/, checked by `npm run lint` (dependency-cruiser): no import cycles, and the
 * layers point one way, so the floors stay floors (docs/architecture.md draws them):
 *
 *   src/torch, src/store                        the native tensor library; the results store (runs,
 *                                               metrics, cache, code version); each imports no other src/ folder
 *   src/nn, src/data                            modules and models; datasets (on torch)
 *   src/bias, src/train, src/metrics, src/report  biases, the trainer, metrics, report rendering
 *   src/audit, src/experiment                   capabilities built from the library
 *   src/publish                                 report content (sections, findings, verdicts), from the store
 *   src/plan                                    plan -> execute -> rows -> store (the runner, in-process executor)
 *   src/queue -> src/serve -> src/cli           the queue executor and worker, front ends, from above
 */
/** Folders a layer may not import from, by layer (a regex alternative of folder names). */
const above = {
  torch: '[a-z-]+', // anything else in src/
  store: '[a-z-]+',
  'nn|data': 'bias|train|metrics|report|audit|experiment|publish|plan|queue|serve|cli',
  'bias|train|metrics|report': 'audit|experiment|publish|plan|queue|serve|cli',
  audit: 'experiment|publish|plan|queue|serve|cli',
  experiment: 'audit|publish|plan|queue|serve|cli',
  publish: 'audit|plan|queue|serve|cli',
  plan: 'audit|publish|queue|serve|cli',
  queue: 'audit|publish|serve|cli',
  serve: 'cli',
};

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'An import cycle: modules that load each other. Move what both need into a module of its own.',
      from: { path: '^src/' },
      // A cycle made only of `import type` edges is erased at compile time (no load order); it is
      // reported by the next rule as a warning instead.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-type-cycle',
      severity: 'warn',
      comment: 'A cycle through `import type` only: harmless at run time, but the modules still know each other.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...Object.entries(above).map(([layer, upper]) => ({
      name: `layers-point-down:${layer.replace(/\|/g, ',')}`,
      severity: 'error',
      comment: `src/{${layer}} may not import from src/{${upper}}: the layers point down (see docs/architecture.md).`,
      from: { path: `^src/(${layer})/` },
      to: { path: `^src/(${upper})/`, pathNot: `^src/(${layer})/` },
    })),
    {
      name: 'publish-reads-the-store',
      severity: 'error',
      comment:
        'Report content reads what runs wrote (src/store: metrics, facts) and the config; it does not prepare data or run jobs. Only src/publish/legacy-facts.ts (reports on runs from before facts) may.',
      from: { path: '^src/publish/', pathNot: '^src/publish/legacy-facts\\.ts$' },
      to: { path: '^src/experiment/', pathNot: '^src/experiment/(config/|run-ids\\.ts$)' },
    },
    {
      name: 'layers-know-no-neighbours',
      severity: 'error',
      comment: 'A layer in src/nn/layers imports another layer: fusion belongs to the pass in src/nn/fusion.ts, not to the layers.',
      from: { path: '^src/nn/layers/(?!index\\.ts$)[^/]+$' },
      to: { path: '^src/nn/layers/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve to a file (a cycle through it would go unseen).',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Count `import type` too (the TypeScript source, not the compiled JavaScript).
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|native|dist)/' },
  },
};
