/** The data a report is built from: plain objects, so a report can be saved and re-rendered. */

/**
 * Whether a paper claim held as measured in this run: 'yes' (intervals over >= 2 seeds disjoint
 * in the claimed direction), 'no' (disjoint the other way), 'indicative' (one seed: never a
 * verdict) or 'inconclusive'. Judged in src/publish/verdict.ts.
 */
export type Holds = 'yes' | 'no' | 'inconclusive' | 'indicative';

/** One paper claim and what this run measured about it. */
export interface Finding {
  /** The claim, e.g. 'Backdoors in the source model survive fixed-feature transfer'. */
  readonly claim: string;
  /** What was measured, with numbers, e.g. 'ASR 0.91 [0.88, 0.93] vs 0.04 from a clean source'. */
  readonly measured: string;
  readonly holds: Holds;
  /** Why the verdict is what it is, e.g. 'intervals overlap (3 vs 3 seeds)'. */
  readonly reason?: string;
}

/** A chart: an SVG string from src/report/svg plus its caption and, optionally, its data. */
export interface ReportChart {
  /** An `<svg ...>...</svg>` string (no scripts). */
  readonly svg: string;
  readonly caption: string;
  /** File name of the chart's data (a relative name like 'asr.csv', no folders). */
  readonly csvName?: string;
  /** The CSV text itself; when given it is embedded as a data: link named `csvName`. */
  readonly csv?: string;
}

/** A table; null cells show as '—', numbers with up to 6 significant digits. */
export interface ReportTable {
  readonly caption: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number | null)[])[];
}

/** A PNG image (e.g. a poisoned example), embedded as a data: URL. */
export interface ReportImage {
  /** PNG bytes, or the same bytes base64-encoded. */
  readonly png: Uint8Array | string;
  readonly caption: string;
  /** Alternative text; default the caption. */
  readonly alt?: string;
}

/** One section of a report. Everything optional renders in the order listed here. */
export interface Section {
  /** Anchor id: a letter then letters, digits, '-' or '_'. Unique within the report. */
  readonly id: string;
  readonly title: string;
  readonly paragraphs?: readonly string[];
  readonly findings?: readonly Finding[];
  readonly charts?: readonly ReportChart[];
  readonly tables?: readonly ReportTable[];
  readonly images?: readonly ReportImage[];
  /** Any JSON-like value (e.g. the resolved config), shown pretty-printed in a collapsible block. */
  readonly config?: unknown;
}

/** A whole report. */
export interface Report {
  readonly title: string;
  readonly subtitle?: string;
  /** When the report was generated (a Date or an ISO string). */
  readonly generatedAt: Date | string;
  /** A warning shown above everything else, e.g. that the models are under-trained (a smoke test, not a measurement). */
  readonly banner?: { readonly title: string; readonly text: string };
  readonly sections: readonly Section[];
}
