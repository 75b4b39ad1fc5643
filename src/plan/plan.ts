/**
 * The planner: an experiment config → its runs (one per sweep point and seed) and the jobs they
 * need, a DAG of job specs (./spec.ts). Every run id, inputs hash, source-model key and job id is
 * computed here, once: executors run the specs and never plan again.
 *
 * Per run (sweep point and seed) not yet done under the results root: one `source` job per
 * source variant (biased, clean control), then per target a `scratch` job (if the config has the
 * mode; it needs no source) and one `transfer` job per source variant and transfer mode, each
 * needing the source job of its variant. A fixed-mode transfer that trains its head on cached
 * features (`usesCachedFeatures`: BatchNorm frozen, no augmentation) also needs the `features`
 * job of its (source, target), planned just before it. A source model or a features job shared
 * by several runs (sweep points that differ only after pretraining, or only in the head's
 * training) is one job.
 */
import { resolveCacheRoot } from '../data/index.js';
import { expandSweep, type ExperimentConfig, type LoadedConfig } from '../experiment/config/index.js';
import { featureKeysOf, usesCachedFeatures } from '../experiment/features.js';
import { featuresBatchSpec, sourceModelKey } from '../experiment/jobs.js';
import { inputsHash } from '../experiment/inputs.js';
import { checkDisjointData } from '../experiment/prepare.js';
import { codeHash, runIdFor, staleRun } from '../experiment/run-ids.js';
import { openStore } from '../store/index.js';
import type { TransferMode } from '../train/transfer.js';
import { runData } from './data.js';
import { jobIdOf, type FeaturesJobSpec, type JobSpec, type SourceJobSpec, type TransferJobSpec } from './spec.js';

/** A run of the plan: one sweep point and seed. */
export interface PlannedRun {
  /** Its run id under the plan's code version (./experiment/run-ids.ts). */
  id: string;
  /** Experiment name. */
  name: string;
  sweepId: string;
  seed: number;
  /** The sweep point's resolved config. */
  config: ExperimentConfig;
  /** Results root it is stored under. */
  root: string;
  /** The config file it came from (recorded in the run's metadata). */
  configFile: string;
  /** Folder the config's relative paths resolve against. */
  configDir: string;
  /** inputsHash of the sweep point (hashed once per sweep point). */
  inputs: string;
  /**
   * Where streamed folders' shard caches and file-digest memos live (`Plan.cacheRoot`); carried
   * with the run so its data is built where its inputs were hashed.
   */
  cacheRoot: string;
  /**
   * 'done': finished under this code (reused); 'stale': a finished run of other code is reused
   * (`staleId`, with acceptStale); 'todo': its jobs are in the plan.
   */
  status: 'todo' | 'done' | 'stale';
  /** The reused run's id when `status` is 'stale'. */
  staleId?: string;
  /** Ids of its jobs in the order a single process does them (sources, then per target scratch, and per source its features job if any and transfers); empty unless 'todo'. */
  jobs: string[];
}

/** A job of the plan. */
export interface PlanJob {
  id: string;
  spec: JobSpec;
  /** Ids of the jobs that must complete first. */
  needs: string[];
  /** Ids of the runs it works for (its progress goes to their logs; a source may serve several). */
  runs: string[];
}

/** What `plan` returns. */
export interface Plan {
  name: string;
  /** The code version every id was made with. */
  code: string;
  /**
   * The cache folder of streamed folders (shards and file-digest memos), resolved once here:
   * `PlanOptions.cacheRoot`, else $BIAS_TRANSFER_CACHE (what `--cache DIR` sets), else
   * `<root>/.cache`. The inputs hashes, the run data and the in-process jobs all use it, so a
   * first run hashes each file once.
   */
  cacheRoot: string;
  runs: PlannedRun[];
  /** Every job of the runs to do, each once: sources, then features jobs, then transfers. */
  jobs: PlanJob[];
}

/** Options of `plan`. */
export interface PlanOptions {
  loaded: LoadedConfig;
  /** Results root (finished runs there are not planned again). */
  root: string;
  /** Only these sweep point ids (default all). */
  points?: readonly string[];
  /** Reuse a finished run of the same config made by other code instead of planning it again. */
  acceptStale?: boolean;
  /** Code version (default `codeHash()`); tests use it to make results "of other code". */
  codeVersion?: string;
  /** The cache folder of streamed folders (default `resolveCacheRoot({ resultsRoot: root })`). */
  cacheRoot?: string;
  /** Where data preparation reports (e.g. a streamed folder's shard cache being built); default silent. */
  log?: (line: string) => void;
}

function runLabel(config: ExperimentConfig, sweepId: string, seed: number): string {
  return `${config.name}${sweepId === 'default' ? '' : ` ${sweepId}`} seed${seed}`;
}

/**
 * Plans an experiment: its runs (every sweep point and seed, or only `points`) with their ids
 * and whether they are done under `root`, and the jobs of those that are not. Checks first that
 * source and target images are disjoint (throws before any training). Pure in the config, the
 * data and the store: the same plan on every machine.
 *
 * @example const p = plan({ loaded: loadConfig('experiments/backdoor.yaml'), root: 'runs' }); p.jobs.length
 */
