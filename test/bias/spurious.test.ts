import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeBoth, composeSpurious, renderShape, type ShapeAttribute } from '../../src/bias/index.js';
import type { ImageDataset } from '../../src/data/types.js';
import { makeDataset, px } from './fixtures.js';

// Main images: uniform gray 100 (gray channel), so their box is easy to find on a black canvas.
const main = () => makeDataset({ n: 60, h: 8, w: 8, classes: ['dog', 'cat'], fill: () => 100 });
const red: ShapeAttribute = { kind: 'shape', shape: 'square', color: [255, 0, 0] };

function overlaps(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

test('attribute never overlaps the main object, and pixels show both where the record says', () => {
  const m = main();
  const { dataset, record } = composeSpurious({
    main: m,
    attribute: red,
    canvas: { h: 24, w: 24 },
    mainScale: 0.5,
    attributeScale: 0.25,
    probabilityPerClass: { dog: 1 },
    defaultProbability: 0,
    seed: 3,
  });
  assert.equal(dataset.c, 3, 'gray main + RGB attribute gives RGB');
  assert.equal(record.attributeSide, 6);
  assert.deepEqual(record.mainSize, { h: 12, w: 12 });
  const corners = new Set<string>();
  for (let i = 0; i < m.n; i++) {
    const p = record.placements[i];
    const mainBox = { x: p.mainX, y: p.mainY, w: 12, h: 12 };
    const attrBox = { x: p.attrX, y: p.attrY, w: 6, h: 6 };
    assert.ok(!overlaps(mainBox, attrBox), `sample ${i}: ${JSON.stringify(p)}`);
    assert.ok([0, 18].includes(p.attrX) && [0, 18].includes(p.attrY), 'attribute sits in a corner');
    corners.add(`${p.attrX},${p.attrY}`);
    // Main object: gray 100 on all three channels inside its box.
    for (let ch = 0; ch < 3; ch++) assert.equal(px(dataset, i, ch, p.mainY + 5, p.mainX + 5), 100);
    const flagged = dataset.attributes![i] === 1;
    const rgb = [0, 1, 2].map((ch) => px(dataset, i, ch, p.attrY + 2, p.attrX + 2));
    assert.deepEqual(rgb, flagged ? [255, 0, 0] : [0, 0, 0], `sample ${i} attribute pixels`);
  }
  assert.ok(corners.size > 1, 'corners vary');
  // dogs (label 0) always, cats never.
  for (let i = 0; i < m.n; i++) assert.equal(dataset.attributes![i], m.labels[i] === 0 ? 1 : 0);
  assert.deepEqual(record.perClass, { dog: { with: 30, without: 0 }, cat: { with: 0, without: 30 } });
  assert.equal(record.withAttribute, 30);
  assert.deepEqual(record.probabilities, [1, 0]);
  assert.deepEqual(dataset.labels, m.labels);
  assert.deepEqual(JSON.parse(JSON.stringify(record)), record);
});

test('probability 0.5 for all classes gives every class with and without the attribute, deterministically', () => {
  const m = makeDataset({ n: 200, h: 6, w: 6, classes: ['a', 'b', 'c', 'd'] });
  const opts = { main: m, attribute: red, canvas: { h: 16, w: 16 }, attributeScale: 0.25, defaultProbability: 0.5, seed: 1 };
  const a = composeSpurious(opts);
  for (const [cls, e] of Object.entries(a.record.perClass)) {
    assert.ok(e.with >= 10 && e.without >= 10, `class ${cls}: ${JSON.stringify(e)}`);
  }
  const b = composeSpurious(opts);
  assert.deepEqual(a.dataset.images, b.dataset.images);
  assert.deepEqual(a.dataset.attributes, b.dataset.attributes);
  const c = composeSpurious({ ...opts, seed: 2 });
  assert.notDeepEqual(c.dataset.attributes, a.dataset.attributes);
});

test('composeBoth gives the same images in the same places, differing only inside the attribute box', () => {
  const m = main();
  const disc: ShapeAttribute = { kind: 'shape', shape: 'disc', color: 200 };
  const { withAttribute, withoutAttribute, record } = composeBoth({
    main: m,
    attribute: disc,
    canvas: { h: 20, w: 20 },
    attributeScale: 0.3,
    seed: 0,
  });
  assert.equal(withAttribute.c, 1);
  assert.ok(withAttribute.attributes!.every((v) => v === 1));
  assert.ok(withoutAttribute.attributes!.every((v) => v === 0));
  const side = record.attributeSide;
  const shape = renderShape(disc, side, 1);
  for (let i = 0; i < m.n; i++) {
    const p = record.placements[i];
    for (let r = 0; r < 20; r++)
      for (let q = 0; q < 20; q++) {
        const inBox = r >= p.attrY && r < p.attrY + side && q >= p.attrX && q < p.attrX + side;
        const inDisc = inBox && shape.mask[(r - p.attrY) * side + (q - p.attrX)] === 1;
        const a = px(withAttribute, i, 0, r, q);
        const b = px(withoutAttribute, i, 0, r, q);
        if (inDisc) assert.equal(a, 200, `sample ${i} (${r},${q})`);
        else assert.equal(a, b, `sample ${i} (${r},${q}) differs outside the disc`);
      }
  }
  // The disc mask is round: corners out, centre in.
  assert.equal(shape.mask[0], 0);
  assert.equal(shape.mask[Math.floor(side / 2) * side + Math.floor(side / 2)], 1);
});

test('triangle shape has its apex at the top', () => {
  const t = renderShape({ kind: 'shape', shape: 'triangle', color: 1 }, 5, 1);
  const row = (r: number) => Array.from(t.mask.subarray(r * 5, r * 5 + 5));
  assert.deepEqual(row(0), [0, 0, 1, 0, 0]);
  assert.deepEqual(row(2), [0, 1, 1, 1, 0]);
  assert.deepEqual(row(4), [1, 1, 1, 1, 1]);
  const widths = [0, 1, 2, 3, 4].map((r) => row(r).reduce((a, b) => a + b, 0));
  for (let r = 1; r < 5; r++) assert.ok(widths[r] >= widths[r - 1], `row ${r} narrower than row ${r - 1}`);
});

test('an attribute dataset supplies one seeded image per sample; RGB attribute on gray main gives RGB', () => {
  const m = main();
  const attr: ImageDataset = makeDataset({
    n: 3,
    c: 3,
    h: 4,
    w: 4,
    classes: ['person'],
    fill: (i, ch) => 10 + i * 50 + ch,
    name: 'people',
  });
  const { dataset, record } = composeSpurious({
    main: m,
    attribute: attr,
    canvas: { h: 16, w: 16 },
    attributeScale: 0.25,
    defaultProbability: 1,
    seed: 5,
  });
  assert.equal(dataset.c, 3);
  assert.equal(record.attributeSide, 4);
  assert.deepEqual(record.attribute, { dataset: 'people', n: 3 });
  assert.equal(record.attributeSources!.length, m.n);
  assert.ok(new Set(record.attributeSources).size > 1);
  for (let i = 0; i < m.n; i++) {
    const p = record.placements[i];
    const src = record.attributeSources![i];
    for (let ch = 0; ch < 3; ch++) assert.equal(px(dataset, i, ch, p.attrY + 1, p.attrX + 1), 10 + src * 50 + ch);
  }
});

test('composition errors name the option at fault', () => {
  const m = main();
  assert.throws(
    () => composeSpurious({ main: m, attribute: red, canvas: { h: 10, w: 10 }, mainScale: 0.9, attributeScale: 0.3, seed: 0 }),
    /mainScale 0\.9 and attributeScale 0\.3 leave no room/,
  );
  assert.throws(
    () =>
      composeSpurious({
        main: m,
        attribute: red,
        canvas: { h: 10, w: 10 },
        attributeScale: 0.3,
        probabilityPerClass: { horse: 1 },
        seed: 0,
      }),
    /probabilityPerClass\.horse: unknown class/,
  );
  assert.throws(
    () => composeSpurious({ main: m, attribute: red, canvas: { h: 10, w: 10 }, attributeScale: 0.3, probabilityPerClass: [0.5], seed: 0 }),
    /probabilityPerClass has 1 entries but there are 2 classes/,
  );
  assert.throws(
    () =>
      composeSpurious({ main: m, attribute: red, canvas: { h: 10, w: 10 }, attributeScale: 0.3, probabilityPerClass: { dog: 2 }, seed: 0 }),
    /probabilityPerClass\.dog must be a probability/,
  );
  assert.throws(
    () => composeSpurious({ main: m, attribute: red, canvas: { h: 10, w: 10 }, attributeScale: 1.5, seed: 0 }),
    /attributeScale must be in \(0, 1\)/,
  );
  assert.throws(
    () =>
      composeSpurious({
        main: m,
        attribute: { kind: 'shape', shape: 'square', color: [1, 2] },
        canvas: { h: 10, w: 10 },
        attributeScale: 0.3,
        seed: 0,
      }),
    /attribute must have 1 or 3 channels/,
  );
});
