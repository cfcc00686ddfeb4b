// Tamsa's page: wires the catalog, the builder, the answer and the saved segments, and
// keeps the answer in step with the builder (debounced; a newer query wins).
//
// Modules: api.js (HTTP), i18n.js (every UI string, number formats), meta.js (the field
// catalog and labels), model.js (builder items <-> query nodes, error paths), catalog.js,
// builder.js, answer.js, charts.js (SVG), segments.js (save, history, compare, export),
// dialog.js, dom.js. Plain ES modules: no build step, no third-party code.

import { h, mount, debounce } from './dom.js';
import { api, ApiError } from './api.js';
import { t, fmt, lang, setLang } from './i18n.js';
import { prepareMeta, describeItem } from './meta.js';
import { Catalog } from './catalog.js';
import { Builder } from './builder.js';
import { Answer } from './answer.js';
import { Segments } from './segments.js';

/** How long the builder must stay still before its query is sent. */
const DEBOUNCE_MS = 120;

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

const app = $('app');
const answer = new Answer($('answer'));
const builder = new Builder($('builder-panel'), { onChange: changed });
const catalog = new Catalog($('catalog'), $('search-results'), { onAdd: (node, options) => builder.add(node, options) });
const segments = new Segments($('segments'), { builder, toast, onError: placeError });

let meta = null;
let seq = 0; // bumped by every change: an answer to an older query is dropped
let controller = null;
const runSoon = debounce(runQuery, DEBOUNCE_MS);

function changed() {
  segments.renderToolbar();
  seq += 1;
  controller?.abort();
  answer.markLoading();
  runSoon();
}

/** The words of the builder item at a step's path (`$.all[2]`). */
function describePath(path) {
  for (const [id, p] of builder.paths) {
    if (p === path) {
      const item = builder.items.find((i) => i.id === id);
      if (item) return describeItem(meta, item);
    }
  }
  return '';
}

async function runQuery() {
  const mine = seq;
  controller = new AbortController();
  const node = builder.query();
  try {
    const data = await api.query(node, controller.signal);
    if (mine !== seq) return;
    builder.clearErrors();
    if (data.index && meta.index && data.index.generation !== meta.index.generation) refreshMeta();
    catalog.setPopulationAge(data.population_facets?.age);
    answer.show({ status: 'ready', data, error: null, placed: false, query: node }, describePath);
  } catch (e) {
    if (e.name === 'AbortError' || mine !== seq) return;
    const placed = placeError(e);
    answer.show({ status: 'error', error: e, placed, query: node }, describePath);
  }
}

/** Reloads the catalog after the server moved to a new index generation. */
let refreshing = false;
async function refreshMeta() {
  if (refreshing) return;
  refreshing = true;
  try {
    meta = prepareMeta(await api.fields());
    for (const part of [catalog, builder, answer, segments]) part.meta = meta;
    catalog.setMeta(meta);
    renderChrome();
    toast(t('index.updated', { as_of: meta.index?.as_of ?? '?' }));
  } catch {
    // Keep the catalog shown; the next answer tries again.
  } finally {
    refreshing = false;
  }
}

/** Shows an API error beside the builder item its path names; true if one was found. */
function placeError(e) {
  return e instanceof ApiError && Boolean(e.path) && builder.setError(e.path, e.message);
}

let toastTimer = null;
function toast(message, isError = false) {
  const el = $('toast');
  el.textContent = message;
  el.dataset.kind = isError ? 'error' : 'info';
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), isError ? 6000 : 3000);
}

function renderChrome() {
  document.documentElement.lang = lang();
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('lang-toggle').textContent = t('lang.switch');
  $('lang-toggle').dataset.lang = lang();
  if (meta) {
    $('index-info').textContent = t('index.info', {
      as_of: meta.index?.as_of ?? '?',
      generation: meta.index?.generation ?? '?',
      population: fmt.people(meta.population),
    });
  }
}

function renderAll() {
  renderChrome();
  catalog.render();
  builder.render();
  answer.render();
  segments.render();
}

function showTab(name) {
  for (const tab of document.querySelectorAll('[data-tab]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.tab === name));
  }
  for (const panel of document.querySelectorAll('[data-panel]')) panel.hidden = panel.dataset.panel !== name;
  if (name === 'segments') segments.refresh();
}

$('lang-toggle').addEventListener('click', () => {
  setLang(lang() === 'ko' ? 'en' : 'ko');
  renderAll();
});
for (const tab of document.querySelectorAll('[data-tab]')) tab.addEventListener('click', () => showTab(tab.dataset.tab));

async function start() {
  renderChrome();
  showTab('catalog');
  try {
    meta = prepareMeta(await api.fields());
  } catch (e) {
    app.dataset.state = 'error';
    mount($('builder-panel'), h('div', { class: 'error-box', 'data-testid': 'app-error', role: 'alert' },
      h('strong', null, t('app.load_error')), h('div', null, e.message)));
    answer.show({ status: 'error', error: e });
    return;
  }
  for (const part of [catalog, builder, answer, segments]) part.meta = meta;
  catalog.setMeta(meta);
  renderChrome();
  builder.render();
  segments.render();
  app.dataset.state = 'ready';
  segments.refresh();
  changed();
}

start();