export function plan(opts: PlanOptions): Plan {
  const dir = opts.loaded.dir;
  const code = opts.codeVersion ?? codeHash();
  const points = expandSweep(opts.loaded.config).filter((p) => !opts.points || opts.points.includes(p.id));
  const cacheRoot = opts.cacheRoot ?? resolveCacheRoot({ resultsRoot: opts.root });
  for (const p of points) checkDisjointData({ config: p.config, configDir: dir, cacheRoot, ...(opts.log ? { log: opts.log } : {}) });
  const runs: PlannedRun[] = [];
  const jobs = new Map<string, PlanJob>();
  const add = (spec: JobSpec, needs: string[], runId: string): string => {
    const id = jobIdOf(spec);
    const known = jobs.get(id);
    if (known === undefined) jobs.set(id, { id, spec, needs, runs: [runId] });
    else if (!known.runs.includes(runId)) known.runs.push(runId);
    return id;
  };
  const store = openStore(opts.root);
  try {
    for (const p of points) {
      const config = p.config;
      const inputs = inputsHash(config, dir, cacheRoot);
      for (const seed of config.seeds) {
        const id = runIdFor(config, p.id, seed, dir, code, inputs);
        const run: PlannedRun = {
          id,
          name: config.name,
          sweepId: p.id,
          seed,
          config,
          root: opts.root,
          configFile: opts.loaded.file,
          configDir: dir,
          inputs,
          cacheRoot,
          status: 'todo',
          jobs: [],
        };
        runs.push(run);
        if (store.isDone(`run:${id}`)) {
          run.status = 'done';
          continue;
        }
        if (opts.acceptStale) {
          const old = staleRun(store, config, p.id, seed, dir, code, inputs);
          if (old !== null) {
            run.status = 'stale';
            run.staleId = old.id;
            continue;
          }
        }
        const label = runLabel(config, p.id, seed);
        const base = { config, configDir: dir, seed, codeHash: code, inputs };
        const data = runData({ ...run, ...(opts.log ? { log: opts.log } : {}) }, 'if-room');
        const { variants, norm, geometry } = data.inputs();
        const sourceIds = new Map<'biased' | 'clean', string>();
        for (const v of variants) {
          const spec: SourceJobSpec = {
            kind: 'source',
            ...base,
            label: `${label} source ${v.kind}`,
            variantKind: v.kind,
            key: sourceModelKey({ config, codeHash: code }, v, seed),
          };
          sourceIds.set(v.kind, add(spec, [], id));
        }
        run.jobs.push(...sourceIds.values());
        const modes = config.transfer.modes as TransferMode[];
        config.targets.forEach((t, targetIndex) => {
          // Per source variant: its features job on this target, planned before the first transfer that needs it.
          const featureJobs = new Map<'biased' | 'clean', string>();
          const featuresFor = (v: (typeof variants)[number]): string => {
            let fid = featureJobs.get(v.kind);
            if (fid === undefined) {
              const src = jobs.get(sourceIds.get(v.kind)!)!.spec as SourceJobSpec;
              // The identity `sourceModel` gives the weights: its cache key, or the pretrained file's sha256.
              const weights = v.pretrained ? `pretrained-${v.pretrained.sha256}` : src.key;
              const keys = featureKeysOf(weights, data.target(targetIndex), featuresBatchSpec(config, norm, geometry), code);
              const spec: FeaturesJobSpec = {
                kind: 'features',
                ...base,
                label: `${label} ${t.name}/${v.kind}/features`,
                targetIndex,
                sourceKind: v.kind,
                sourceKey: src.key,
                weights,
                keys,
              };
              fid = add(spec, [sourceIds.get(v.kind)!], id);
              featureJobs.set(v.kind, fid);
              run.jobs.push(fid);
            }
            return fid;
          };
          const transfer = (mode: TransferMode, v: (typeof variants)[number] | null) => {
            const sourceKind = v === null ? null : v.kind;
            const needs = sourceKind === null ? [] : [sourceIds.get(sourceKind)!];
            let features: FeaturesJobSpec['keys'] | undefined;
            if (v !== null && usesCachedFeatures(config, mode, true)) {
              const fid = featuresFor(v);
              needs.push(fid);
              features = (jobs.get(fid)!.spec as FeaturesJobSpec).keys;
            }
            const spec: TransferJobSpec = {
              kind: 'transfer',
              ...base,
              label: `${label} ${t.name}/${sourceKind === null ? 'scratch' : `${sourceKind}/${mode}`}`,
              targetIndex,
              mode,
              sourceKind,
              sourceKey: sourceKind === null ? null : (jobs.get(needs[0])!.spec as SourceJobSpec).key,
              ...(features !== undefined ? { features } : {}),
            };
            run.jobs.push(add(spec, needs, id));
          };
          if (modes.includes('scratch')) transfer('scratch', null);
          for (const v of variants) for (const m of modes) if (m !== 'scratch') transfer(m, v);
        });
      }
    }
  } finally {
    store.close();
  }
  return { name: opts.loaded.config.name, code, cacheRoot, runs, jobs: byKind([...jobs.values()]) };
}

/** Jobs in the order sources, features, transfers (each kind in planning order): no job comes before one it needs. */
function byKind(all: PlanJob[]): PlanJob[] {
  return (['source', 'features', 'transfer'] as const).flatMap((k) => all.filter((j) => j.spec.kind === k));
}

/**
 * The jobs of several plans as one list (sources, then features, then transfers), each job once: a job planned by two
 * experiments (the same source model) works for the runs of both. With the runs to do of all of
 * them. For executors that do many jobs at once (`Executor.executeAll`): no worker idles between
 * one experiment's last jobs and the next one's first.
 */
export function joinPlans(plans: readonly Plan[]): { jobs: PlanJob[]; runs: PlannedRun[] } {
  const jobs = new Map<string, PlanJob>();
  for (const p of plans)
    for (const j of p.jobs) {
      const known = jobs.get(j.id);
      if (known === undefined) jobs.set(j.id, { ...j, runs: [...j.runs] });
      else for (const r of j.runs) if (!known.runs.includes(r)) known.runs.push(r);
    }
  return {
    jobs: byKind([...jobs.values()]),
    runs: plans.flatMap((p) => p.runs.filter((r) => r.status === 'todo')),
  };
}
