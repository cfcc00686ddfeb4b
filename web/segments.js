// Saved segments: save, rename, delete and load; versions and restore; the Venn comparison
// of two or three segments; and the CSV export with an API token.

import { h, mount } from './dom.js';
import { api, ApiError } from './api.js';
import { t, fmt } from './i18n.js';
import { openDialog, field } from './dialog.js';
import { itemsFromQuery } from './model.js';
import { describeItem, label } from './meta.js';
import { venn } from './charts.js';

const TOKEN_KEY = 'tamsa.token';
const OWNER_KEY = 'tamsa.owner';
const DEFAULT_COLUMNS = ['age', 'gender', 'region', 'tier'];

export class Segments {
  /**
   * `builder` is the Builder (its query and items), `toast(message)` reports what happened,
   * `onError(error)` places an API error about the saved query beside its condition.
   */
  constructor(root, { builder, toast, onError }) {
    this.root = root;
    this.builder = builder;
    this.toast = toast;
    this.onError = onError;
    this.meta = null;
    this.list = [];
    this.status = 'loading';
    this.error = null;
    this.current = null; // {id, name, version, query: JSON text of the saved query}
    this.compare = new Set();
    this.compareCurrent = false;
  }

  async refresh() {
    try {
      const answer = await api.segments();
      this.list = answer.segments;
      this.status = 'ready';
      this.error = null;
      for (const id of this.compare) if (!this.list.some((s) => s.id === id)) this.compare.delete(id);
    } catch (e) {
      this.status = 'error';
      this.error = e.message;
    }
    this.render();
  }

  render() {
    this.renderToolbar();
    this.renderList();
  }

  describeQuery(query) {
    const items = itemsFromQuery(query);
    if (!items.length) return t('segments.everyone');
    return items.map((item) => describeItem(this.meta, item)).join(` ${t('word.and')} `);
  }

  // The builder's toolbar: which segment is open, and the save buttons.
  renderToolbar() {
    const bar = this.builder.toolbar;
    const current = this.current;
    const dirty = current ? JSON.stringify(this.builder.query()) !== current.query : this.builder.items.length > 0;
    bar.dataset.dirty = String(dirty);
    mount(bar,
      h('div', { class: 'toolbar-name' },
        h('h2', { 'data-testid': 'toolbar-name', 'data-segment-id': current?.id ?? '' },
          current ? current.name : t('builder.title')),
        current ? h('span', { class: 'badge', 'data-testid': 'toolbar-version' }, `v${current.version}`) : null,
        current && dirty ? h('span', { class: 'badge warn' }, t('segments.modified')) : null),
      h('div', { class: 'toolbar-actions' },
        current
          ? h('button', { type: 'button', class: 'primary', 'data-testid': 'save', disabled: !dirty, onclick: () => this.saveChanges() }, t('segments.save_changes'))
          : h('button', { type: 'button', class: 'primary', 'data-testid': 'save', onclick: () => this.saveAs() }, t('segments.save')),
        current
          ? h('button', { type: 'button', 'data-testid': 'save-as', onclick: () => this.saveAs() }, t('segments.save_as'))
          : null,
        current
          ? h('button', {
              type: 'button',
              'data-testid': 'new-segment',
              onclick: () => {
                this.current = null;
                this.builder.setItems([]);
              },
            }, t('segments.new'))
          : null));
  }

  renderList() {
    if (!this.meta) return;
    const selected = this.compare.size + (this.compareCurrent ? 1 : 0);
    this.root.dataset.state = this.status;
    mount(this.root,
      h('div', { class: 'seg-head' },
        h('button', {
          type: 'button',
          class: 'primary small',
          'data-testid': 'compare',
          disabled: selected < 2 || selected > 3,
          title: t('compare.hint'),
          onclick: () => this.showCompare(),
        }, t('compare.button', { n: selected })),
        h('label', { class: 'small' },
          h('input', {
            type: 'checkbox',
            'data-testid': 'compare-current',
            checked: this.compareCurrent,
            onchange: (e) => {
              this.compareCurrent = e.target.checked;
              this.renderList();
            },
          }), ' ', t('compare.current'))),
      this.status === 'loading' ? h('div', { class: 'muted' }, t('state.loading')) : null,
      this.status === 'error' ? h('div', { class: 'error-box' }, this.error) : null,
      this.status === 'ready' && !this.list.length
        ? h('div', { class: 'empty', 'data-testid': 'segments-empty' }, h('strong', null, t('segments.empty_title')), h('p', null, t('segments.empty_hint')))
        : null,
      h('ul', { class: 'segment-list' }, this.list.map((seg) => this.row(seg))));
  }

