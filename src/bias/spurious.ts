/**
 * Spurious-correlation datasets without COCO (the paper's "dogs only appear with people"): each
 * main image is scaled onto a larger canvas and, with a per-class probability, an attribute object
 * (a shape, or an image from another dataset) is drawn in a corner that does NOT overlap the main
 * object's bounding box. The placement is drawn the same way whether or not the attribute is
 * drawn, so position alone never reveals the attribute.
 *
 * The layout (placements, attribute sources, flags, record) is decided from labels and geometry
 * alone; each sample is then composed from its own main image (`composeInto`), so the streamed
 * forms (`composeSpuriousStreamed`, `composeBothStreamed`) compose per sample as batches are read,
 * with the bytes, labels, attributes and record of the in-memory forms.
 */
import { Rng } from '../data/rng.js';
import { checkIndices, imageSize, type DatasetInfo, type ImageDataset, type StreamedDataset } from '../data/types.js';
import { blendInto, convertChannels, normalizeColor, resizeImage, type Rendered } from './pixels.js';

/** A flat-coloured shape as the attribute object. `color` is one gray value or RGB. */
export interface ShapeAttribute {
  readonly kind: 'shape';
  readonly shape: 'square' | 'disc' | 'triangle';
  readonly color: number | readonly number[];
}

/** Canvas corner where the attribute may sit. */
export type Corner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

/** Inputs shared by composeSpurious and composeBoth. */
export interface ComposeLayoutOptions {
  /** The labelled objects; output labels/classes come from here, one output per main image. */
  readonly main: ImageDataset;
  /** The attribute object: a shape, or a dataset from which one image per sample is drawn (seeded). */
  readonly attribute: ImageDataset | ShapeAttribute;
  /** Output image size in pixels. */
  readonly canvas: { readonly h: number; readonly w: number };
  /** Main object's longer side as a fraction of the canvas's smaller side; default 1 - attributeScale. */
  readonly mainScale?: number;
  /** Attribute side as a fraction of the canvas's smaller side, in (0, 1). */
  readonly attributeScale: number;
  /** Corners the attribute may use (one drawn per sample); default all four. */
  readonly corners?: readonly Corner[];
  /** Canvas background colour (gray or RGB), default 0. */
  readonly background?: number | readonly number[];
  readonly seed: number;
}

/** Options of composeSpurious: the layout plus how likely each class is to get the attribute. */
export interface ComposeOptions extends ComposeLayoutOptions {
  /** Chance per class: an array indexed by label, or a map from class name (or index) to chance. */
  readonly probabilityPerClass?: Readonly<Record<string, number>> | readonly number[];
  /** Chance for classes not named in probabilityPerClass; default 0. */
  readonly defaultProbability?: number;
}

/** Where one sample's objects are, in canvas pixels (x = column, y = row of the top-left corner). */
export interface SpuriousPlacement {
  readonly mainX: number;
  readonly mainY: number;
  readonly attrX: number;
  readonly attrY: number;
}

/** What the composition did; JSON-serialisable. */
export interface SpuriousRecord {
  readonly seed: number;
  readonly canvas: { h: number; w: number; c: number };
  /** Main object's drawn size in pixels. */
  readonly mainSize: { h: number; w: number };
  /** Attribute side in pixels. */
  readonly attributeSide: number;
  readonly attribute: ShapeAttribute | { readonly dataset: string; readonly n: number };
  /** Probability used for each class (index = label); empty for composeBoth. */
  readonly probabilities: number[];
  /** Per sample: main and attribute boxes (the attribute box is drawn only where attributes[i] = 1). */
  readonly placements: SpuriousPlacement[];
  /** Per sample, the attribute-dataset image used (attribute datasets only). */
  readonly attributeSources?: number[];
  /** Samples carrying the attribute, overall and per class name. */
  readonly withAttribute: number;
  readonly perClass: Record<string, { with: number; without: number }>;
}

