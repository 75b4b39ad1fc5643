/**
 * What an experiment ran, in one sentence generated from its resolved config and the data it
 * loaded (image counts, classes, epochs, seeds, the swept keys): the report shows it beside the
 * config's hand-written description, which can go stale (e.g. under `reproduce --quick`'s overrides).
 */
import type { ExperimentConfig } from '../experiment/config/index.js';
import type { RunFacts } from '../store/index.js';

const count = (n: number) => n.toLocaleString('en-US');
const epochs = (n: number) => `${n} epoch${n === 1 ? '' : 's'}`;

/**
 * One sentence: the source (its data, classes and epochs, or the pretrained weights), each target
 * (training and test images, classes, epochs), the transfer modes and seeds, and the swept keys.
 * Counts are those a run wrote in its facts (`facts`: the first seed's, of the sweep point that
 * is the base config when there is one; else `sizesOf` names the point).
 *
 * @example describeRun(config, facts)
 * // 'As run: source fashion-mnist (5 classes, 10,000 images), 8 epochs; target digits (mnist):
 * //  10 classes, 4,000 training and 1,000 test images, 6 epochs; modes fixed, full, scratch; seeds 0, 1.'
 */
export function describeRun(
  config: ExperimentConfig,
  facts: Pick<RunFacts, 'source' | 'targets'>,
  sizesOf: string = "the base config's",
): string {
  const source = facts.source;
  const pre = config.source.pretrained;
  const src =
    pre !== null || config.sourceTraining === null
      ? `source: pretrained weights ${pre?.weights ?? '?'} (not trained here)`
      : `source ${config.source.dataset.name} (${source.classes.length} classes, ${count(source.images)} images), ${epochs(config.sourceTraining.epochs)}`;
  const tgts = facts.targets.map((t, i) => {
    const spec = config.targets[i];
    const test = t.testImages ?? undefined;
    const name = spec.dataset.name === t.name ? t.name : `${t.name} (${spec.dataset.name})`;
    return `target ${name}: ${t.classes.length} classes, ${count(t.trainImages)} training${test !== undefined ? ` and ${count(test)} test` : ''} images, ${epochs(config.targetTraining.epochs)}`;
  });
  const sweep = Object.entries(config.sweep).map(([k, v]) => `${k} over ${(v as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`);
  return (
    `As run: ${[src, ...tgts].join('; ')}; modes ${config.transfer.modes.join(', ')}; seed${config.seeds.length === 1 ? '' : 's'} ${config.seeds.join(', ')}` +
    `${sweep.length > 0 ? `; sweep: ${sweep.join('; ')} (sizes above are ${sizesOf})` : ''}.`
  );
}
