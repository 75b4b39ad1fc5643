/**
 * What a config reads besides itself, by content. A run id and a queue job id must change when
 * the data or a file behind a config changes, even if the config's text (its relative paths)
 * does not: a retrained backbone saved over the old weights file, a dataset folder refreshed in
 * place, or two projects whose configs both say `path: data`. So every dataset a config loads
 * is named by the digest of its loaded content (datasetDigest: pixels, labels, classes), and
 * every other file it names (pretrained weights, image triggers and masks, probe stencils) by
 * the sha256 of its bytes. Paths themselves do not count: the same data at another path, or on
 * another machine, gives the same digests.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { DatasetError, datasetDigest, resolveCacheRoot, streamedContentKey } from '../data/index.js';
import type { DatasetSpec, ExperimentConfig } from './config/index.js';
import { fileDigest } from './file-digest.js';
import { loadConfiguredDataset, loaderSpecOf } from './prepare.js';

function isDatasetSpec(v: Record<string, unknown>): boolean {
  return 'name' in v && 'split' in v && 'path' in v && 'imagesFile' in v && 'labelsFile' in v;
}

/**
 * The content digest of every input of a (resolved, single sweep point) config, keyed by its
 * config key: `source.dataset`, `targets[0].testDataset`, `source.bias.trigger.path`,
 * `source.pretrained.weights`, `evaluation.patches[1].path`, … Datasets are digested whole
 * (every class, before `range` and `limit`, which the config itself records; loads are cached in
 * the process). Throws an error naming the file and the config key when an input cannot be read. The `sweep` block is skipped: a sweep point's config already holds its values.
 *
 * A streamed folder is digested through its files' sha256 digests, memoised under
 * `<cacheRoot>/digests/` (the plan passes the cache folder its runs build their shard caches in,
 * so a first run reads and hashes each file once; default `resolveCacheRoot()`).
 *
 * @example inputDigests(loaded.config, loaded.dir) // { 'source.dataset': '9b1e…', 'targets[0].dataset': '04c2…', … }
 */
export function inputDigests(config: ExperimentConfig, dir: string, cacheRoot: string = resolveCacheRoot()): Record<string, string> {
  const out: Record<string, string> = {};
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const pre = config.source.pretrained;
  if (pre !== null) {
    out['source.pretrained.weights'] = fileDigest(abs(pre.weights), 'source.pretrained.weights', 'weights file');
    if (pre.control !== null) out['source.pretrained.control'] = fileDigest(abs(pre.control), 'source.pretrained.control', 'weights file');
  }
  const visit = (v: unknown, key: string): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${key}[${i}]`));
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (isDatasetSpec(o)) {
      const spec = o as unknown as DatasetSpec;
      let ds;
      try {
        if (spec.stream === true) {
          // Streamed: the shard cache key (every file's content digest, labels, classes, decoding), without decoding anything.
          out[key] = streamedContentKey(
            loaderSpecOf({ ...spec, classes: null, range: null, limit: null }, dir, config.source.pretrained),
            cacheRoot,
          );
          return;
        }
        ds = loadConfiguredDataset({ ...spec, classes: null, range: null, limit: null }, dir, 0, key, {
          backbone: config.source.pretrained,
        });
      } catch (e) {
        // Name the config key too: a newcomer's folder path is wrong in the config, not in the data.
        if (!(e instanceof DatasetError)) throw e;
        const said = e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message;
        const where = spec.path !== null ? `${key}.path = ${spec.path}` : `${key}.name = ${spec.name}`;
        throw new DatasetError(e.file, `${said} (config key ${where})`, { cause: e });
      }
      out[key] = datasetDigest(ds);
      return;
    }
    if (o.kind === 'image' && typeof o.path === 'string') {
      out[`${key}.path`] = fileDigest(abs(o.path), `${key}.path`);
      if (typeof o.maskPath === 'string') out[`${key}.maskPath`] = fileDigest(abs(o.maskPath), `${key}.maskPath`);
    }
    for (const [k, x] of Object.entries(o)) if (!(key === '' && k === 'sweep')) visit(x, key === '' ? k : `${key}.${k}`);
  };
  visit(config, '');
  return out;
}

/** One hash (first 16 hex of sha256) over inputDigests: what run ids and queue job ids carry. `cacheRoot` as for inputDigests. */
export function inputsHash(config: ExperimentConfig, dir: string, cacheRoot?: string): string {
  const d = inputDigests(config, dir, cacheRoot);
  const h = createHash('sha256');
  for (const k of Object.keys(d).sort()) h.update(`${k}\0${d[k]}\0`);
  return h.digest('hex').slice(0, 16);
}
