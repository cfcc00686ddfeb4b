// The catalog on the left: fields by group, each value clickable with its population
// count, number fields with presets; and the search box over conditions.

import { h, mount, debounce } from './dom.js';
import { api } from './api.js';
import { t, fmt } from './i18n.js';
import { label, valueLabel, unitValue } from './meta.js';

/** Values shown before "more"; and at most this many once expanded (the filter finds the rest). */
const FIRST_VALUES = 6;
const MAX_VALUES = 200;
const DEFAULT_WINDOW = 90;

/** Presets of a number field: a name, the condition, and the population count when exact. */
function presets(field, population, ageFacet) {
  const list = [];
  if (field.name === 'age' && ageFacet) {
    for (const [key, lo, hi] of [['20-29', 20, 29], ['30-39', 30, 39], ['40-49', 40, 49], ['50-59', 50, 59]]) {
      list.push({ id: `decade-${lo}`, text: t('preset.decade', { n: lo }), op: 'between', value: [lo, hi], count: ageFacet[key] });
    }
  }
  const q = field.quantiles;
  if (q && q.length === 5) {
    list.push(
      { id: 'bottom25', text: t('preset.bottom25'), op: 'lte', value: q[1] },
      { id: 'middle50', text: t('preset.middle50'), op: 'between', value: [q[1], q[3]] },
      { id: 'top25', text: t('preset.top25'), op: 'gte', value: q[3] },
      { id: 'top10', text: t('preset.top10'), op: 'gte', value: q[4] },
    );
  }
  if (field.known !== undefined) {
    list.push({ id: 'known', text: t('op.exists_true'), op: 'exists', value: true, count: field.known });
    if (population > field.known) {
      list.push({ id: 'unknown', text: t('op.exists_false'), op: 'exists', value: false, count: population - field.known });
    }
  }
  return list;
}

export class Catalog {
  constructor(root, searchRoot, { onAdd }) {
    this.root = root;
    this.onAdd = onAdd;
    this.meta = null;
    this.ageFacet = null;
    this.windows = new Map(); // base → chosen window
    this.expanded = new Set(); // bases showing all values
    this.filters = new Map(); // base → filter text
    this.collapsed = new Set(); // group ids folded away
    this.search = new Search(searchRoot, { onAdd });
  }

  setMeta(meta) {
    this.meta = meta;
    this.search.meta = meta;
    this.render();
  }

  /** The population's age buckets give the decade presets their counts. */
  setPopulationAge(ageFacet) {
    if (!ageFacet || JSON.stringify(ageFacet) === JSON.stringify(this.ageFacet)) return;
    this.ageFacet = ageFacet;
    this.render();
  }

  render() {
    this.search.render();
    if (!this.meta) return;
    mount(this.root, this.meta.groups.map((group) => this.group(group)));
  }

  group(group) {
    const bases = [];
    for (const name of group.fields) {
      const f = this.meta.byName.get(name);
      const base = f?.base ?? name;
      if (f && !bases.includes(base)) bases.push(base);
    }
    const collapsed = this.collapsed.has(group.id);
    return h('section', { class: 'cat-group', 'data-testid': 'catalog-group', 'data-group': group.id },
      h('button', {
        type: 'button',
        class: 'cat-group-head',
        'aria-expanded': String(!collapsed),
        onclick: () => {
          if (collapsed) this.collapsed.delete(group.id);
          else this.collapsed.add(group.id);
          this.render();
        },
      }, h('span', { class: 'caret' }, collapsed ? '▸' : '▾'), label(group)),
      collapsed ? null : bases.map((base) => this.field(base)));
  }

  currentField(base) {
    const fields = this.meta.bases.get(base);
    const want = this.windows.get(base) ?? DEFAULT_WINDOW;
    return fields.find((f) => f.window === want) ?? fields.find((f) => f.window === DEFAULT_WINDOW) ?? fields[0];
  }