interface Layout {
  c: number;
  mh: number;
  mw: number;
  side: number;
  shape: Rendered | null;
  placements: SpuriousPlacement[];
  attributeSources: number[] | null;
  background: number[];
}

function isShape(a: ImageDataset | ShapeAttribute): a is ShapeAttribute {
  return (a as ShapeAttribute).kind === 'shape';
}

/** Renders a shape of side `side` as a binary-mask overlay with `c` channels. */
export function renderShape(attr: ShapeAttribute, side: number, c: number): Rendered {
  const col = normalizeColor(attr.color, c, 'attribute.color');
  const plane = side * side;
  const pixels = new Uint8Array(c * plane);
  for (let ch = 0; ch < c; ch++) pixels.fill(col[ch], ch * plane, (ch + 1) * plane);
  const mask = new Float32Array(plane);
  const h = side / 2;
  for (let r = 0; r < side; r++) {
    for (let q = 0; q < side; q++) {
      const cy = r + 0.5;
      const cx = q + 0.5;
      let inside: boolean;
      if (attr.shape === 'square') inside = true;
      else if (attr.shape === 'disc') inside = (cy - h) ** 2 + (cx - h) ** 2 <= h * h;
      else if (attr.shape === 'triangle')
        inside = Math.abs(cx - h) <= (cy / side) * h; // apex up, base at bottom
      else throw new RangeError(`attribute.shape must be square, disc or triangle; got '${attr.shape as string}'`);
      mask[r * side + q] = inside ? 1 : 0;
    }
  }
  return { pixels, mask, size: side, c };
}

function colorChannels(color: number | readonly number[]): number {
  return typeof color === 'number' || color.length === 1 ? 1 : color.length;
}

function boxesOverlap(ax: number, ay: number, aw: number, ah: number, bx: number, by: number, bw: number, bh: number): boolean {
  return ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
}

/** The layout options with any kind of main dataset (the layout reads its labels and geometry only). */
type LayoutInput = Omit<ComposeLayoutOptions, 'main'> & { readonly main: DatasetInfo };

function computeLayout(o: LayoutInput): Layout {
  const { main, canvas, attribute } = o;
  const H = canvas.h;
  const W = canvas.w;
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < 2 || W < 2) {
    throw new RangeError(`canvas must have integer h, w >= 2, got ${JSON.stringify(canvas)}`);
  }
  if (!(o.attributeScale > 0 && o.attributeScale < 1)) throw new RangeError(`attributeScale must be in (0, 1), got ${o.attributeScale}`);
  const mainScale = o.mainScale ?? 1 - o.attributeScale;
  if (!(mainScale > 0 && mainScale <= 1)) throw new RangeError(`mainScale must be in (0, 1], got ${mainScale}`);
  const shape = isShape(attribute);
  const attrC = shape ? colorChannels(attribute.color) : attribute.c;
  if (![1, 3].includes(attrC)) throw new RangeError(`attribute must have 1 or 3 channels, got ${attrC}`);
  const c = Math.max(main.c, attrC);
  const minSide = Math.min(H, W);
  const side = Math.max(1, Math.round(o.attributeScale * minSide));
  const longest = Math.max(1, Math.round(mainScale * minSide));
  const k = longest / Math.max(main.h, main.w);
  const mh = Math.max(1, Math.round(main.h * k));
  const mw = Math.max(1, Math.round(main.w * k));
  if (mw + side > W && mh + side > H) {
    throw new RangeError(
      `mainScale ${mainScale} and attributeScale ${o.attributeScale} leave no room: a ${mh}x${mw} main object and a ${side}px attribute cannot avoid each other on a ${H}x${W} canvas`,
    );
  }
  const corners = o.corners ?? ['top-left', 'top-right', 'bottom-left', 'bottom-right'];
  if (corners.length === 0) throw new RangeError('corners must list at least one corner');
  const background = normalizeColor(o.background ?? 0, c, 'background');

  const rng = new Rng(o.seed, 'spurious');
  const layoutRng = rng.fork('layout');
  const sourceRng = rng.fork('attribute-source');
  const placements: SpuriousPlacement[] = [];
  for (let i = 0; i < main.n; i++) {
    const corner = corners[layoutRng.int(corners.length)];
    const attrX = corner.endsWith('left') ? 0 : W - side;
    const attrY = corner.startsWith('top') ? 0 : H - side;
    let pos: { x: number; y: number } | null = null;
    for (let t = 0; t < 32 && pos === null; t++) {
      const x = layoutRng.int(W - mw + 1);
      const y = layoutRng.int(H - mh + 1);
      if (!boxesOverlap(x, y, mw, mh, attrX, attrY, side, side)) pos = { x, y };
    }
    if (pos === null) {
      // Rare: enumerate the valid positions and draw one uniformly.
      const valid: Array<{ x: number; y: number }> = [];
      for (let y = 0; y <= H - mh; y++) {
        for (let x = 0; x <= W - mw; x++) if (!boxesOverlap(x, y, mw, mh, attrX, attrY, side, side)) valid.push({ x, y });
      }
      pos = valid[layoutRng.int(valid.length)];
    }
    placements.push({ mainX: pos.x, mainY: pos.y, attrX, attrY });
  }
  const attributeSources = shape ? null : Array.from({ length: main.n }, () => sourceRng.int(attribute.n));
  return {
    c,
    mh,
    mw,
    side,
    shape: shape ? renderShape(attribute, side, c) : null,
    placements,
    attributeSources,
    background,
  };
}

