// Small SVG charts of our own: a segment beside the population (bars, a histogram,
// stacked shares) and a Venn diagram. Every mark carries its numbers in data-* attributes.

import { h, s } from './dom.js';
import { t, fmt } from './i18n.js';

const PALETTE = ['#c2255c', '#1971c2', '#868e96', '#e8590c', '#2f9e44', '#7048e8'];

/**
 * Rows for a facet: each key's count and share in the segment and in the population, and
 * the index (segment share ÷ population share; null when the population has none).
 */
export function compareRows(entries, total, popEntries, popTotal) {
  const popOf = new Map(popEntries);
  return entries.map(([key, count, rowLabel]) => {
    const popCount = popOf.get(key) ?? 0;
    const share = total ? count / total : 0;
    const popShare = popTotal ? popCount / popTotal : 0;
    return { key, label: rowLabel ?? key, count, share, popCount, popShare, index: popShare ? share / popShare : null };
  });
}

function rowData(row) {
  return {
    'data-key': row.key,
    'data-count': row.count,
    'data-share': row.share.toFixed(6),
    'data-pop-count': row.popCount,
    'data-pop-share': row.popShare.toFixed(6),
    'data-index': row.index === null ? '' : row.index.toFixed(4),
  };
}

function indexClass(index) {
  if (index === null) return 'idx';
  if (index >= 1.2) return 'idx hi';
  if (index <= 0.8) return 'idx lo';
  return 'idx';
}

function tooltip(row) {
  return t('chart.tooltip', {
    label: row.label,
    count: fmt.people(row.count),
    share: fmt.pct(row.share),
    pop: fmt.pct(row.popShare),
    index: row.index === null ? '—' : fmt.timesLong(row.index),
  });
}

/** Horizontal bars: the segment's share (colour) over the population's (grey), per key. */
export function barChart(testid, rows, { labelWidth = 86 } = {}) {
  const width = 400;
  const rowHeight = 24;
  const barWidth = width - labelWidth - 104;
  const max = Math.max(0.0001, ...rows.map((r) => Math.max(r.share, r.popShare)));
  const svg = s('svg', {
    class: 'chart bars',
    'data-testid': testid,
    viewBox: `0 0 ${width} ${rows.length * rowHeight + 4}`,
    role: 'img',
  },
  rows.map((row, i) => {
    const y = i * rowHeight + 2;
    return s('g', { 'data-testid': 'chart-row', ...rowData(row) },
      s('title', null, tooltip(row)),
      s('text', { x: labelWidth - 6, y: y + 14, 'text-anchor': 'end', class: 'lbl' }, truncate(row.label, 9)),
      s('rect', { x: labelWidth, y: y + 2, width: (row.share / max) * barWidth, height: 11, rx: 2, class: 'seg' }),
      s('rect', { x: labelWidth, y: y + 15, width: (row.popShare / max) * barWidth, height: 4, rx: 1, class: 'pop' }),
      s('text', { x: labelWidth + barWidth + 6, y: y + 14, class: 'num' }, fmt.pct(row.share)),
      s('text', { x: width - 2, y: y + 14, 'text-anchor': 'end', class: indexClass(row.index) },
        row.index === null ? '—' : fmt.times(row.index)));
  }));
  return svg;
}

/** Vertical bars per bucket (the age histogram): segment and population side by side. */
export function histogram(testid, rows) {
  const width = 400;
  const height = 170;
  const top = 18;
  const bottom = 36;
  const plot = height - top - bottom;
  const col = width / rows.length;
  const bar = col * 0.36;
  const max = Math.max(0.0001, ...rows.map((r) => Math.max(r.share, r.popShare)));
  return s('svg', { class: 'chart histogram', 'data-testid': testid, viewBox: `0 0 ${width} ${height}`, role: 'img' },
    s('line', { x1: 0, x2: width, y1: top + plot, y2: top + plot, class: 'axis' }),
    rows.map((row, i) => {
      const x = i * col + (col - bar * 2 - 2) / 2;
      const segH = (row.share / max) * plot;
      const popH = (row.popShare / max) * plot;
      return s('g', { 'data-testid': 'chart-row', ...rowData(row) },
        s('title', null, tooltip(row)),
        s('rect', { x, y: top + plot - segH, width: bar, height: segH, rx: 2, class: 'seg' }),
        s('rect', { x: x + bar + 2, y: top + plot - popH, width: bar, height: popH, rx: 2, class: 'pop' }),
        s('text', { x: x + bar / 2, y: top + plot - segH - 4, 'text-anchor': 'middle', class: 'num small' }, fmt.pctShort(row.share)),
        s('text', { x: i * col + col / 2, y: top + plot + 14, 'text-anchor': 'middle', class: 'lbl' }, row.label),
        s('text', { x: i * col + col / 2, y: top + plot + 29, 'text-anchor': 'middle', class: indexClass(row.index) },
          row.index === null ? '—' : fmt.times(row.index)));
    }));
}