  field(base) {
    const fields = this.meta.bases.get(base);
    const field = this.currentField(base);
    const windowed = fields.some((f) => f.window);
    return h('div', { class: 'cat-field', 'data-testid': 'catalog-field', 'data-base': base, 'data-field': field.name },
      h('div', { class: 'cat-field-head' },
        h('span', { class: 'cat-field-name', 'data-testid': 'catalog-field-label' }, label(field)),
        windowed ? this.windowPicker(base, fields, field) : null),
      field.kind === 'number' ? this.numberBody(field) : this.valuesBody(base, field));
  }

  windowPicker(base, fields, current) {
    return h('span', { class: 'windows', role: 'group', 'aria-label': t('catalog.window') },
      fields.map((f) => h('button', {
        type: 'button',
        class: ['win', f.name === current.name && 'on'],
        'data-testid': 'catalog-window',
        'data-window': f.window,
        'aria-pressed': String(f.name === current.name),
        title: t('catalog.window_title', { n: f.window }),
        onclick: () => {
          this.windows.set(base, f.window);
          this.render();
        },
      }, t('catalog.window_short', { n: f.window }))));
  }

  numberBody(field) {
    const unit = field.unit;
    const q = field.quantiles;
    const facts = field.known
      ? t('catalog.number_facts', {
          min: unitValue(unit, field.min),
          max: unitValue(unit, field.max),
          median: q ? unitValue(unit, q[2]) : '?',
        })
      : t('catalog.no_values');
    return h('div', { class: 'cat-number' },
      h('div', { class: 'cat-facts' }, facts),
      h('div', { class: 'chips' },
        presets(field, this.meta.population, this.ageFacet).map((p) => h('button', {
          type: 'button',
          class: 'chip',
          'data-testid': 'catalog-preset',
          'data-field': field.name,
          'data-preset': p.id,
          title: p.op === 'exists' ? '' : describeRange(unit, p),
          onclick: () => this.onAdd({ field: field.name, op: p.op, value: p.value }),
        }, p.text, p.count !== undefined ? h('span', { class: 'count' }, fmt.people(p.count)) : null)),
        h('button', {
          type: 'button',
          class: 'chip custom',
          'data-testid': 'catalog-preset',
          'data-field': field.name,
          'data-preset': 'custom',
          onclick: () => this.onAdd(
            { field: field.name, op: 'between', value: q ? [q[1], q[3]] : [field.min ?? 0, field.max ?? 0] },
            { edit: true },
          ),
        }, t('preset.custom'))));
  }

  valuesBody(base, field) {
    const values = field.values ?? [];
    if (!values.length) return h('div', { class: 'cat-facts' }, t('catalog.no_values'));
    const expanded = this.expanded.has(base);
    const filter = (this.filters.get(base) ?? '').trim().toLowerCase();
    let shown = values;
    if (expanded && filter) {
      shown = values.filter((v) => {
        const product = this.meta.products.get(v.value);
        return [v.value, valueLabel(this.meta, field.name, v.value), product?.brand ?? '']
          .some((x) => String(x).toLowerCase().includes(filter));
      });
    }
    const limit = expanded ? MAX_VALUES : values.length <= FIRST_VALUES + 2 ? values.length : FIRST_VALUES;
    const more = values.length - limit;
    const filterBox = expanded && values.length > FIRST_VALUES + 2
      ? h('input', {
          type: 'search',
          class: 'cat-filter',
          'data-testid': 'catalog-filter',
          placeholder: t('catalog.filter'),
          value: this.filters.get(base) ?? '',
          oninput: debounce((e) => {
            this.filters.set(base, e.target.value);
            this.render();
            const again = this.root.querySelector(`[data-base="${base}"] .cat-filter`);
            again?.focus();
            again?.setSelectionRange(again.value.length, again.value.length);
          }, 150),
        })
      : null;
    return h('div', { class: 'cat-values' },
      filterBox,
      shown.slice(0, limit).map((v) => this.valueButton(field, v)),
      expanded && shown.length > limit ? h('div', { class: 'cat-facts' }, t('catalog.refine', { n: fmt.int(shown.length - limit) })) : null,
      expanded && !shown.length ? h('div', { class: 'cat-facts' }, t('catalog.no_match')) : null,
      more > 0 || expanded
        ? h('button', {
            type: 'button',
            class: 'link more',
            'data-testid': 'catalog-more',
            onclick: () => {
              if (expanded) this.expanded.delete(base);
              else this.expanded.add(base);
              this.render();
            },
          }, expanded ? t('catalog.less') : t('catalog.more', { n: fmt.int(values.length - limit) }))
        : null);
  }

