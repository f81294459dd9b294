// A flame graph as a self-contained SVG: one box per frame, as wide as the
// share of samples whose stacks pass through it, callers below callees.
// Hovering a box shows its name, samples and share (an SVG <title>); no
// script, so it renders the same in a browser, an image viewer or a
// document. Colours tell the kind of code: kernel orange, JavaScript green,
// native code (Node, V8, libc) red-yellow, the thread roles grey.
import type { FoldedStacks } from './folded.js';

export interface FlameGraphOptions {
  title: string;
  /** Under the title: what was measured, and how. */
  subtitle?: string;
  widthPx?: number;
  /** Boxes narrower than this are left out (their samples still count in their parents). */
  minimumWidthPx?: number;
}

interface Frame {
  name: string;
  weight: number;
  children: Map<string, Frame>;
}

const frameHeightPx = 16;
const fontSizePx = 11;
/** Average advance of a character of the font at fontSizePx, for clipping names to their boxes. */
const charWidthPx = 6.2;
const marginPx = 10;
const headerPx = 44;

function treeOf(folded: FoldedStacks): Frame {
  const root: Frame = { name: 'all', weight: 0, children: new Map() };
  for (const [stack, weight] of folded) {
    root.weight += weight;
    let node = root;
    for (const name of stack.split(';')) {
      let child = node.children.get(name);
      if (child === undefined) {
        child = { name, weight: 0, children: new Map() };
        node.children.set(name, child);
      }
      child.weight += weight;
      node = child;
    }
  }
  return root;
}

function depthOf(frame: Frame, scale: number, minimumWidthPx: number): number {
  let deepest = 0;
  for (const child of frame.children.values()) {
    if (child.weight * scale >= minimumWidthPx) deepest = Math.max(deepest, depthOf(child, scale, minimumWidthPx));
  }
  return deepest + 1;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A stable colour per name, in the hue band of its kind of code. */
function colourOf(name: string, depth: number): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) >>> 0;
  const vary = (hash % 1000) / 1000;
  if (depth <= 1) return `rgb(${190 + Math.round(vary * 20)},${190 + Math.round(vary * 20)},${200 + Math.round(vary * 20)})`;
  if (name.startsWith('[k] ')) return `rgb(${225 + Math.round(vary * 30)},${120 + Math.round(vary * 50)},${40 + Math.round(vary * 20)})`;
  if (isJavaScript(name)) return `rgb(${80 + Math.round(vary * 60)},${180 + Math.round(vary * 50)},${80 + Math.round(vary * 40)})`;
  return `rgb(${220 + Math.round(vary * 35)},${90 + Math.round(vary * 120)},${50 + Math.round(vary * 30)})`;
}

function isJavaScript(name: string): boolean {
  // "JS:*name file:line:column" from node --perf-basic-prof, "name file:line" from a .cpuprofile.
  return name === '[JIT code]' || name.startsWith('JS:') || / \S+\.(m?js|ts):\d+$/.test(name) || name.startsWith('Builtins_') || name.startsWith('(');
}

export function renderFlameGraph(folded: FoldedStacks, options: FlameGraphOptions): string {
  const widthPx = options.widthPx ?? 1200;
  const minimumWidthPx = options.minimumWidthPx ?? 1.2;
  const root = treeOf(folded);
  const innerWidthPx = widthPx - 2 * marginPx;
  const scale = root.weight > 0 ? innerWidthPx / root.weight : 0;
  const depth = root.weight > 0 ? depthOf(root, scale, minimumWidthPx) : 1;
  const heightPx = headerPx + depth * frameHeightPx + marginPx + 20;
  const bottomPx = heightPx - marginPx - 20;
  const boxes: string[] = [];
  const place = (frame: Frame, level: number, xPx: number): void => {
    const boxWidthPx = frame.weight * scale;
    if (boxWidthPx < minimumWidthPx) return;
    const yPx = bottomPx - (level + 1) * frameHeightPx;
    const share = root.weight > 0 ? (100 * frame.weight) / root.weight : 0;
    const label = `${frame.name} (${frame.weight} samples, ${share.toFixed(2)}%)`;
    const fits = Math.floor((boxWidthPx - 4) / charWidthPx);
    const text = fits >= 3 ? (frame.name.length <= fits ? frame.name : `${frame.name.slice(0, fits - 2)}..`) : '';
    boxes.push(`<g><title>${escapeXml(label)}</title><rect x="${xPx.toFixed(1)}" y="${yPx}" width="${boxWidthPx.toFixed(1)}" height="${frameHeightPx - 1}" fill="${colourOf(frame.name, level)}" rx="2"/>`
      + (text === '' ? '' : `<text x="${(xPx + 3).toFixed(1)}" y="${yPx + 11.5}">${escapeXml(text)}</text>`) + '</g>');
    let childX = xPx;
    const children = [...frame.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      place(child, level + 1, childX);
      childX += child.weight * scale;
    }
  };
  if (root.weight > 0) place(root, 0, marginPx);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="monospace" font-size="${fontSizePx}">`,
    `<rect width="100%" height="100%" fill="#fdfdf8"/>`,
    `<text x="${widthPx / 2}" y="20" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
    options.subtitle === undefined ? '' : `<text x="${widthPx / 2}" y="36" text-anchor="middle" fill="#555">${escapeXml(options.subtitle)}</text>`,
    ...boxes,
    `<text x="${marginPx}" y="${heightPx - 8}" fill="#555">${escapeXml(`${root.weight} samples; boxes under ${minimumWidthPx} px left out; hover for names and shares`)}</text>`,
    `</svg>`,
    '',
  ].join('\n');
}
