/**
 * Facts for a report on runs written before runs wrote them (src/store/facts.ts): computed here
 * exactly as the report used to, by loading the source, preparing every target and re-injecting
 * the bias for the config's first seed, through the same builder a run uses
 * (src/experiment/facts.ts). The only module of src/publish that prepares data (the import rules
 * in .dependency-cruiser.cjs keep it so); rerunning the experiment with this code writes the facts
 * and makes this path unused.
 */
import { RunFactsBuilder } from '../experiment/facts.js';
import { loadSource, prepareTarget, sourceVariants, type PrepareContext } from '../experiment/prepare.js';
import type { RunFactsWithImages } from '../store/index.js';

/**
 * The facts of `ctx`'s config at `seed`, computed from freshly prepared data. With `pictures`
 * false the example pictures are left out (and the source variants not built).
 */
export function recomputeFacts(ctx: PrepareContext, seed: number, pictures = true): RunFactsWithImages {
  const src = loadSource(ctx, seed);
  const builder = new RunFactsBuilder(ctx, seed, src, pictures ? sourceVariants(ctx, seed, src) : [], { pictures });
  for (let i = 0; i < ctx.config.targets.length; i++) builder.addTarget(prepareTarget(ctx, i, seed, src));
  return builder.finish();
}