/** Two 100% bars (segment, population) split by key, with a legend of shares and indexes. */
export function stackedShares(testid, rows) {
  const width = 400;
  const labelWidth = 64;
  const barWidth = width - labelWidth;
  const stack = (y, shareOf, name) => {
    let x = labelWidth;
    return s('g', null,
      s('text', { x: labelWidth - 6, y: y + 13, 'text-anchor': 'end', class: 'lbl' }, name),
      rows.map((row, i) => {
        const w = shareOf(row) * barWidth;
        const rect = s('rect', { x, y, width: Math.max(0, w), height: 18, fill: PALETTE[i % PALETTE.length] },
          s('title', null, tooltip(row)));
        x += w;
        return rect;
      }));
  };
  return h('div', { class: 'stacked', 'data-testid': testid },
    s('svg', { class: 'chart', viewBox: `0 0 ${width} 50`, role: 'img' },
      stack(2, (r) => r.share, t('chart.segment')),
      stack(28, (r) => r.popShare, t('chart.population'))),
    h('ul', { class: 'legend' }, rows.map((row, i) => h('li', { 'data-testid': 'chart-row', ...rowData(row), title: tooltip(row) },
      h('span', { class: 'swatch', style: `background:${PALETTE[i % PALETTE.length]}` }),
      h('span', { class: 'lg-label' }, row.label),
      h('span', { class: 'num' }, fmt.pct(row.share)),
      h('span', { class: 'muted' }, t('chart.vs_pop', { share: fmt.pct(row.popShare) })),
      h('span', { class: indexClass(row.index) }, row.index === null ? '—' : fmt.timesLong(row.index))))));
}

// Circle centres and region label spots for two and three sets (not to scale: the counts are).
const LAYOUT = {
  2: {
    circles: [[150, 120], [250, 120]],
    r: 95,
    titles: [[120, 14], [280, 14]],
    regions: { '0': [105, 125], '1': [295, 125], '0,1': [200, 125] },
  },
  3: {
    circles: [[160, 115], [240, 115], [200, 185]],
    r: 82,
    titles: [[110, 20], [290, 20], [200, 285]],
    regions: {
      '0': [125, 100], '1': [275, 100], '2': [200, 232],
      '0,1': [200, 90], '0,2': [155, 170], '1,2': [245, 170], '0,1,2': [200, 140],
    },
  },
};

/** A Venn diagram of the answer of `POST /api/overlap`, with the count of every region. */
export function venn(answer) {
  const n = answer.sets.length;
  const layout = LAYOUT[n];
  if (!layout) return h('div', { class: 'error' }, t('compare.need'));
  const height = n === 3 ? 295 : 230;
  return s('svg', { class: 'chart venn', 'data-testid': 'venn', 'data-union': answer.union, viewBox: `0 0 400 ${height}`, role: 'img' },
    layout.circles.map(([cx, cy], i) => s('circle', { cx, cy, r: layout.r, fill: PALETTE[i], 'fill-opacity': 0.22, stroke: PALETTE[i], 'stroke-width': 2 })),
    answer.sets.map((set, i) => s('text', {
      x: layout.titles[i][0], y: layout.titles[i][1], 'text-anchor': 'middle', class: 'venn-title',
      'data-testid': 'venn-set', 'data-index': i, 'data-count': set.count, fill: PALETTE[i],
    }, `${truncate(set.label, 14)} (${fmt.int(set.count)})`)),
    answer.regions.map((region) => {
      const key = [...region.sets].sort().join(',');
      const [x, y] = layout.regions[key] ?? [0, 0];
      return s('text', {
        x, y, 'text-anchor': 'middle', class: 'venn-count',
        'data-testid': 'venn-region', 'data-sets': key, 'data-count': region.count,
      }, fmt.int(region.count));
    }));
}

function truncate(text, max) {
  const chars = [...String(text)];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : String(text);
}
