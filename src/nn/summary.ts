/** Parameter counts of a Classifier per block, head, trainable vs frozen. */
import type { Tensor } from '../torch/index.js';
import type { Classifier } from './models/classifier.js';

/** One row of `summaryRows`: element counts of the parameters of one part of a model. */
export interface SummaryRow {
  /** Block name (`stem`, `layer1.0`, ...), `head`, `other` (parameters outside both), or `total`. */
  name: string;
  params: number;
  trainable: number;
  frozen: number;
}

function count(ts: Iterable<Tensor>, seen: Set<Tensor>): SummaryRow {
  const r: SummaryRow = { name: '', params: 0, trainable: 0, frozen: 0 };
  for (const t of ts) {
    if (seen.has(t)) continue;
    seen.add(t);
    const n = t.numel;
    r.params += n;
    if (t.requiresGrad) r.trainable += n;
    else r.frozen += n;
  }
  return r;
}

/** Rows for each of `model.blocks()`, then `head`, then `other` (only if non-empty), then `total`. */
export function summaryRows(model: Classifier): SummaryRow[] {
  const seen = new Set<Tensor>();
  const rows: SummaryRow[] = [];
  for (const b of model.blocks()) rows.push({ ...count(b.module.parameters(), seen), name: b.name });
  rows.push({ ...count(model.head.parameters(), seen), name: 'head' });
  const other = count(model.parameters(), seen);
  if (other.params > 0) rows.push({ ...other, name: 'other' });
  const total = rows.reduce(
    (a, r) => ({ name: 'total', params: a.params + r.params, trainable: a.trainable + r.trainable, frozen: a.frozen + r.frozen }),
    {
      name: 'total',
      params: 0,
      trainable: 0,
      frozen: 0,
    },
  );
  rows.push(total);
  return rows;
}

/** A plain-text table of `summaryRows` headed by the model's spec. */
export function summary(model: Classifier): string {
  const rows = summaryRows(model);
  const w = Math.max(5, ...rows.map((r) => r.name.length));
  const fmt = (n: number): string => n.toLocaleString('en-US').padStart(12);
  const lines = [
    `${model.typeName} ${JSON.stringify(model.spec)}`,
    `${'block'.padEnd(w)} ${'params'.padStart(12)} ${'trainable'.padStart(12)} ${'frozen'.padStart(12)}`,
  ];
  for (const r of rows) {
    if (r.name === 'total') lines.push('-'.repeat(w + 39));
    lines.push(`${r.name.padEnd(w)} ${fmt(r.params)} ${fmt(r.trainable)} ${fmt(r.frozen)}`);
  }
  return lines.join('\n');
}
