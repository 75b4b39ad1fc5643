/**
 * A run's facts: what its report needs to know about the data the run used, written by the run
 * when it runs (src/experiment/facts.ts builds them), so a report reads them from the store
 * instead of reloading the datasets and re-injecting the bias:
 *
 *   ROOT/runs/<runId>/facts.json        this file's `RunFacts`
 *   ROOT/runs/<runId>/facts/<name>.png  the example grids it names
 *
 * Runs written before facts existed have no facts.json; `readRunFacts` then returns null and the
 * report computes the same facts from the config (src/publish/legacy-facts.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Version of the facts.json format; a reader ignores (returns null for) any other. */
export const FACTS_VERSION = 1;

/** An example picture of a report: a PNG file in the run folder and its caption. */
export interface ImageFact {
  /** Path of the PNG relative to the run folder, e.g. 'facts/example-0.png'. */
  readonly file: string;
  readonly caption: string;
}

/** What a run used of one target. */
export interface TargetFacts {
  readonly name: string;
  /** Class names of the target task, by label. */
  readonly classes: readonly string[];
  /** Training images (after any limit and de-biasing). */
  readonly trainImages: number;
  /** Test images of the clean condition, or null when there is none. */
  readonly testImages: number | null;
  /** Readable names of the probe conditions ('patch0' → 'T-shirt crop'). */
  readonly conditionLabels: Readonly<Record<string, string>>;
  /** Neutral probe condition → the probe condition it mirrors. */
  readonly neutralOf: Readonly<Record<string, string>>;
}

/** Contents of a run's facts.json (see the file comment). */
export interface RunFacts {
  /** {@link FACTS_VERSION}. */
  readonly version: number;
  readonly seed: number;
  /** The source training set as loaded: its class names and image count. */
  readonly source: { readonly classes: readonly string[]; readonly images: number };
  /**
   * The dataset spec (as in the config, JSON) of the source's test split that source accuracy was
   * measured on, or null when none was (a pretrained or spurious source, or no test split).
   */
  readonly sourceTest: Readonly<Record<string, unknown>> | null;
  /** One entry per target of the config, in config order. */
  readonly targets: readonly TargetFacts[];
  /** Example grids of the overview (source before and after the bias, target conditions). */
  readonly examples: readonly ImageFact[];
  /** Example grids of the probe bank, by probe condition. */
  readonly probeExamples: Readonly<Record<string, ImageFact>>;
}

/** Facts with their pictures' PNG bytes, keyed by `ImageFact.file`. */
export interface RunFactsWithImages {
  readonly facts: RunFacts;
  readonly images: ReadonlyMap<string, Uint8Array>;
}

const FACTS_FILE = 'facts.json';

/**
 * Writes facts.json and the pictures into run folder `runDir` (each file written to a temporary
 * name and renamed, so a reader never sees half a file; the PNGs before facts.json, which names them).
 */
export function writeRunFacts(runDir: string, { facts, images }: RunFactsWithImages): void {
  const write = (rel: string, data: Uint8Array | string) => {
    const file = path.join(runDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  };
  for (const img of [...facts.examples, ...Object.values(facts.probeExamples)]) {
    const png = images.get(img.file);
    if (png === undefined) throw new Error(`${path.join(runDir, FACTS_FILE)}: the facts name picture ${img.file}, which was not given`);
    write(img.file, png);
  }
  write(FACTS_FILE, `${JSON.stringify(facts, null, 1)}\n`);
}

/**
 * The facts of run folder `runDir` with their pictures, or null when the run has none (written by
 * code from before facts, or of another facts version). Throws, naming the file, when facts.json
 * is unreadable or a picture it names is missing.
 */
export function readRunFacts(runDir: string): RunFactsWithImages | null {
  const file = path.join(runDir, FACTS_FILE);
  if (!fs.existsSync(file)) return null;
  let facts: RunFacts;
  try {
    facts = JSON.parse(fs.readFileSync(file, 'utf8')) as RunFacts;
  } catch (e) {
    throw new Error(`${file}: not a readable run facts file (${(e as Error).message}); delete it and run the experiment again`);
  }
  if (facts.version !== FACTS_VERSION) return null;
  const images = new Map<string, Uint8Array>();
  for (const img of [...facts.examples, ...Object.values(facts.probeExamples)]) {
    const png = path.join(runDir, img.file);
    if (!fs.existsSync(png)) throw new Error(`${file} names picture ${img.file}, which is missing from ${runDir}`);
    images.set(img.file, fs.readFileSync(png));
  }
  return { facts, images };
}