/**
 * Composes sample i into `img` (c×H×W of the canvas): the background, the main image `px` (CHW of
 * the main dataset's geometry) resized and pasted at its placement, and the attribute when `withAttribute`.
 */
function composeInto(
  o: LayoutInput,
  L: Layout,
  i: number,
  px: Uint8Array,
  withAttribute: boolean,
  attrCache: Map<number, Rendered>,
  img: Uint8Array,
): void {
  const { main } = o;
  const H = o.canvas.h;
  const W = o.canvas.w;
  const { c, mh, mw, side } = L;
  const plane = H * W;
  for (let ch = 0; ch < c; ch++) img.fill(L.background[ch], ch * plane, (ch + 1) * plane);
  const p = L.placements[i];
  // Paste the main image, resized to its drawn size, as a full-opacity rectangle.
  const m = convertChannels(resizeImage(px, main, { h: mh, w: mw }), { c: main.c, h: mh, w: mw }, c);
  for (let ch = 0; ch < c; ch++) {
    for (let r = 0; r < mh; r++) {
      const dst = ch * plane + (p.mainY + r) * W + p.mainX;
      img.set(m.subarray(ch * mh * mw + r * mw, ch * mh * mw + (r + 1) * mw), dst);
    }
  }
  if (withAttribute) {
    let ov = L.shape;
    if (ov === null) {
      const a = o.attribute as ImageDataset;
      const src = L.attributeSources![i];
      ov = attrCache.get(src) ?? null;
      if (ov === null) {
        const asz = imageSize(a);
        const r = resizeImage(a.images.subarray(src * asz, (src + 1) * asz), a, { h: side, w: side });
        ov = { pixels: convertChannels(r, { c: a.c, h: side, w: side }, c), mask: new Float32Array(side * side).fill(1), size: side, c };
        attrCache.set(src, ov);
      }
    }
    blendInto(img, { c, h: H, w: W }, ov, p.attrX, p.attrY);
  }
}