  valueButton(field, v) {
    const product = this.meta.products.get(v.value);
    const isProduct = field.base === 'product' || field.base === 'last_product';
    const value = field.kind === 'bool' ? v.value === 'true' || v.value === true : v.value;
    const node = field.kind === 'bool'
      ? { field: field.name, op: 'eq', value }
      : { field: field.name, op: 'in', value: [v.value] };
    return h('button', {
      type: 'button',
      class: 'cat-value',
      'data-testid': 'catalog-value',
      'data-field': field.name,
      'data-value': String(v.value),
      'data-count': v.count,
      title: isProduct ? `${v.value}` : '',
      onclick: () => this.onAdd(node),
    },
    h('span', { class: 'v-label' }, valueLabel(this.meta, field.name, v.value),
      isProduct && product?.brand ? h('small', null, ` ${product.brand}`) : null),
    h('span', { class: 'count' }, fmt.people(v.count)));
  }
}

function describeRange(unit, p) {
  if (p.op === 'between') return t('op.between_text', { lo: unitValue(unit, p.value[0]), hi: unitValue(unit, p.value[1]) });
  return t(`op.${p.op}_text`, { v: unitValue(unit, p.value) });
}

/** The search box: conditions whose labels or values match, in Korean or English. */
class Search {
  constructor(root, { onAdd }) {
    this.root = root;
    this.onAdd = onAdd;
    this.meta = null;
    this.input = document.querySelector('[data-testid="search-input"]');
    this.state = { status: 'idle', q: '', results: [], error: null };
    this.controller = null;
    this.seq = 0;
    const run = debounce(() => this.run(), 200);
    this.input.addEventListener('input', () => {
      if (!this.input.value.trim()) {
        this.controller?.abort();
        this.state = { status: 'idle', q: '', results: [], error: null };
        this.render();
      } else {
        run();
      }
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.clear();
    });
  }

  clear() {
    this.input.value = '';
    this.controller?.abort();
    this.state = { status: 'idle', q: '', results: [], error: null };
    this.render();
  }

  async run() {
    const q = this.input.value.trim();
    if (!q) return;
    const seq = ++this.seq;
    this.controller?.abort();
    this.controller = new AbortController();
    this.state = { ...this.state, status: 'loading', q };
    this.render();
    try {
      const answer = await api.search(q, this.controller.signal);
      if (seq !== this.seq) return;
      this.state = { status: answer.results.length ? 'ready' : 'empty', q, results: answer.results, error: null };
    } catch (e) {
      if (e.name === 'AbortError' || seq !== this.seq) return;
      this.state = { status: 'error', q, results: [], error: e.message };
    }
    this.render();
  }

  render() {
    this.input.placeholder = t('search.placeholder');
    this.input.setAttribute('aria-label', t('search.placeholder'));
    const { status, results, error, q } = this.state;
    this.root.dataset.state = status;
    this.root.dataset.q = q;
    this.root.hidden = status === 'idle';
    const groupLabel = (id) => label(this.meta?.groups.find((g) => g.id === id)) || id;
    mount(this.root,
      status === 'loading' && !results.length ? h('div', { class: 'muted' }, t('state.loading')) : null,
      status === 'empty' ? h('div', { class: 'muted', 'data-testid': 'search-empty' }, t('search.empty', { q })) : null,
      status === 'error' ? h('div', { class: 'error' }, error) : null,
      results.map((r, i) => h('button', {
        type: 'button',
        class: 'search-result',
        'data-testid': 'search-result',
        'data-index': i,
        'data-group': r.group,
        'data-node': JSON.stringify(r.node),
        onclick: () => {
          this.onAdd(r.node);
          this.clear();
        },
      },
      h('span', { class: 'sr-group' }, groupLabel(r.group)),
      h('span', { class: 'sr-label' }, label(r)),
      r.count === null || r.count === undefined ? null : h('span', { class: 'count' }, fmt.int(r.count)))));
  }
}
