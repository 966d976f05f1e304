/**
 * Charts: a Vega-Lite spec -> SVG (vega's headless View, no browser) -> PNG (resvg).
 *
 * resvg silently drops every text element when it finds no font, so the DejaVu TTF files shipped by the npm
 * package `dejavu-fonts-ttf` are passed explicitly and system fonts are never consulted: the PNG looks the same
 * on every machine. Every chart gets 'DejaVu Sans' and a white background unless its spec sets its own.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { configError } from '../../errors.js';
import { ensureDir, writeTextFile } from './files.js';

export const FONT_FAMILY = 'DejaVu Sans';

/** The TTF files the PNG renderer uses (regular and bold). */
export function fontFiles(): string[] {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return [join(dir, 'DejaVuSans.ttf'), join(dir, 'DejaVuSans-Bold.ttf')];
}

/** Defaults every chart shares: the shipped font and a white background (PNGs are not transparent). */
const baseConfig = {
  font: FONT_FAMILY,
  background: 'white',
  title: { font: FONT_FAMILY, fontSize: 14 },
  axis: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY },
  legend: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY },
  header: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY },
};

/** Vega-Lite spec (a plain object) -> SVG text. A spec that does not compile is a config error naming `what`. */
export async function toSvg(spec: object, what = 'chart spec'): Promise<string> {
  const withConfig = { ...spec, config: { ...baseConfig, ...((spec as { config?: object }).config ?? {}) } };
  let view: vega.View;
  try {
    const compiled = vl.compile(withConfig as vl.TopLevelSpec).spec;
    view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  } catch (e) {
    throw configError(what, `the Vega-Lite spec does not compile: ${(e as Error).message}`);
  }
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG text -> PNG bytes, at `scale` times the SVG's size. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const resvg = new Resvg(svg, {
    font: { fontFiles: fontFiles(), loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
  });
  return resvg.render().asPng();
}

/**
 * Writes `<outBase>.svg` and `<outBase>.png` (PNG at 2x) for a Vega-Lite spec; creates the folder.
 * An unwritable place is an io error naming the folder.
 */
export async function writeChart(spec: object, outBase: string): Promise<{ svg: string; png: string }> {
  const svg = `${outBase}.svg`;
  const png = `${outBase}.png`;
  const svgText = await toSvg(spec, svg);
  ensureDir(dirname(outBase));
  writeTextFile(svg, svgText, 'the chart');
  writeTextFile(png, svgToPng(svgText), 'the chart');
  return { svg, png };
}
