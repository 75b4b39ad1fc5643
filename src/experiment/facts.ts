/**
 * The facts a run writes for its report (src/store/facts.ts): class names, image counts, probe
 * names and example pictures, taken from the data the run prepared, so the report never reloads
 * the datasets or re-injects the bias to find them.
 *
 * The runner makes one builder per run, hands it each target as it prepares it (the pictures of
 * the first target are drawn then, so no target's images are kept), and writes what `finish`
 * returns. A report on a run written before facts existed builds them the same way from freshly
 * prepared data (src/publish/legacy-facts.ts).
 */
import { exampleGridPng, gridImages, type GridRow } from '../bias/index.js';
import type { AnyDataset, DatasetInfo } from '../data/types.js';
import { FACTS_VERSION, type ImageFact, type RunFacts, type RunFactsWithImages, type TargetFacts } from '../store/index.js';
import { sourceTestSpec, type PrepareContext, type SourceVariant, type TargetData } from './prepare.js';
import { probeExampleImages } from './probes.js';

function pick(ds: DatasetInfo, perClass: number, only?: Uint8Array): number[] {
  const out: number[] = [];
  const k = ds.classes.length;
  for (let c = 0; c < k && out.length < 40; c++) {
    let got = 0;
    for (let i = 0; i < ds.n && got < perClass; i++)
      if (ds.labels[i] === c && (!only || only[i])) {
        out.push(i);
        got++;
      }
  }
  return out;
}

/** The clean-vs-biased source grid (PNG), or null for a pretrained source (nothing was injected here: no before and after to show). */
function sourceExample(ctx: PrepareContext, variants: readonly SourceVariant[]): Uint8Array | null {
  const biased = variants.find((v) => v.kind === 'biased');
  if (!biased || ctx.config.source.pretrained !== null) return null;
  const rec = biased.record as { indices?: number[] } | null;
  const idx = rec?.indices ? rec.indices.slice(0, 8) : pick(biased.dataset, 2);
  const clean = variants.find((v) => v.kind === 'clean');
  const rows: GridRow[] = [];
  if (clean && clean.dataset.n === biased.dataset.n) rows.push({ label: 'clean source', images: gridImages(clean.dataset, idx) });
  rows.push({ label: 'biased source', images: gridImages(biased.dataset, idx) });
  return exampleGridPng(rows, { scale: 3 });
}

/** Collects one run's facts while it prepares its data; see the file comment. */
export class RunFactsBuilder {
  readonly #seed: number;
  readonly #source: RunFacts['source'];
  readonly #sourceTest: RunFacts['sourceTest'];
  readonly #targets: TargetFacts[] = [];
  readonly #examples: ImageFact[] = [];
  readonly #probeExamples: Record<string, ImageFact> = {};
  readonly #images = new Map<string, Uint8Array>();
  readonly #pictures: boolean;

  /**
   * @param ctx the run's config (a sweep point's) and config folder
   * @param seed the run's seed
   * @param source the source training set as loaded (before any bias)
   * @param variants the source variants the run trains (biased and clean), for the before/after picture
   * @param opts.pictures draw the example pictures (default true; a report without pictures skips them)
   */
  constructor(
    ctx: PrepareContext,
    seed: number,
    source: AnyDataset,
    variants: readonly SourceVariant[],
    opts: { pictures?: boolean } = {},
  ) {
    const c = ctx.config;
    this.#seed = seed;
    this.#source = { classes: [...source.classes], images: source.n };
    // The same test split the runner measures source accuracy on (runInputs): none for a
    // pretrained or spurious source.
    this.#sourceTest =
      c.source.pretrained !== null || c.source.bias.kind === 'spurious'
        ? null
        : (sourceTestSpec(c.source.dataset, ctx.configDir) as RunFacts['sourceTest']);
    this.#pictures = opts.pictures ?? true;
    const png = this.#pictures ? sourceExample(ctx, variants) : null;
    if (png !== null)
      this.#add(this.#examples, 'facts/example-source.png', png, 'Source images before and after bias injection (same images).');
  }

  #add(list: ImageFact[] | null, file: string, png: Uint8Array, caption: string): ImageFact {
    const fact = { file, caption };
    this.#images.set(file, png);
    list?.push(fact);
    return fact;
  }

  /** Records target `t` (call once per target, in config order); the first one also gets its example pictures. */
  addTarget(t: TargetData): void {
    const first = this.#targets.length === 0;
    this.#targets.push({
      name: t.name,
      classes: [...t.classes],
      trainImages: t.train.n,
      testImages: t.conditions.get('clean')?.n ?? null,
      conditionLabels: Object.fromEntries([...t.describe].filter(([k]) => k.startsWith('patch'))),
      neutralOf: Object.fromEntries(t.neutralOf),
    });
    if (!first || !this.#pictures) return;
    const clean = t.conditions.get('clean')!;
    const idx = Array.from({ length: Math.min(8, clean.n) }, (_, i) => i);
    const rows: GridRow[] = [...t.conditions].map(([name, ds]) => ({ label: name, images: gridImages(ds, idx) }));
    this.#add(
      this.#examples,
      'facts/example-target.png',
      exampleGridPng(rows, { scale: 3 }),
      `Target test images of ${t.name} under each evaluation condition (${[...t.conditions.keys()].join(', ')}).`,
    );
    for (const [condition, img] of Object.entries(probeExampleImages(t)))
      this.#probeExamples[condition] = this.#add(null, `facts/probe-${condition}.png`, img.png as Uint8Array, img.caption);
  }

  /** The facts and their pictures, ready for `writeRunFacts` (src/store/facts.ts). */
  finish(): RunFactsWithImages {
    const facts: RunFacts = {
      version: FACTS_VERSION,
      seed: this.#seed,
      source: this.#source,
      sourceTest: this.#sourceTest,
      targets: this.#targets,
      examples: this.#examples,
      probeExamples: this.#probeExamples,
    };
    return { facts, images: this.#images };
  }
}
