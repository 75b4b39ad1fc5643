/** SVG chart primitives: each returns a self-contained `<svg>` string with exact-number tooltips. */
export { barChart, type Bar, type BarChartOptions } from './bar.js';
export { lineChart, type LinePoint, type LineChartOptions } from './line.js';
export { histogramChart, type HistogramChartOptions } from './histogram.js';
export { dotPlot, type Dot, type DotPlotOptions } from './dot.js';
export { PALETTE, niceTicks } from './common.js';