  row(seg) {
    const open = this.current?.id === seg.id;
    const button = (testid, text, run, extra) => h('button', { type: 'button', class: ['small', extra], 'data-testid': testid, onclick: run }, text);
    return h('li', {
      class: ['segment', open && 'open'],
      'data-testid': 'segment',
      'data-id': seg.id,
      'data-name': seg.name,
      'data-version': seg.version,
      'data-count': seg.count ?? '',
    },
    h('div', { class: 'seg-main' },
      h('input', {
        type: 'checkbox',
        'data-testid': 'segment-compare',
        'aria-label': t('compare.select'),
        checked: this.compare.has(seg.id),
        onchange: (e) => {
          if (e.target.checked) this.compare.add(seg.id);
          else this.compare.delete(seg.id);
          this.renderList();
        },
      }),
      h('div', null,
        h('strong', { 'data-testid': 'segment-name' }, seg.name), ' ',
        h('span', { class: 'badge' }, `v${seg.version}`),
        h('div', { class: 'muted small', 'data-testid': 'segment-count' },
          [seg.count === null || seg.count === undefined ? null : fmt.people(seg.count), seg.owner, fmt.date(seg.updated_at)].filter(Boolean).join(' · ')),
        seg.description ? h('div', { class: 'small' }, seg.description) : null,
        h('div', { class: 'muted small clamp' }, this.describeQuery(seg.query)))),
    h('div', { class: 'seg-actions' },
      button('segment-load', t('segments.load'), () => this.load(seg.id), 'primary'),
      button('segment-rename', t('segments.rename'), () => this.rename(seg)),
      button('segment-history', t('segments.history'), () => this.history(seg)),
      button('segment-export', t('segments.export'), () => this.exportDialog(seg)),
      button('segment-delete', t('segments.delete'), () => this.remove(seg), 'danger')));
  }

  adopt(seg) {
    this.current = { id: seg.id, name: seg.name, version: seg.version, query: JSON.stringify(seg.query) };
  }

  async load(id) {
    try {
      const seg = await api.segment(id);
      this.adopt(seg);
      // Compare what the builder will send, so a freshly loaded segment is not "modified".
      this.builder.setItems(itemsFromQuery(seg.query));
      this.current.query = JSON.stringify(this.builder.query());
      this.toast(t('segments.loaded', { name: seg.name }));
      this.render();
    } catch (e) {
      this.toast(e.message, true);
    }
  }

  async saveChanges() {
    if (!this.current) return this.saveAs();
    try {
      const query = this.builder.query();
      const seg = await api.updateSegment(this.current.id, { query });
      this.adopt(seg);
      this.current.query = JSON.stringify(query);
      this.toast(t('segments.saved', { name: seg.name, version: seg.version }));
      await this.refresh();
    } catch (e) {
      this.placeError(e);
    }
  }

  placeError(e) {
    const placed = e instanceof ApiError && e.path && this.onError(e);
    this.toast(placed ? t('segments.query_error') : e.message, true);
  }

  saveAs() {
    const name = h('input', { type: 'text', 'data-testid': 'save-name', required: true, value: this.current ? `${this.current.name} (2)` : '' });
    const description = h('textarea', { 'data-testid': 'save-description', rows: 2 });
    const owner = h('input', { type: 'text', 'data-testid': 'save-owner', value: localStorage.getItem(OWNER_KEY) ?? '' });
    openDialog({
      title: t('segments.save_title'),
      testid: 'save-dialog',
      body: [field(t('segments.name'), name), field(t('segments.description'), description), field(t('segments.owner'), owner)],
      actions: [{
        label: t('segments.save'),
        testid: 'save-confirm',
        primary: true,
        run: async () => {
          if (!name.value.trim()) throw new Error(t('segments.name_required'));
          localStorage.setItem(OWNER_KEY, owner.value.trim());
          const query = this.builder.query();
          let seg;
          try {
            seg = await api.createSegment({ name: name.value.trim(), description: description.value.trim(), owner: owner.value.trim(), query });
          } catch (e) {
            if (e instanceof ApiError && e.path && this.onError(e)) throw new Error(t('segments.query_error'));
            throw e;
          }
          this.adopt(seg);
          this.current.query = JSON.stringify(query);
          this.toast(t('segments.saved', { name: seg.name, version: seg.version }));
          await this.refresh();
        },
      }],
    });
    name.focus();
  }

