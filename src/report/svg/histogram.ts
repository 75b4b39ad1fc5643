/** Predicted-class histograms side by side (e.g. transferred vs scratch, with the patch). */
import { barChart } from './bar.js';

/** Options of {@link histogramChart}. */
export interface HistogramChartOptions {
  /** Class names; index = class. */
  readonly classes: readonly string[];
  /** One histogram per series; proportions[k] is the share predicted as class k (null: none). */
  readonly series: readonly { readonly name: string; readonly proportions: readonly number[] | null }[];
  readonly title: string;
  /** Default 'share of predictions'. */
  readonly yLabel?: string;
  readonly width?: number;
  readonly height?: number;
}

/**
 * An SVG string of grouped bars: one group per class, one bar per series, tooltips with each
 * exact proportion. Missing proportions (an empty histogram) show as 'n/a'.
 */
export function histogramChart(o: HistogramChartOptions): string {
  for (const s of o.series) {
    if (s.proportions && s.proportions.length !== o.classes.length) {
      throw new RangeError(`histogramChart: series "${s.name}" has ${s.proportions.length} proportions for ${o.classes.length} classes`);
    }
  }
  return barChart({
    title: o.title,
    yLabel: o.yLabel ?? 'share of predictions',
    xLabel: 'predicted class',
    width: o.width ?? Math.max(640, 90 + o.classes.length * o.series.length * 22),
    height: o.height,
    groups: o.classes.map((label, k) => ({
      label,
      bars: o.series.map((s) => ({ series: s.name, value: s.proportions ? s.proportions[k] : null })),
    })),
  });
}
