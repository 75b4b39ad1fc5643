/**
 * Names of natural-bias probes by what they are, for report rows, legends and tables:
 * "T-shirt crop", "Sandal class mean", "neutral grey like T-shirt crop" — never "patch0".
 */
import { basename, extname } from 'node:path';
import type { PatchProbeSpec } from './config/index.js';

/** A class reference (index or name) as a readable name: 'T-shirt/top' → 'T-shirt' (the part before a '/'). */
export function className(ref: number | string, classes: readonly string[]): string {
  const full = typeof ref === 'number' ? (classes[ref] ?? `class ${ref}`) : ref;
  const short = full.split('/')[0].trim();
  return short.length > 0 ? short : full;
}

/** Class names a probe's `sourceClass` refers to: one list for every probe, or one per probe index. */
export type ProbeClasses = readonly string[] | ((probeIndex: number) => readonly string[]);

/**
 * The name of probe `index` of `probes` (a config's `evaluation.patches`):
 * - a probe with a `name` is called that;
 * - a class patch is "<class> crop" or "<class> class mean" (the class of the probe's `dataset`
 *   when it has one, else of the source: pass those names in `classes`); when two class patches
 *   would share a name, the size is added ("T-shirt crop 14px");
 * - an image probe is its file name without extension;
 * - a neutral probe is "neutral grey like <the probe it mirrors>".
 * Throws on an index out of range or a neutral probe that mirrors no probe, naming the index.
 *
 * @example
 * probeName([{ kind: 'class-patch', sourceClass: 0, mode: 'crop', size: 14, position: 'random', dataset: null, name: null },
 *            { kind: 'neutral', like: 0 }], 1, ['T-shirt/top', 'Trouser'])
 * // 'neutral grey like T-shirt crop'
 */
export function probeName(probes: readonly PatchProbeSpec[], index: number, classes: ProbeClasses): string {
  const p = probes[index];
  if (!p) throw new RangeError(`probeName: evaluation.patches.${index} does not exist (${probes.length} probes)`);
  if (p.kind === 'neutral') {
    const like = probes[p.like];
    if (!like || like.kind === 'neutral')
      throw new Error(`probeName: evaluation.patches.${index}.like = ${p.like} is not the index of a probe to mirror`);
    return neutralName(probeName(probes, p.like, classes));
  }
  const named = (p as { name?: string | null }).name;
  if (named) return named;
  if (p.kind !== 'class-patch') return basename((p as { path: string }).path, extname((p as { path: string }).path));
  const base = (q: PatchProbeSpec, i: number): string | null => {
    if (q.kind !== 'class-patch' || (q as { name?: string | null }).name) return null;
    const cls = typeof classes === 'function' ? classes(i) : classes;
    return `${className(q.sourceClass, cls)} ${q.mode === 'mean' ? 'class mean' : 'crop'}`;
  };
  const name = base(p, index)!;
  const clash = probes.some((q, i) => i !== index && base(q, i) === name);
  return clash ? `${name} ${p.size}px` : name;
}

/** The name of a neutral control of a probe named `name`: 'neutral grey like <name>'. */
export function neutralName(name: string): string {
  return `neutral grey like ${name}`;
}

/**
 * The name of an evaluation condition: 'patch3' → the name of probe 3, 'patch3-neutral' (an
 * automatic neutral control) → 'neutral grey like <probe 3>'; any other condition unchanged
 * ('triggered', 'with_attribute').
 */
export function conditionName(condition: string, probes: readonly PatchProbeSpec[], classes: ProbeClasses): string {
  const m = /^patch(\d+)(-neutral)?$/.exec(condition);
  if (!m || Number(m[1]) >= probes.length) return condition;
  const name = probeName(probes, Number(m[1]), classes);
  return m[2] ? neutralName(name) : name;
}

/** Names of every probe, keyed by condition name ('patch0', 'patch1', ...). */
export function probeNames(probes: readonly PatchProbeSpec[], classes: ProbeClasses): Record<string, string> {
  return Object.fromEntries(probes.map((_, i) => [`patch${i}`, probeName(probes, i, classes)]));
}
