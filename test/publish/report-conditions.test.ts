/** The report shows no rows, bars or lines for conditions that were never run (no "full, biased: n/a"). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { experimentSections, type ReportInput } from '../../src/publish/report.js';
import type { MetricRecord } from '../../src/store/index.js';

function row(kind: 'biased' | 'clean' | null, mode: string, condition: string, metric: string, value: number, seed = 0): MetricRecord {
  return {
    runId: `r${seed}`,
    runName: 'x',
    seed,
    sweepId: 'default',
    condition,
    transferMode: mode,
    sourceKind: kind,
    target: 't',
    metric,
    value,
    lo: null,
    hi: null,
    numerator: null,
    denominator: null,
  };
}

function input(rows: MetricRecord[], extra: Partial<ReportInput> = {}): ReportInput {
  return {
    name: 'x',
    description: '',
    rows,
    modes: ['fixed', 'full', 'scratch'],
    targets: ['t'],
    targetClasses: { t: ['a', 'b'] },
    conditionLabels: {},
    neutralOf: {},
    examples: [],
    config: {},
    seeds: [0, 1],
    sweepIds: ['default'],
    ...extra,
  };
}

const cells = (sections: ReturnType<typeof experimentSections>) =>
  sections.flatMap((s) => (s.tables ?? []).flatMap((t) => t.rows.map((r) => r.join(' | '))));

test('a clean-only (natural) experiment lists no biased-source rows and names its probes by what they are', () => {
  const rows: MetricRecord[] = [];
  for (const seed of [0, 1])
    for (const [kind, mode] of [
      ['clean', 'fixed'],
      ['clean', 'full'],
      [null, 'scratch'],
    ] as const) {
      rows.push(row(kind, mode, 'clean', 'accuracy', 0.9, seed));
      rows.push(row(kind, mode, 'patch0', 'tv-shift', 0.2, seed));
      rows.push(row(kind, mode, 'patch1', 'tv-shift', 0.1, seed));
    }
  const secs = experimentSections(
    input(rows, { conditionLabels: { patch0: 'T-shirt crop', patch1: 'neutral grey like T-shirt crop' }, neutralOf: { patch1: 'patch0' } }),
  );
  const all = cells(secs);
  assert.ok(all.length > 0);
  for (const c of all) assert.doesNotMatch(c, /\bbiased\b/, `a row for a source that does not exist: ${c}`);
  const svgs = secs.flatMap((s) => (s.charts ?? []).map((ch) => ch.svg)).join('');
  assert.doesNotMatch(svgs, /biased src/);
  // Probes are named by what they are, in legends and tables, not by their condition id.
  assert.match(svgs, />neutral grey like T-shirt crop</);
  assert.match(svgs, />T-shirt crop</);
  assert.doesNotMatch(svgs + all.join('\n'), /patch[01]\b/);
});

test('a backdoor run without a clean control shows no control rows or bars', () => {
  const rows: MetricRecord[] = [];
  for (const seed of [0, 1]) {
    for (const mode of ['fixed', 'full']) {
      rows.push(row('biased', mode, 'clean', 'accuracy', 0.9, seed));
      rows.push(row('biased', mode, 'triggered', 'asr', 0.5, seed));
    }
    rows.push(row(null, 'scratch', 'clean', 'accuracy', 0.9, seed));
    rows.push(row(null, 'scratch', 'triggered', 'asr', 0.1, seed));
  }
  const secs = experimentSections(input(rows));
  const backdoor = secs.find((s) => s.id.includes('backdoor'));
  assert.ok(backdoor, 'backdoor section');
  for (const c of cells([backdoor])) assert.doesNotMatch(c, /\|\s*clean\s*\|/, `a control row that was never run: ${c}`);
  assert.doesNotMatch(backdoor.charts![0].svg, /clean source/);
  assert.doesNotMatch(cells(secs).join('\n'), /n\/a \| n\/a/);
});
