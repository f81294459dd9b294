// A small line graph of a volume's recent I/O, as SVG: two series (read and
// write) over the last minutes, the newest sample at the right edge, scaled
// to the largest value shown. The numbers are also written beside it, so a
// screen reader (and a test) can read what the lines draw.
import { h, svg } from './dom.js';
import type { IoSampleStatus } from './status-types.js';

const width = 300;
const height = 80;

export interface Series {
  name: 'read' | 'write';
  values: Array<number | null>;
}

export interface GraphOptions {
  /** data-graph: throughput or latency. */
  kind: 'throughput' | 'latency';
  title: string;
  /** How the scale's top and the latest values are written. */
  format(value: number): string;
  /** The smallest top of the scale, so that idle is a flat line at the bottom, not noise blown up. */
  floor: number;
}

function path(values: Array<number | null>, slots: number, top: number): string {
  let d = '';
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null) {
      drawing = false;
      return;
    }
    const x = ((slots - values.length + index) / Math.max(1, slots - 1)) * width;
    const y = height - (Math.min(value, top) / top) * (height - 2) - 1;
    d += `${drawing ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    drawing = true;
  });
  return d;
}

export function lineGraph(series: Series[], slots: number, options: GraphOptions): HTMLElement {
  const values = series.flatMap((one) => one.values.filter((value): value is number => value !== null));
  const top = Math.max(options.floor, ...values) * 1.1;
  const latest = (one: Series): number | null => [...one.values].reverse().find((value) => value !== null) ?? null;
  const legend = h('div', { class: 'graph-legend' },
    ...series.map((one) => {
      const value = latest(one);
      return h('span', { class: `legend-${one.name}`, 'data-series': one.name, 'data-latest': value ?? '' },
        `${one.name} ${value === null ? '–' : options.format(value)}`);
    }));
  const picture = svg('svg', { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': options.title },
    svg('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'axis' }),
    ...series.map((one) => svg('path', { d: path(one.values, slots, top), class: `line-${one.name}`, 'data-series': one.name })));
  return h('figure', { class: 'graph', 'data-graph': options.kind },
    h('figcaption', {}, h('span', {}, options.title), h('span', { class: 'graph-top' }, `max ${options.format(top / 1.1)}`)),
    picture,
    legend);
}

/** The two graphs of a volume: throughput and mean latency, over the samples it has. */
export function ioGraphs(samples: IoSampleStatus[], slots: number, span: string, formatRate: (value: number) => string, formatLatency: (value: number) => string): HTMLElement[] {
  return [
    lineGraph([
      { name: 'read', values: samples.map((sample) => sample.read_bytes_per_second) },
      { name: 'write', values: samples.map((sample) => sample.write_bytes_per_second) },
    ], slots, { kind: 'throughput', title: `Throughput, last ${span}`, format: formatRate, floor: 64 * 1024 }),
    lineGraph([
      { name: 'read', values: samples.map((sample) => sample.read_latency_ms) },
      { name: 'write', values: samples.map((sample) => sample.write_latency_ms) },
    ], slots, { kind: 'latency', title: `Latency (mean), last ${span}`, format: formatLatency, floor: 1 }),
  ];
}
