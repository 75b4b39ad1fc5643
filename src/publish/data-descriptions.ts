/**
 * Which images each number of a report was computed on, in words, from the config and the facts
 * its runs wrote (src/store/facts.ts): counts, splits, holdouts, class lists and limits.
 */
import type { DatasetSpec, ExperimentConfig } from '../experiment/config/index.js';
import type { RunFacts } from '../store/index.js';

/**
 * A line saying which images a dataset spec reads: format, split (and where it comes from),
 * classes, range and limit, and how many images were loaded, e.g.
 * `mnist test split, 1,000 images (seeded class-balanced subset of 2,004)`.
 */
export function describeDataSpec(spec: DatasetSpec, n?: number): string {
  const parts: string[] = [];
  const origin =
    spec.holdout !== null
      ? `${spec.split} part of a seeded ${Math.round(spec.holdout * 100)}% holdout (holdoutSeed ${spec.holdoutSeed})`
      : spec.name === 'folder'
        ? `${spec.split} split (its ${spec.split === 'test' ? 'test/ or val/' : 'train/'} folder, or the whole folder for a flat training set)`
        : `${spec.split} split`;
  parts.push(`${spec.name}${spec.path !== null ? ` at ${spec.path}` : ''}, ${origin}`);
  if (spec.range !== null) parts.push(`positions [${spec.range[0]}, ${spec.range[1]})`);
  if (spec.classes !== null) parts.push(`classes ${spec.classes.map((x) => JSON.stringify(x)).join(', ')}`);
  if (n !== undefined)
    parts.push(`${n.toLocaleString('en-US')} images${spec.limit !== null ? ` (seeded class-balanced subset, limit ${spec.limit})` : ''}`);
  else if (spec.limit !== null) parts.push(`at most ${spec.limit} images (seeded class-balanced subset)`);
  return parts.join(', ');
}

/** Which images each of an experiment's numbers was computed on, by role (see `dataDescriptions`). */
export type DataDescriptions = Record<string, string>;

/**
 * Which images every accuracy of an experiment is computed on, one line per role, from the config
 * and the facts of a run of it (the datasets as loaded for its seed): the source's training data,
 * the source accuracy's test data (or why there is none), and each target's training and test
 * data (clean accuracy, ASR, subgroup and skew numbers are all on the target's test images).
 * Written into the report's overview and into report.json (experiments[].data) beside aggregate.csv.
 *
 * @example dataDescriptions(config, facts)['targets.mnist.test'] // 'mnist test split, 1,000 images (seeded class-balanced subset, limit 1000)'
 */
export function dataDescriptions(c: ExperimentConfig, facts: Pick<RunFacts, 'source' | 'sourceTest' | 'targets'>): DataDescriptions {
  const out: DataDescriptions = {};
  if (c.source.pretrained !== null) out['source.train'] = `not trained here (pretrained weights ${c.source.pretrained.weights})`;
  else out['source.train'] = describeDataSpec(c.source.dataset, facts.source.images);
  const testSpec = facts.sourceTest as DatasetSpec | null;
  out['source.accuracy'] =
    testSpec !== null
      ? describeDataSpec(testSpec)
      : c.source.pretrained !== null
        ? 'not measured (a pretrained source)'
        : c.source.bias.kind === 'spurious'
          ? 'not measured (a spurious source: its test images would need the attribute composed)'
          : 'not measured: the source dataset has no test split (set a holdout, or use a folder with a test/ sub-folder)';
  c.targets.forEach((t, i) => {
    const td = facts.targets[i];
    out[`targets.${t.name}.train`] = describeDataSpec(t.dataset, td?.trainImages);
    out[`targets.${t.name}.test`] = describeDataSpec(t.testDataset, td?.testImages ?? undefined);
  });
  return out;
}