function render(o: ComposeLayoutOptions, L: Layout, flags: Uint8Array, name: string): ImageDataset {
  const { main } = o;
  const H = o.canvas.h;
  const W = o.canvas.w;
  const size = L.c * H * W;
  const msz = imageSize(main);
  const images = new Uint8Array(main.n * size);
  const attrCache = new Map<number, Rendered>();
  for (let i = 0; i < main.n; i++)
    composeInto(
      o,
      L,
      i,
      main.images.subarray(i * msz, (i + 1) * msz),
      flags[i] === 1,
      attrCache,
      images.subarray(i * size, (i + 1) * size),
    );
  return {
    name,
    images,
    labels: main.labels.slice(),
    classes: [...main.classes],
    n: main.n,
    c: L.c,
    h: H,
    w: W,
    attributes: flags,
  };
}

/** `render` for a streamed main dataset: each sample composed as it is read. */
function renderStreamed(o: StreamedLayoutOptions, L: Layout, flags: Uint8Array, name: string): StreamedDataset {
  const { main } = o;
  const H = o.canvas.h;
  const W = o.canvas.w;
  const size = L.c * H * W;
  const msz = imageSize(main);
  const attrCache = new Map<number, Rendered>();
  const ds: StreamedDataset = {
    name,
    labels: main.labels.slice(),
    classes: [...main.classes],
    n: main.n,
    c: L.c,
    h: H,
    w: W,
    attributes: flags,
    read(indices) {
      checkIndices(ds, indices);
      const px = main.read(indices);
      const out = new Uint8Array(indices.length * size);
      for (let b = 0; b < indices.length; b++) {
        const i = indices[b];
        composeInto(o, L, i, px.subarray(b * msz, (b + 1) * msz), flags[i] === 1, attrCache, out.subarray(b * size, (b + 1) * size));
      }
      return out;
    },
    prefetch(indices) {
      main.prefetch?.(indices);
    },
  };
  return ds;
}

function makeRecord(o: LayoutInput, L: Layout, flags: Uint8Array, probabilities: number[]): SpuriousRecord {
  const perClass: Record<string, { with: number; without: number }> = Object.fromEntries(
    o.main.classes.map((c) => [c, { with: 0, without: 0 }]),
  );
  let withAttribute = 0;
  for (let i = 0; i < o.main.n; i++) {
    const e = perClass[o.main.classes[o.main.labels[i]]];
    if (flags[i]) {
      e.with++;
      withAttribute++;
    } else e.without++;
  }
  const attribute = isShape(o.attribute) ? structuredClone(o.attribute) : { dataset: o.attribute.name, n: o.attribute.n };
  return {
    seed: o.seed,
    canvas: { h: o.canvas.h, w: o.canvas.w, c: L.c },
    mainSize: { h: L.mh, w: L.mw },
    attributeSide: L.side,
    attribute,
    probabilities,
    placements: L.placements,
    ...(L.attributeSources ? { attributeSources: L.attributeSources } : {}),
    withAttribute,
    perClass,
  };
}

/** Per-class attribute probabilities (index = label) from the options; throws naming the bad key. */
export function resolveProbabilities(
  classes: readonly string[],
  perClass: ComposeOptions['probabilityPerClass'],
  defaultProbability = 0,
): number[] {
  const check = (p: number, key: string) => {
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new RangeError(`${key} must be a probability in [0, 1], got ${p}`);
    return p;
  };
  check(defaultProbability, 'defaultProbability');
  const out = classes.map(() => defaultProbability);
  if (perClass === undefined) return out;
  if (Array.isArray(perClass)) {
    if (perClass.length !== classes.length) {
      throw new RangeError(`probabilityPerClass has ${perClass.length} entries but there are ${classes.length} classes`);
    }
    return perClass.map((p, i) => check(p, `probabilityPerClass[${i}]`));
  }
  for (const [key, p] of Object.entries(perClass as Record<string, number>)) {
    let i = classes.indexOf(key);
    if (i < 0 && /^\d+$/.test(key) && Number(key) < classes.length) i = Number(key);
    if (i < 0) throw new RangeError(`probabilityPerClass.${key}: unknown class (classes: ${classes.join(', ')})`);
    out[i] = check(p, `probabilityPerClass.${key}`);
  }
  return out;
}

