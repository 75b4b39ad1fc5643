/**
 * Diagnosis of a state dict whose keys do not fit an architecture, in the two cases users meet
 * most: every key carries a wrapper's prefix (`module.` of DataParallel, `model.`, `backbone.`,
 * ...), or the file is another architecture of the zoo (a resnet34 imported as resnet18). Both
 * compare key names only (shapes are left to `loadStateDict`'s own message).
 */
import { ARCH_DEFAULTS, createModel } from './models/factory.js';
import { ARCHS, type Arch, type ModelSpec } from './models/spec.js';

/** Prefixes that wrappers and training frameworks put in front of every key, tried in this order. */
export const COMMON_KEY_PREFIXES = ['module.', 'model.', 'backbone.', 'encoder.', 'state_dict.'] as const;

/** A prefix whose removal makes the file's keys fit the architecture better. */
export interface PrefixSuggestion {
  /** The prefix, e.g. 'module.'. */
  prefix: string;
  /** Expected keys found in the file before stripping. */
  matchedBefore: number;
  /** Expected keys found after stripping. */
  matchedAfter: number;
  /** Keys the architecture expects. */
  expected: number;
}

function countMatches(keys: Iterable<string>, expected: ReadonlySet<string>): number {
  let n = 0;
  for (const k of keys) if (expected.has(k)) n++;
  return n;
}

/** The file's keys with `prefix` removed where present. */
export function stripKeyPrefix(keys: Iterable<string>, prefix: string): string[] {
  return [...keys].map((k) => (k.startsWith(prefix) ? k.slice(prefix.length) : k));
}

/**
 * The prefix (one of COMMON_KEY_PREFIXES, or a first key segment every key shares, possibly two
 * of them nested like 'module.model.') whose removal matches the most expected keys; null when no
 * prefix improves on the keys as they are.
 * @example suggestKeyPrefix(['module.conv1.weight', 'module.fc.weight'], ['conv1.weight', 'fc.weight'])
 * // { prefix: 'module.', matchedBefore: 0, matchedAfter: 2, expected: 2 }
 */
export function suggestKeyPrefix(fileKeys: readonly string[], expectedKeys: Iterable<string>): PrefixSuggestion | null {
  const expected = new Set(expectedKeys);
  const before = countMatches(fileKeys, expected);
  const candidates = new Set<string>(COMMON_KEY_PREFIXES);
  const firstSegments = (keys: readonly string[]): string | null => {
    const seg = keys[0]?.split('.')[0];
    return seg !== undefined && keys.every((k) => k.startsWith(`${seg}.`)) ? `${seg}.` : null;
  };
  const one = firstSegments(fileKeys);
  if (one !== null) {
    candidates.add(one);
    const two = firstSegments(stripKeyPrefix(fileKeys, one));
    if (two !== null) candidates.add(one + two);
  }
  for (const a of COMMON_KEY_PREFIXES) for (const b of COMMON_KEY_PREFIXES) if (a !== b) candidates.add(a + b);
  let best: PrefixSuggestion | null = null;
  for (const prefix of candidates) {
    if (!fileKeys.some((k) => k.startsWith(prefix))) continue;
    const after = countMatches(stripKeyPrefix(fileKeys, prefix), expected);
    if (after > before && (best === null || after > best.matchedAfter))
      best = { prefix, matchedBefore: before, matchedAfter: after, expected: expected.size };
  }
  return best;
}

/** An architecture of the zoo compared with a file's keys. */
export interface ArchMatch {
  /** The spec options that name it (arch, and layers when they differ from its defaults). */
  arch: Arch;
  layers?: number[];
  /** The command-line flags that select it, e.g. '--arch resnet34' or '--arch resnet18 --layers 1,1,1,1'. */
  flags: string;
  /** The file's keys the architecture expects. */
  matched: number;
  /** Keys the architecture expects. */
  expected: number;
  /** Keys in the file. */
  inFile: number;
}

const keyCache = new Map<string, string[]>();

/** The state-dict keys of an architecture (built tiny: keys do not depend on width or class count). */
export function archKeys(arch: Arch, layers?: readonly number[]): string[] {
  const id = JSON.stringify([arch, layers ?? null]);
  let keys = keyCache.get(id);
  if (keys === undefined) {
    const spec: ModelSpec = { arch, numClasses: 2, inChannels: 1, widthMultiplier: arch === 'small-cnn' ? 0.01 : 1 / 64 };
    if (layers !== undefined) spec.layers = [...layers];
    const m = createModel(spec);
    try {
      keys = [...m.stateDict().keys()];
    } finally {
      m.dispose();
    }
    keyCache.set(id, keys);
  }
  return keys;
}

