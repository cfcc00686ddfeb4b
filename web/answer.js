// The answer on the right: the count and its share of the population, the count after
// each condition, and charts of the segment beside the population.

import { h, mount } from './dom.js';
import { t, fmt } from './i18n.js';
import { valueLabel } from './meta.js';
import { compareRows, barChart, histogram, stackedShares } from './charts.js';

const AGE_ORDER = ['<20', '20-29', '30-39', '40-49', '50-59', '60+', 'unknown'];
const TOP_REGIONS = 10;

export class Answer {
  constructor(root) {
    this.root = root;
    this.meta = null;
    this.state = { status: 'loading', data: null, error: null };
  }

  /**
   * Shows a state: `loading` (the last answer stays, dimmed), `ready` with data, or `error`
   * with an ApiError (`placed` when the builder shows it beside a condition).
   */
  show(state, describePath = () => '') {
    this.state = { ...this.state, ...state };
    this.describePath = describePath;
    this.render();
  }

  /** Marks the shown answer as out of date while a newer one is on its way. */
  markLoading() {
    if (this.state.status === 'loading') return;
    this.state.status = 'loading';
    this.root.dataset.state = 'loading';
    this.root.setAttribute('aria-busy', 'true');
    this.root.querySelector('.answer-body')?.classList.add('stale');
    const status = this.root.querySelector('[data-testid="answer-status"]');
    if (status) mount(status, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('state.loading'));
  }

  render() {
    const { status, data, error, placed } = this.state;
    const root = this.root;
    root.dataset.state = status;
    // The query this state answers (or failed on), for tests and for people debugging.
    if (this.state.query !== undefined) root.dataset.query = JSON.stringify(this.state.query);
    if (data) root.dataset.count = data.count;
    root.setAttribute('aria-busy', String(status === 'loading'));
    mount(root,
      h('div', { class: 'answer-status', 'data-testid': 'answer-status' },
        status === 'loading' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
        status === 'loading' ? t('state.loading') : null),
      error && status === 'error'
        ? h('div', { class: 'error-box', 'data-testid': 'answer-error', role: 'alert' },
            h('strong', null, placed ? t('answer.error_placed') : t('answer.error')),
            h('div', null, error.message))
        : null,
      data ? this.body(data, status !== 'ready') : status === 'loading' ? this.skeleton() : null);
  }

  skeleton() {
    return h('div', { class: 'answer-head' }, h('div', { class: 'count placeholder' }, '…'));
  }

  body(data, stale) {
    const meta = this.meta;
    const share = data.population ? data.count / data.population : 0;
    const pop = data.population_facets;
    const head = h('div', { class: 'answer-head' },
      h('div', { class: 'count', 'data-testid': 'count', 'data-count': data.count }, fmt.people(data.count)),
      h('div', { class: 'share', 'data-testid': 'share', 'data-share': share.toFixed(6) },
        t('answer.share', { population: fmt.people(data.population), share: fmt.pct(share) })),
      h('div', { class: 'muted small', 'data-testid': 'answer-meta' },
        t('answer.meta', { ms: fmt.decimal(data.took_ms ?? 0), as_of: data.index?.as_of ?? '?', generation: data.index?.generation ?? '?' })));
    const parts = [head, this.steps(data)];
    if (data.count === 0) {
      parts.push(h('div', { class: 'empty', 'data-testid': 'answer-empty' }, t('answer.none')));
    } else if (data.facets && pop) {
      parts.push(h('div', { class: 'charts' },
        this.card('age', t('chart.age'), histogram('chart-age', compareRows(
          AGE_ORDER.filter((k) => k in data.facets.age).map((k) => [k, data.facets.age[k], k === 'unknown' ? t('value.unknown') : t(`age.${k}`, null, k)]),
          data.count, Object.entries(pop.age), data.population))),
        this.card('gender', t('chart.gender'), stackedShares('chart-gender', compareRows(
          Object.entries(data.facets.gender).map(([k, n]) => [k, n, valueLabel(meta, 'gender', k)]),
          data.count, Object.entries(pop.gender), data.population))),
        this.card('channel', t('chart.channel'), stackedShares('chart-channel', compareRows(
          Object.entries(data.facets.channel_365d).map(([k, n]) => [k, n, valueLabel(meta, 'channel_365d', k)]),
          data.count, Object.entries(pop.channel_365d), data.population))),
        this.card('region', t('chart.region'), barChart('chart-region', compareRows(
          Object.entries(data.facets.region).sort((a, b) => b[1] - a[1]).slice(0, TOP_REGIONS)
            .map(([k, n]) => [k, n, valueLabel(meta, 'region', k)]),
          data.count, Object.entries(pop.region), data.population))),
        this.card('tier', t('chart.tier'), barChart('chart-tier', compareRows(
          Object.entries(data.facets.tier).map(([k, n]) => [k, n, valueLabel(meta, 'tier', k)]),
          data.count, Object.entries(pop.tier), data.population))),
        this.card('spend', t('chart.spend'), this.spend(data)),
        this.card('products', t('chart.products'), this.products(data), 'wide')));
    }
    return h('div', { class: ['answer-body', stale && 'stale'] }, parts);
  }