/**
 * Composes main images onto a canvas, adding the attribute to each sample with its class's
 * probability (seeded). Output: labels/classes of `main`, c = 3 if either input is RGB,
 * `attributes[i]` = 1 where the attribute was drawn. Deterministic in `seed`.
 *
 * @example composeSpurious({ main: digits, attribute: { kind: 'shape', shape: 'disc', color: [255, 0, 0] },
 *   canvas: { h: 40, w: 40 }, attributeScale: 0.3, probabilityPerClass: { '3': 1 }, defaultProbability: 0, seed: 0 })
 */
export function composeSpurious(o: ComposeOptions): { dataset: ImageDataset; record: SpuriousRecord } {
  const { L, flags, probabilities } = planSpurious(o);
  return { dataset: render(o, L, flags, `${o.main.name}+spurious`), record: makeRecord(o, L, flags, probabilities) };
}

/** The layout and attribute flags of a composition, from labels and geometry alone. */
function planSpurious(o: Omit<ComposeOptions, 'main'> & { readonly main: DatasetInfo }): {
  L: Layout;
  flags: Uint8Array;
  probabilities: number[];
} {
  const probabilities = resolveProbabilities(o.main.classes, o.probabilityPerClass, o.defaultProbability ?? 0);
  const L = computeLayout(o);
  const flagRng = new Rng(o.seed, 'spurious').fork('flags');
  const flags = new Uint8Array(o.main.n);
  for (let i = 0; i < o.main.n; i++) flags[i] = flagRng.bernoulli(probabilities[o.main.labels[i]]) ? 1 : 0;
  return { L, flags, probabilities };
}

/** The layout options with a streamed main dataset. */
export type StreamedLayoutOptions = Omit<ComposeLayoutOptions, 'main'> & { readonly main: StreamedDataset };

/**
 * `composeSpurious` for a streamed main dataset: the same layout, flags, labels, attributes and
 * record, each sample composed as it is read (the attribute dataset, if any, stays in memory).
 */
export function composeSpuriousStreamed(o: Omit<ComposeOptions, 'main'> & { readonly main: StreamedDataset }): {
  dataset: StreamedDataset;
  record: SpuriousRecord;
} {
  const { L, flags, probabilities } = planSpurious(o);
  return { dataset: renderStreamed(o, L, flags, `${o.main.name}+spurious`), record: makeRecord(o, L, flags, probabilities) };
}

/** `composeBoth` for a streamed main dataset: the matched pair, each composed as it is read. */
export function composeBothStreamed(o: StreamedLayoutOptions): {
  withAttribute: StreamedDataset;
  withoutAttribute: StreamedDataset;
  record: SpuriousRecord;
} {
  const L = computeLayout(o);
  const ones = new Uint8Array(o.main.n).fill(1);
  const zeros = new Uint8Array(o.main.n);
  return {
    withAttribute: renderStreamed(o, L, ones, `${o.main.name}+with_attribute`),
    withoutAttribute: renderStreamed(o, L, zeros, `${o.main.name}+without_attribute`),
    record: makeRecord(o, L, ones, []),
  };
}

/**
 * A matched pair for evaluation: the SAME main images in the SAME places, once with the attribute
 * on every sample and once with none, so every class appears both ways and any accuracy gap is
 * due to the attribute alone. The record describes the with-attribute set.
 */
export function composeBoth(o: ComposeLayoutOptions): {
  withAttribute: ImageDataset;
  withoutAttribute: ImageDataset;
  record: SpuriousRecord;
} {
  const L = computeLayout(o);
  const ones = new Uint8Array(o.main.n).fill(1);
  const zeros = new Uint8Array(o.main.n);
  return {
    withAttribute: render(o, L, ones, `${o.main.name}+with_attribute`),
    withoutAttribute: render(o, L, zeros, `${o.main.name}+without_attribute`),
    record: makeRecord(o, L, ones, []),
  };
}