/** ResNet blocks per stage and block kind as a file's keys show them (`layerS.B.conv3` = bottleneck); null when not a ResNet. */
function inferResNet(keys: readonly string[]): { layers: number[]; bottleneck: boolean } | null {
  const layers = [0, 0, 0, 0];
  let bottleneck = false;
  for (const k of keys) {
    const m = /^layer([1-4])\.(\d+)\.(\w+)/.exec(k);
    if (m === null) continue;
    const s = Number(m[1]) - 1;
    layers[s] = Math.max(layers[s], Number(m[2]) + 1);
    if (m[3] === 'conv3') bottleneck = true;
  }
  return layers.every((n) => n > 0) ? { layers, bottleneck } : null;
}

/**
 * Every architecture of the zoo (with its default layers, plus the ResNet whose blocks per stage
 * the keys themselves show) ranked by how well its key set fits `fileKeys`: most keys matched,
 * then fewest keys left over on either side, then (given `conv1Out`, the file's first conv's
 * output channels) a ResNet whose base width is that (so a full-width file with one block per
 * stage is `resnet18 --layers 1,1,1,1`, a 16-channel one `resnet-tiny`).
 * @example closestArchitectures(keysOfAResNet34File)[0] // { arch: 'resnet34', flags: '--arch resnet34', matched: 218, expected: 218, ... }
 */
export function closestArchitectures(fileKeys: readonly string[], opts: { conv1Out?: number } = {}): ArchMatch[] {
  const file = new Set(fileKeys);
  const cands: { arch: Arch; layers?: number[] }[] = ARCHS.map((arch) => ({ arch }));
  const rn = inferResNet(fileKeys);
  if (rn !== null) {
    const arch: Arch = rn.bottleneck ? 'resnet50' : 'resnet18';
    if (ARCH_DEFAULTS[arch].layers.join(',') !== rn.layers.join(',')) cands.push({ arch, layers: rn.layers });
  }
  const out = cands.map(({ arch, layers }): ArchMatch => {
    const keys = archKeys(arch, layers);
    return {
      arch,
      ...(layers !== undefined ? { layers } : {}),
      flags: `--arch ${arch}${layers !== undefined ? ` --layers ${layers.join(',')}` : ''}`,
      matched: countMatches(keys, file),
      expected: keys.length,
      inFile: file.size,
    };
  });
  const leftover = (m: ArchMatch): number => m.expected - m.matched + (m.inFile - m.matched);
  const widthMiss = (m: ArchMatch): number =>
    opts.conv1Out === undefined || m.arch === 'small-cnn' || Math.round(64 * ARCH_DEFAULTS[m.arch].widthMultiplier) === opts.conv1Out
      ? 0
      : 1;
  return out.sort((a, b) => b.matched - a.matched || leftover(a) - leftover(b) || widthMiss(a) - widthMiss(b));
}

/**
 * A short sample of a key list for messages: the first `n` keys, and how many there are.
 * @example sampleKeys(['a', 'b', 'c'], 2) // 'a, b, ... (3 in all)'
 */
export function sampleKeys(keys: readonly string[], n = 5): string {
  if (keys.length === 0) return '-';
  return keys.length <= n ? keys.join(', ') : `${keys.slice(0, n).join(', ')}, ... (${keys.length} in all)`;
}

/**
 * One-line advice for a state dict that does not fit `spec` (whose keys are `expectedKeys`): the
 * prefix to strip, with the exact flag (`prefixFlag`, default '--strip-prefix'), or the
 * architecture of the zoo whose keys fit better (`conv1Out` breaks ties by width, see
 * `closestArchitectures`); null when neither applies.
 * @example keyMismatchAdvice(dataParallelKeys, spec, keys) // "the keys start with 'module.' (...): with --strip-prefix module. 62 of 62 expected keys match (0 without)"
 */
export function keyMismatchAdvice(
  fileKeys: readonly string[],
  spec: ModelSpec,
  expectedKeys: Iterable<string>,
  opts: { prefixFlag?: string; conv1Out?: number } = {},
): string | null {
  const expected = [...expectedKeys];
  const p = suggestKeyPrefix(fileKeys, expected);
  if (p !== null)
    return (
      `the keys start with '${p.prefix}' (a wrapper's prefix): with ${opts.prefixFlag ?? '--strip-prefix'} ${p.prefix} ` +
      `${p.matchedAfter} of ${p.expected} expected keys match (${p.matchedBefore} without)`
    );
  const [best] = closestArchitectures(fileKeys, { conv1Out: opts.conv1Out });
  if (best === undefined || best.matched === 0) return null;
  const file = new Set(fileKeys);
  const matched = countMatches(expected, file);
  const leftover = expected.length - matched + (file.size - matched);
  const bestLeftover = best.expected - best.matched + (best.inFile - best.matched);
  if (best.matched < matched || (best.matched === matched && bestLeftover >= leftover)) return null;
  if (best.arch === spec.arch && best.layers === undefined && spec.layers === undefined) return null;
  return `this looks like ${best.flags.slice('--arch '.length)}: ${best.matched} of ${best.expected} keys match (use ${best.flags})`;
}