  rename(seg) {
    const name = h('input', { type: 'text', 'data-testid': 'rename-input', value: seg.name });
    openDialog({
      title: t('segments.rename_title'),
      testid: 'rename-dialog',
      body: field(t('segments.name'), name),
      actions: [{
        label: t('segments.rename'),
        testid: 'rename-confirm',
        primary: true,
        run: async () => {
          if (!name.value.trim()) throw new Error(t('segments.name_required'));
          const updated = await api.updateSegment(seg.id, { name: name.value.trim() });
          if (this.current?.id === seg.id) {
            this.current.name = updated.name;
            this.current.version = updated.version;
          }
          this.toast(t('segments.renamed', { name: updated.name }));
          await this.refresh();
        },
      }],
    });
    name.select();
  }

  remove(seg) {
    openDialog({
      title: t('segments.delete_title'),
      testid: 'delete-dialog',
      body: h('p', null, t('segments.delete_confirm', { name: seg.name })),
      actions: [{
        label: t('segments.delete'),
        testid: 'delete-confirm',
        danger: true,
        run: async () => {
          await api.deleteSegment(seg.id);
          if (this.current?.id === seg.id) this.current = null;
          this.compare.delete(seg.id);
          this.toast(t('segments.deleted', { name: seg.name }));
          await this.refresh();
        },
      }],
    });
  }

  async history(seg) {
    const dialog = openDialog({ title: t('history.title', { name: seg.name }), testid: 'history-dialog', body: h('div', { class: 'muted' }, t('state.loading')), wide: true });
    const draw = async () => {
      try {
        const full = await api.segment(seg.id);
        const versions = [...(full.versions ?? [])].sort((a, b) => b.version - a.version);
        dialog.setBody(h('ol', { class: 'versions', 'data-testid': 'versions' }, versions.map((v) => h('li', {
          'data-testid': 'version', 'data-version': v.version, class: v.version === full.version ? 'current' : null,
        },
        h('div', { class: 'v-head' },
          h('strong', null, `v${v.version}`), ' ', v.name, ' ',
          h('span', { class: 'muted small' }, [fmt.date(v.created_at), v.owner].filter(Boolean).join(' · '))),
        v.description ? h('div', { class: 'small' }, v.description) : null,
        h('div', { class: 'small q' }, this.describeQuery(v.query)),
        v.version === full.version
          ? h('span', { class: 'badge' }, t('history.current'))
          : h('button', {
              type: 'button',
              class: 'small',
              'data-testid': 'version-restore',
              onclick: async () => {
                try {
                  const restored = await api.updateSegment(seg.id, { restore_version: v.version });
                  this.toast(t('history.restored', { version: v.version, now: restored.version }));
                  if (this.current?.id === seg.id) await this.load(seg.id);
                  await this.refresh();
                  await draw();
                } catch (e) {
                  dialog.setError(e.message);
                }
              },
            }, t('history.restore'))))));
      } catch (e) {
        dialog.setError(e.message);
      }
    };
    await draw();
  }

  async showCompare() {
    const picks = this.list.filter((s) => this.compare.has(s.id)).map((s) => ({ id: s.id }));
    if (this.compareCurrent) picks.push({ query: this.builder.query() });
    const dialog = openDialog({ title: t('compare.title'), testid: 'compare-dialog', body: h('div', { class: 'muted' }, t('state.loading')), wide: true });
    try {
      const answer = await api.overlap(picks);
      const names = answer.sets.map((s, i) => (picks[i].query ? t('compare.current_label') : s.label));
      const shown = { ...answer, sets: answer.sets.map((s, i) => ({ ...s, label: names[i] })) };
      const regionName = (sets) => {
        const inside = sets.map((i) => names[i]).join(' ∩ ');
        const outside = names.filter((_, i) => !sets.includes(i));
        return outside.length ? t('compare.only', { inside, outside: outside.join(', ') }) : inside;
      };
      dialog.setBody(
        venn(shown),
        h('table', { class: 'regions', 'data-testid': 'venn-table' },
          h('tbody', null,
            answer.regions.map((r) => h('tr', { 'data-testid': 'venn-row', 'data-sets': [...r.sets].sort().join(','), 'data-count': r.count },
              h('td', null, regionName(r.sets)), h('td', { class: 'num' }, fmt.people(r.count)))),
            h('tr', { class: 'total', 'data-testid': 'venn-union', 'data-count': answer.union },
              h('td', null, t('compare.union')), h('td', { class: 'num' }, fmt.people(answer.union))))),
        h('p', { class: 'muted small' }, t('compare.note')));
    } catch (e) {
      dialog.setBody(null);
      dialog.setError(e.message);
    }
  }

