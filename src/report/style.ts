/** The report's inline stylesheet (no external fonts or files). */
export const REPORT_CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #f6f8fa;
  margin: 0; line-height: 1.5; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; min-height: 100vh; }
h1 { font-size: 1.9em; margin: 0.2em 0; }
h2 { font-size: 1.4em; margin-top: 2em; padding-bottom: 0.2em; border-bottom: 1px solid #d0d7de; }
.subtitle { color: #57606a; font-size: 1.1em; margin: 0; }
.meta { color: #57606a; font-size: 0.9em; }
nav.toc { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 18px; margin: 18px 0; }
nav.toc ol { margin: 4px 0; padding-left: 22px; }
a { color: #0969da; }
.banner { background: #fff8c5; border: 1px solid #d4a72c; border-left: 6px solid #bf8700; border-radius: 6px; padding: 10px 14px;
  margin: 12px 0; color: #3b2300; }
.banner strong { text-transform: uppercase; letter-spacing: 0.02em; }
.summary { display: flex; gap: 10px; flex-wrap: wrap; margin: 10px 0; }
.findings { border: 1px solid #d0d7de; border-radius: 6px; margin: 14px 0; overflow: hidden; }
.findings h3 { margin: 0; padding: 8px 12px; background: #f6f8fa; font-size: 1em; border-bottom: 1px solid #d0d7de; }
/* The badge column fits the widest verdict label ('◐ one seed, indicative'), and a badge may wrap
   rather than run into the claim; narrow screens stack badge and claim. */
.finding { display: grid; grid-template-columns: 13.5em minmax(0, 1fr); gap: 4px 14px; padding: 10px 12px; border-left: 6px solid; }
.finding .badge { white-space: normal; max-width: 100%; box-sizing: border-box; justify-self: start; }
.finding + .finding { border-top: 1px solid #eaeef2; }
.finding.yes { border-left-color: #1a7f37; }
.finding.no { border-left-color: #cf222e; }
.finding.inconclusive { border-left-color: #8c959f; }
.finding.indicative { border-left-color: #bf8700; }
.finding .claim { font-weight: 600; }
.finding .measured { grid-column: 2; color: #333; }
.finding .reason { grid-column: 2; color: #57606a; font-size: 0.9em; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; font-size: 0.85em; white-space: nowrap;
  height: fit-content; }
.badge.yes { background: #dafbe1; color: #116329; }
.badge.no { background: #ffebe9; color: #a40e26; }
.badge.inconclusive { background: #eaeef2; color: #424a53; }
.badge.indicative { background: #fff8c5; color: #7d4e00; }
figure { margin: 18px 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eaeef2; border-radius: 4px; }
figure img { max-width: 100%; image-rendering: pixelated; image-rendering: crisp-edges; border: 1px solid #eaeef2; min-width: 96px; }
/* Example grids at their own size (each image pixel at least 3 screen pixels, so a 5x5 trigger
   shows), and a click enlarges one to the window without scripts: the figure is the :target. */
.images figure a.zoom { display: inline-block; cursor: zoom-in; }
.images figure a.close { display: none; }
.images figure:target { position: fixed; inset: 0; z-index: 10; margin: 0; max-width: none; background: rgba(20, 20, 20, 0.92);
  display: flex; flex-direction: column; align-items: center; justify-content: center; padding: 16px; box-sizing: border-box; }
.images figure:target a.zoom { cursor: default; position: relative; z-index: 1; }
.images figure:target img { width: auto; height: auto; max-width: 96vw; max-height: 84vh; min-width: min(90vw, 1200px); object-fit: contain;
  background: #fff; }
.images figure:target figcaption { color: #fff; }
/* The close link covers the overlay (a click beside the image closes it), its × at the top right. */
.images figure:target a.close { display: block; position: absolute; inset: 0; padding: 6px 18px; text-align: right; color: #fff;
  font-size: 2em; text-decoration: none; cursor: zoom-out; }
figcaption { color: #424a53; font-size: 0.92em; margin-top: 4px; }
.images { display: flex; flex-wrap: wrap; gap: 16px; }
.images figure { margin: 6px 0; max-width: 100%; }
table { border-collapse: collapse; margin: 14px 0; font-size: 0.92em; }
caption { text-align: left; color: #424a53; padding-bottom: 4px; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.null { color: #8c959f; text-align: center; }
details { margin: 14px 0; }
summary { cursor: pointer; color: #0969da; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px; overflow: auto; font-size: 0.85em; }
footer { margin-top: 48px; color: #57606a; font-size: 0.85em; }
/* Last, so it overrides the two-column finding layout above. */
@media (max-width: 640px) {
  .finding { grid-template-columns: minmax(0, 1fr); }
  .finding .measured, .finding .reason { grid-column: 1; }
}
`;