  card(id, title, content, extra) {
    return h('section', { class: ['card', extra], 'data-testid': `card-${id}` }, h('h3', null, title), content);
  }

  steps(data) {
    const steps = data.steps ?? [];
    if (steps.length < 2) return null;
    const population = data.population || 1;
    let previous = population;
    return h('section', { class: 'steps', 'data-testid': 'steps' },
      h('h3', null, t('answer.steps')),
      h('ol', null, steps.map((step, i) => {
        const drop = previous ? 1 - step.count / previous : 0;
        previous = step.count;
        return h('li', { 'data-testid': 'step', 'data-path': step.path, 'data-count': step.count },
          h('div', { class: 'step-label' },
            h('span', { class: 'step-no' }, `${i + 1}`),
            h('span', { class: 'step-text' }, this.describePath(step.path) || step.path)),
          h('div', { class: 'step-bar' }, h('div', { style: `width:${(100 * step.count) / population}%` })),
          h('div', { class: 'step-num' },
            h('strong', null, fmt.people(step.count)),
            i > 0 && drop > 0 ? h('span', { class: 'muted small' }, ` −${fmt.pct(drop)}`) : null));
      })));
  }

  spend(data) {
    const sum = data.facets.spend_365d_sum ?? 0;
    const popSum = data.population_facets.spend_365d_sum ?? 0;
    const avg = data.count ? sum / data.count : 0;
    const popAvg = data.population ? popSum / data.population : 0;
    const index = popAvg ? avg / popAvg : null;
    return h('div', {
      class: 'spend', 'data-testid': 'chart-spend',
      'data-sum': sum, 'data-avg': avg.toFixed(2), 'data-pop-sum': popSum, 'data-pop-avg': popAvg.toFixed(2),
      'data-index': index === null ? '' : index.toFixed(4),
    },
    h('div', { class: 'big' }, fmt.money(avg)),
    h('div', { class: 'muted small' }, t('spend.per_customer')),
    h('div', null, t('spend.vs', { pop: fmt.money(popAvg) }), ' ',
      h('span', { class: index !== null && index >= 1.2 ? 'idx hi' : index !== null && index <= 0.8 ? 'idx lo' : 'idx' },
        index === null ? '—' : fmt.timesLong(index))),
    h('div', { class: 'muted small' }, t('spend.total', { sum: fmt.money(sum) })));
  }

  products(data) {
    const list = data.facets.last_product ?? [];
    if (!list.length) return h('div', { class: 'muted' }, t('answer.no_products'));
    const popCounts = new Map((this.meta.byName.get('last_product')?.values ?? []).map((v) => [v.value, v.count]));
    const max = Math.max(...list.map((p) => p.count));
    return h('ol', { class: 'products', 'data-testid': 'chart-products' }, list.map((p) => {
      const share = data.count ? p.count / data.count : 0;
      const popCount = popCounts.get(p.product_id);
      const popShare = popCount !== undefined && data.population ? popCount / data.population : null;
      const index = popShare ? share / popShare : null;
      return h('li', {
        'data-testid': 'chart-row', 'data-key': p.product_id, 'data-count': p.count,
        'data-share': share.toFixed(6), 'data-pop-count': popCount ?? '', 'data-index': index === null ? '' : index.toFixed(4),
      },
      h('div', { class: 'p-name' }, p.name, h('small', { class: 'muted' }, ` ${p.brand}`)),
      h('div', { class: 'p-bar' }, h('div', { style: `width:${(100 * p.count) / max}%` })),
      h('div', { class: 'p-num' }, fmt.people(p.count), ' ',
        h('span', { class: 'muted small' }, fmt.pct(share)), ' ',
        h('span', { class: index !== null && index >= 1.2 ? 'idx hi' : 'idx', title: index === null ? '' : fmt.timesLong(index) },
          index === null ? '' : fmt.times(index))));
    }));
  }
}