  exportDialog(seg) {
    const exportable = this.meta.fields.filter((f) => f.kind !== 'set');
    const columns = h('div', { class: 'columns' }, exportable.map((f) => h('label', { class: 'option' },
      h('input', { type: 'checkbox', 'data-testid': 'export-column', 'data-field': f.name, value: f.name, checked: DEFAULT_COLUMNS.includes(f.name) }),
      ' ', label(f))));
    const consent = h('select', { 'data-testid': 'export-consent' },
      h('option', { value: '' }, t('export.consent_any')),
      h('option', { value: 'email' }, t('export.consent_email')),
      h('option', { value: 'sms' }, t('export.consent_sms')));
    const bom = h('input', { type: 'checkbox', 'data-testid': 'export-bom', checked: true });
    const tokenBox = h('div', { class: 'token' });
    const status = h('div', { class: 'muted small', 'data-testid': 'export-status', 'data-state': 'idle' });
    const drawToken = () => {
      const saved = sessionStorage.getItem(TOKEN_KEY);
      mount(tokenBox, saved
        ? [h('span', { 'data-testid': 'export-token-saved' }, t('export.token_saved')), ' ',
            h('button', { type: 'button', class: 'link', 'data-testid': 'export-token-change', onclick: () => { sessionStorage.removeItem(TOKEN_KEY); drawToken(); } }, t('export.token_change'))]
        : field(t('export.token'), h('input', { type: 'password', 'data-testid': 'export-token', autocomplete: 'off', placeholder: t('export.token_hint') })));
    };
    drawToken();
    openDialog({
      title: t('export.title', { name: seg.name }),
      testid: 'export-dialog',
      wide: true,
      body: [
        h('p', { class: 'muted small' }, t('export.about', { count: seg.count === null || seg.count === undefined ? '?' : fmt.people(seg.count) })),
        h('h3', null, t('export.columns')), columns,
        field(t('export.consent'), consent),
        h('label', { class: 'option' }, bom, ' ', t('export.bom')),
        tokenBox, status,
      ],
      actions: [{
        label: t('export.download'),
        testid: 'export-download',
        primary: true,
        run: async () => {
          const input = tokenBox.querySelector('[data-testid="export-token"]');
          if (input) {
            if (!input.value.trim()) throw new Error(t('export.token_required'));
            sessionStorage.setItem(TOKEN_KEY, input.value.trim());
          }
          const chosen = [...columns.querySelectorAll('input:checked')].map((c) => c.value);
          status.dataset.state = 'loading';
          status.textContent = t('export.running');
          let blob;
          try {
            blob = await api.exportSegment(seg.id, { columns: chosen, consent: consent.value, bom: bom.checked }, sessionStorage.getItem(TOKEN_KEY));
          } catch (e) {
            status.dataset.state = 'error';
            status.textContent = '';
            if (e.status === 401 || e.status === 403) {
              sessionStorage.removeItem(TOKEN_KEY);
              drawToken();
            }
            throw e;
          }
          download(blob, `${fileName(seg.name)}.csv`);
          status.dataset.state = 'done';
          status.dataset.bytes = blob.size;
          status.textContent = t('export.done', { size: fmt.bytes(blob.size) });
          this.toast(t('export.done', { size: fmt.bytes(blob.size) }));
          return false;
        },
      }],
    });
  }
}

function fileName(name) {
  const safe = name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').trim() || 'segment';
  return `${safe}-${new Date().toISOString().slice(0, 10)}`;
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
