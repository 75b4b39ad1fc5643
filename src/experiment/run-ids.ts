/**
 * Run ids and what may be reused. A run (one sweep point and seed) is identified by its
 * experiment name, sweep point, seed, a hash of its resolved config together with the content
 * of its inputs (./inputs.ts: the data it loads and the files it names, not their paths), and
 * the code version (src/store/code-version.ts and the libtorch build):
 * `<name>[-<sweep>]-seed<s>-<config+inputs8>-c<code12>`. So a stored run is reused only when
 * the config, its data and files, and the numeric code are unchanged; a run
 * of the same config under other code is *stale*: it is rerun, or reused on request
 * (`acceptStale`, the CLI's `--accept-stale`), and then the report says so.
 */
import { createHash } from 'node:crypto';
import { resolveCacheRoot } from '../data/index.js';
import { buildInfo } from '../torch/index.js';
import { codeVersion } from '../store/code-version.js';
import { expandSweep, stableHash, type ExperimentConfig } from './config/index.js';
import { inputsHash } from './inputs.js';
import type { RunRecord, RunStore } from '../store/index.js';

let memo: string | null = null;

/**
 * The code version of results made by this process: 16 hex of sha256(codeVersion() + libtorch
 * version). Part of every run id and source-model cache key. `BIAS_TRANSFER_CODE_HASH` pins it
 * (16 hex): the queue tests start workers from a checkout that others edit while they run, and
 * a worker refuses jobs made under another code version.
 */
export function codeHash(): string {
  const pinned = process.env.BIAS_TRANSFER_CODE_HASH;
  if (pinned !== undefined && pinned !== '' && !/^[0-9a-f]{16}$/.test(pinned))
    throw new Error(`BIAS_TRANSFER_CODE_HASH must be 16 hex digits, got '${pinned}'`);
  memo ??= pinned || createHash('sha256').update(`${codeVersion()}\0${buildInfo().torchVersion}`).digest('hex').slice(0, 16);
  return memo;
}

/**
 * The part of a run id that does not depend on the code: `<name>[-<sweep>]-seed<s>-<hash8>-c`,
 * the hash over the config (this seed only) and the content of its inputs; `dir` is the folder
 * the config's relative paths resolve against. `inputs` is `inputsHash(config, dir)` when the
 * caller has it already (the planner hashes each sweep point's inputs once). Throws naming the
 * config key when an input cannot be read.
 */
export function runIdPrefix(config: ExperimentConfig, sweepId: string, seed: number, dir: string, inputs?: string): string {
  return prefixWith(config, sweepId, seed, stableHash({ config: { ...config, seeds: [seed] }, inputs: inputs ?? inputsHash(config, dir) }));
}

function prefixWith(config: ExperimentConfig, sweepId: string, seed: number, hash: string): string {
  return `${config.name}-${sweepId === 'default' ? '' : `${sweepId}-`}seed${seed}-${hash.slice(0, 8)}-c`.replace(
    /[^A-Za-z0-9._=,+-]/g,
    '_',
  );
}

/**
 * The prefix runs had before their inputs' content was part of the id (the hash over the config
 * alone). Such runs were made by other code, so they are stale: reused only on request.
 */
function configOnlyPrefix(config: ExperimentConfig, sweepId: string, seed: number): string {
  return prefixWith(config, sweepId, seed, stableHash({ ...config, seeds: [seed] }));
}

/**
 * The id of the run of one sweep point and seed under the given code version (default: this
 * process's): readable, and tied to the content of the resolved config and to the code (so an
 * edited config or changed numeric code starts new runs instead of reusing old ones). `inputs`:
 * as for runIdPrefix.
 */
export function runIdFor(
  config: ExperimentConfig,
  sweepId: string,
  seed: number,
  dir: string,
  code: string = codeHash(),
  inputs?: string,
): string {
  return `${runIdPrefix(config, sweepId, seed, dir, inputs)}${code.slice(0, 12)}`;
}

/** The run ids an experiment config consists of (every sweep point and seed), under the current code; `dir` as for runIdPrefix. */
export function expectedRunIds(config: ExperimentConfig, dir: string): string[] {
  return expandSweep(config).flatMap((p) => p.config.seeds.map((seed) => runIdFor(p.config, p.id, seed, dir)));
}

/** The code version a run id was made with (the 12 hex after '-c'), or null for an id from before code versions. */
export function codeOfRunId(id: string): string | null {
  return /-c([0-9a-f]{12})$/.exec(id)?.[1] ?? null;
}

/**
 * The newest finished run of the same config, sweep point and seed made by *other* code, or
 * null: what `acceptStale` reuses when the current code has not run it. Runs from before the
 * inputs' content was part of run ids match by their config alone (that code did not record the
 * data they read); runs from before the code version was part of ids end at the config hash.
 * `inputs`: as for runIdPrefix.
 */
export function staleRun(
  store: RunStore,
  config: ExperimentConfig,
  sweepId: string,
  seed: number,
  dir: string,
  code: string = codeHash(),
  inputs?: string,
): RunRecord | null {
  const prefix = runIdPrefix(config, sweepId, seed, dir, inputs);
  const current = `${prefix}${code.slice(0, 12)}`;
  const older = configOnlyPrefix(config, sweepId, seed);
  const legacy = older.slice(0, -2);
  const done = store
    .listRuns({ name: config.name, status: 'done' })
    .filter((r) => (r.id.startsWith(prefix) || r.id.startsWith(older) || r.id === legacy) && r.id !== current);
  return done.at(-1) ?? null;
}

/** Which stored run stands for each expected run of a config. */
export interface RunChoice {
  sweepId: string;
  seed: number;
  /** The current code's run id. */
  expected: string;
  /** The run whose results are used: the expected one, a stale one (with acceptStale), or null (none done). */
  used: string | null;
  /** True when `used` was made by other code. */
  stale: boolean;
  /** Finished runs of the same config under other code that were not used (acceptStale off). */
  staleAvailable: string | null;
}

/**
 * For every sweep point and seed of `config`: the current code's run if it is done, else (with
 * `acceptStale`) the newest stale one. Reports use this so they show the same runs the runner
 * reused, and say which are stale.
 */
export function chooseRuns(store: RunStore, config: ExperimentConfig, dir: string, opts: { acceptStale?: boolean } = {}): RunChoice[] {
  const out: RunChoice[] = [];
  for (const p of expandSweep(config)) {
    // The inputs are hashed once per sweep point, not for every seed.
    const inputs = p.config.seeds.length > 0 ? inputsHash(p.config, dir, resolveCacheRoot({ resultsRoot: store.root })) : '';
    for (const seed of p.config.seeds) {
      const expected = runIdFor(p.config, p.id, seed, dir, codeHash(), inputs);
      const cur = store.getRun(expected);
      const stale = staleRun(store, p.config, p.id, seed, dir, codeHash(), inputs);
      if (cur?.status === 'done') out.push({ sweepId: p.id, seed, expected, used: expected, stale: false, staleAvailable: null });
      else if (opts.acceptStale && stale) out.push({ sweepId: p.id, seed, expected, used: stale.id, stale: true, staleAvailable: null });
      else out.push({ sweepId: p.id, seed, expected, used: null, stale: false, staleAvailable: stale?.id ?? null });
    }
  }
  return out;
}

/**
 * The seeds of every finished run of `config` (any sweep point) under the current code in
 * `store`, besides the config's own seeds: what a report pools. A stored run counts only when
 * its id is exactly the id this config gives that seed (same settings, data and code), so runs
 * of other overrides of the same experiment name are left out.
 */
export function finishedSeeds(store: RunStore, config: ExperimentConfig, dir: string): number[] {
  const done = store.listRuns({ name: config.name, status: 'done' });
  const seeds = new Set<number>();
  const ids = new Set(done.map((r) => r.id));
  const candidates = new Set(done.flatMap((r) => (r.seed === null ? [] : [r.seed])));
  for (const p of expandSweep(config)) {
    // The inputs are hashed once per sweep point (and not at all without candidates).
    let inputs: string | undefined;
    for (const seed of candidates) {
      inputs ??= inputsHash(p.config, dir, resolveCacheRoot({ resultsRoot: store.root }));
      if (!seeds.has(seed) && ids.has(runIdFor(p.config, p.id, seed, dir, codeHash(), inputs))) seeds.add(seed);
    }
  }
  return [...seeds].sort((a, b) => a - b);
}
