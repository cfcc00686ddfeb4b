// The builder in the middle: the AND list of conditions and OR groups, each negatable,
// editable (window, range, values) and removable, with API errors shown beside the
// condition they name.

import { h, mount } from './dom.js';
import { t, fmt } from './i18n.js';
import { itemFromNode, toQuery, itemAtPath, locate, groupItems, ungroup } from './model.js';
import { valueLabel, unitValue, windowsOf, inWindow, describeItem, opsOf } from './meta.js';

/** Values listed in a value editor before the filter has to narrow them down. */
const EDIT_VALUES = 50;

export class Builder {
  constructor(root, { onChange }) {
    this.root = root;
    this.onChange = onChange;
    this.meta = null;
    this.items = [];
    this.selected = new Set();
    this.target = null; // the group receiving added conditions
    this.editing = new Set();
    this.errors = new Map(); // item id → message
    this.paths = new Map();
    this.toolbar = h('div', { class: 'builder-toolbar', 'data-testid': 'builder-toolbar' });
    this.list = h('ol', { class: 'items', 'data-testid': 'builder' });
    this.actions = h('div', { class: 'builder-actions' });
    mount(root, this.toolbar, this.actions, this.list);
  }

  /** The query of the current items, `{"all": [...]}`; remembers every item's path. */
  query() {
    const { node, paths } = toQuery(this.items);
    this.paths = paths;
    return node;
  }

  /** Adds a query node (from the catalog or search), into the target group if one is chosen. */
  add(node, { edit = false } = {}) {
    const item = itemFromNode(node);
    const group = this.target && locate(this.items, this.target)?.item;
    if (group && group.type === 'any') {
      const members = item.type === 'any' && !item.negated ? item.children : [item.type === 'any' ? itemFromNode(node, true) : item];
      group.children.push(...members);
    } else {
      this.items.push(item);
      if (this.items.length > 1 && !edit) {
        // Appending needs no rebuild of the list, which matters with hundreds of items.
        this.query();
        this.list.append(this.renderItem(item, null));
        this.list.dataset.count = this.items.length;
        this.renderActions();
        this.onChange();
        return;
      }
    }
    if (edit) this.editing.add(item.id);
    this.changed();
  }

  /** Replaces every item (a loaded segment or a restored version). */
  setItems(items) {
    this.items = items;
    this.selected.clear();
    this.editing.clear();
    this.errors.clear();
    this.target = null;
    this.changed();
  }

  /**
   * Shows an API error beside the item its path names; false when no item matches.
   * Works in place, so an editor being typed into keeps its focus.
   */
  setError(path, message) {
    this.query();
    const id = itemAtPath(this.paths, path);
    this.clearErrors();
    if (!id) return false;
    this.errors.set(id, message);
    const li = this.list.querySelector(`[data-id="${id}"]`);
    if (li) {
      li.classList.add('has-error');
      li.querySelector(':scope > .row').after(this.errorBox(message));
    }
    return true;
  }

  errorBox(message) {
    return h('div', { class: 'cond-error', 'data-testid': 'cond-error', role: 'alert' }, message);
  }

  clearErrors() {
    if (!this.errors.size) return;
    this.errors.clear();
    for (const el of this.list.querySelectorAll('[data-testid="cond-error"]')) el.remove();
    for (const el of this.list.querySelectorAll('.has-error')) el.classList.remove('has-error');
  }

  changed() {
    this.render();
    this.onChange();
  }

  /** A change inside an editor: refresh the item's summary without rebuilding the editor. */
  edited(item) {
    const row = this.list.querySelector(`[data-id="${item.id}"] > .row [data-testid="cond-summary"]`);
    if (row) row.textContent = describeItem(this.meta, { ...item, negated: false });
    const li = this.list.querySelector(`[data-id="${item.id}"]`);
    if (li) {
      li.dataset.field = item.field;
      li.querySelector(':scope > [data-testid="cond-error"]')?.remove();
      li.classList.remove('has-error');
    }
    this.errors.delete(item.id);
    this.onChange();
  }

  render() {
    if (!this.meta) return;
    this.query();
    this.renderActions();
    this.list.dataset.count = this.items.length;
    if (!this.items.length) {
      mount(this.list, h('li', { class: 'empty', 'data-testid': 'builder-empty' },
        h('strong', null, t('builder.empty_title')), h('p', null, t('builder.empty_hint'))));
      return;
    }
    mount(this.list, this.items.map((item) => this.renderItem(item, null)));
  }

  renderActions() {
    const group = this.target && locate(this.items, this.target)?.item;
    if (!group) this.target = null;
    mount(this.actions,
      h('button', {
        type: 'button',
        'data-testid': 'group-selected',
        disabled: this.selected.size < 2,
        title: t('builder.group_hint'),
        onclick: () => {
          const before = this.items.length;
          this.items = groupItems(this.items, this.selected);
          if (this.items.length !== before) this.selected.clear();
          this.changed();
        },
      }, t('builder.group_selected', { n: this.selected.size })),
      h('button', {
        type: 'button',
        'data-testid': 'clear-all',
        disabled: !this.items.length,
        onclick: () => this.setItems([]),
      }, t('builder.clear')),
      group
        ? h('div', { class: 'target-banner', 'data-testid': 'target-banner' },
            t('builder.target_on'),
            h('button', { type: 'button', class: 'link', 'data-testid': 'target-off', onclick: () => { this.target = null; this.render(); } }, t('builder.target_off')))
        : null);
  }

  renderItem(item, parent) {
    const path = this.paths.get(item.id);
    const error = this.errors.get(item.id);
    const common = {
      'data-id': item.id,
      'data-path': path,
      'data-negated': String(item.negated),
      'data-joiner': parent ? t('word.or') : t('word.and'),
      class: ['item', item.type, item.negated && 'negated', error && 'has-error', this.target === item.id && 'target'],
    };
    const errorBox = error ? this.errorBox(error) : null;
    if (item.type === 'any') {
      return h('li', { ...common, 'data-testid': 'group' },
        h('div', { class: 'row group-head' },
          this.selectBox(item, parent),
          this.negateButton(item),
          h('span', { class: 'group-title', 'data-testid': 'group-title' }, t('builder.group_title', { n: item.children.length })),
          h('span', { class: 'spacer' }),
          h('button', {
            type: 'button',
            class: ['small', this.target === item.id && 'on'],
            'data-testid': 'group-target',
            'aria-pressed': String(this.target === item.id),
            onclick: () => {
              this.target = this.target === item.id ? null : item.id;
              this.render();
            },
          }, t('builder.add_here')),
          h('button', {
            type: 'button',
            class: 'small',
            'data-testid': 'group-ungroup',
            onclick: () => {
              this.items = ungroup(this.items, item.id);
              this.changed();
            },
          }, t('builder.ungroup')),
          this.removeButton(item)),
        errorBox,
        h('ol', { class: 'members' },
          item.children.length
            ? item.children.map((child) => this.renderItem(child, item))
            : h('li', { class: 'empty small' }, t('builder.group_empty'))));
    }
    return h('li', { ...common, 'data-testid': 'cond', 'data-field': item.field ?? '' },
      h('div', { class: 'row' },
        this.selectBox(item, parent),
        this.negateButton(item),
        h('span', { class: 'summary', 'data-testid': 'cond-summary' }, describeItem(this.meta, { ...item, negated: false })),
        h('span', { class: 'spacer' }),
        item.type === 'cond'
          ? h('button', {
              type: 'button',
              class: ['small', this.editing.has(item.id) && 'on'],
              'data-testid': 'cond-edit',
              'aria-expanded': String(this.editing.has(item.id)),
              onclick: () => {
                if (this.editing.has(item.id)) this.editing.delete(item.id);
                else this.editing.add(item.id);
                this.render();
              },
            }, t('builder.edit'))
          : h('span', { class: 'muted small' }, t('builder.raw')),
        this.removeButton(item)),
      errorBox,
      item.type === 'cond' && this.editing.has(item.id) ? this.editor(item) : null);
  }

  selectBox(item, parent) {
    if (parent) return null;
    return h('input', {
      type: 'checkbox',
      'data-testid': 'cond-select',
      'aria-label': t('builder.select'),
      checked: this.selected.has(item.id),
      onchange: (e) => {
        if (e.target.checked) this.selected.add(item.id);
        else this.selected.delete(item.id);
        this.renderActions();
      },
    });
  }

  negateButton(item) {
    return h('button', {
      type: 'button',
      class: ['negate', item.negated && 'on'],
      'data-testid': 'cond-negate',
      'aria-pressed': String(item.negated),
      title: t('builder.negate_hint'),
      onclick: () => {
        item.negated = !item.negated;
        this.changed();
      },
    }, item.negated ? t('builder.negated') : t('builder.negate'));
  }

  removeButton(item) {
    return h('button', {
      type: 'button',
      class: 'small remove',
      'data-testid': 'cond-remove',
      'aria-label': t('builder.remove'),
      title: t('builder.remove'),
      onclick: () => {
        const found = locate(this.items, item.id);
        if (found) found.list.splice(found.index, 1);
        this.selected.delete(item.id);
        this.editing.delete(item.id);
        this.errors.delete(item.id);
        this.changed();
      },
    }, '×');
  }

  /** The editor of one condition; rebuilt in place when its shape changes. */
  editor(item) {
    const box = h('div', { class: 'editor', 'data-testid': 'editor' });
    const redraw = () => {
      mount(box, this.editorBody(item, redraw));
    };
    redraw();
    return box;
  }

  editorBody(item, redraw) {
    const field = this.meta.byName.get(item.field);
    if (!field) return h('div', { class: 'error' }, t('builder.unknown_field', { name: item.field }));
    const windows = windowsOf(this.meta, item.field).filter((f) => f.window);
    const windowRow = windows.length > 1
      ? h('div', { class: 'edit-row' },
          h('span', { class: 'edit-label' }, t('catalog.window')),
          h('span', { class: 'windows' }, windows.map((f) => h('button', {
            type: 'button',
            class: ['win', f.name === item.field && 'on'],
            'data-testid': 'edit-window',
            'data-window': f.window,
            'aria-pressed': String(f.name === item.field),
            onclick: () => {
              item.field = inWindow(this.meta, item.field, f.window);
              redraw();
              this.edited(item);
            },
          }, t('catalog.window_short', { n: f.window })))))
      : null;
    const body = field.kind === 'number' ? this.numberEditor(item, field, redraw) : this.valueEditor(item, field, redraw);
    return [
      windowRow,
      body,
      h('div', { class: 'edit-row end' },
        h('button', {
          type: 'button',
          class: 'primary small',
          'data-testid': 'edit-done',
          onclick: () => {
            this.editing.delete(item.id);
            this.render();
          },
        }, t('builder.done'))),
    ];
  }

  numberEditor(item, field, redraw) {
    const unit = field.unit;
    const parse = (text) => (text.trim() === '' ? null : Number(text));
    const input = (testid, value, set) => h('input', {
      type: 'number',
      class: 'num-input',
      'data-testid': testid,
      value: value ?? '',
      step: 1,
      oninput: (e) => {
        set(parse(e.target.value));
        this.edited(item);
      },
    });
    const opSelect = h('select', {
      'data-testid': 'edit-op',
      onchange: (e) => {
        const op = e.target.value;
        const q = field.quantiles ?? [field.min ?? 0, field.min ?? 0, 0, field.max ?? 0, field.max ?? 0];
        const single = Array.isArray(item.value) ? item.value[0] : item.value;
        if (op === 'between') item.value = [typeof single === 'number' ? single : q[1], q[3]];
        else if (op === 'exists') item.value = true;
        else item.value = typeof single === 'number' ? single : q[2];
        item.op = op;
        redraw();
        this.edited(item);
      },
    }, opsOf(field).map((op) => h('option', { value: op, selected: op === item.op }, t(`op.${op}`))));
    let inputs;
    if (item.op === 'between') {
      const pair = Array.isArray(item.value) ? item.value : [item.value, item.value];
      item.value = pair;
      inputs = [
        input('edit-lo', pair[0], (v) => { item.value[0] = v; }),
        h('span', { class: 'muted' }, '–'),
        input('edit-hi', pair[1], (v) => { item.value[1] = v; }),
      ];
    } else if (item.op === 'exists') {
      inputs = h('select', {
        'data-testid': 'edit-exists',
        onchange: (e) => {
          item.value = e.target.value === 'true';
          this.edited(item);
        },
      },
      h('option', { value: 'true', selected: item.value === true }, t('op.exists_true')),
      h('option', { value: 'false', selected: item.value === false }, t('op.exists_false')));
    } else {
      inputs = input('edit-value', Array.isArray(item.value) ? item.value[0] : item.value, (v) => { item.value = v; });
    }
    const q = field.quantiles;
    const presetButton = (id, op, value) => h('button', {
      type: 'button',
      class: 'chip',
      'data-testid': 'edit-preset',
      'data-preset': id,
      onclick: () => {
        item.op = op;
        item.value = structuredClone(value);
        redraw();
        this.edited(item);
      },
    }, t(`preset.${id}`));
    return [
      h('div', { class: 'edit-row' }, opSelect, inputs, unit ? h('span', { class: 'muted' }, t(`unit_name.${unit}`)) : null),
      h('div', { class: 'edit-row muted small' },
        field.known
          ? t('catalog.number_facts', { min: unitValue(unit, field.min), max: unitValue(unit, field.max), median: q ? unitValue(unit, q[2]) : '?' })
          : t('catalog.no_values')),
      q && q.length === 5
        ? h('div', { class: 'edit-row chips' },
            presetButton('bottom10', 'lte', q[0]),
            presetButton('bottom25', 'lte', q[1]),
            presetButton('middle50', 'between', [q[1], q[3]]),
            presetButton('top25', 'gte', q[3]),
            presetButton('top10', 'gte', q[4]))
        : null,
    ];
  }

  valueEditor(item, field, redraw) {
    if (field.kind === 'bool') {
      const choice = (value) => h('label', { class: 'radio' },
        h('input', {
          type: 'radio',
          name: `bool-${item.id}`,
          'data-testid': 'edit-bool',
          'data-value': String(value),
          checked: item.value === value || (Array.isArray(item.value) && item.value.includes(value)),
          onchange: () => {
            item.op = 'eq';
            item.value = value;
            this.edited(item);
          },
        }),
        valueLabel(this.meta, item.field, String(value)));
      return h('div', { class: 'edit-row' }, choice(true), choice(false));
    }
    // Editing works on a list: `eq` becomes `in` with one value, which means the same.
    if (item.op !== 'in') {
      item.op = 'in';
      item.value = item.value === undefined || item.value === null ? [] : [item.value].flat();
    }
    const listBox = h('div', { class: 'value-list', 'data-testid': 'edit-values' });
    let filter = '';
    const known = field.values ?? [];
    const drawList = () => {
      const needle = filter.trim().toLowerCase();
      const chosen = new Set(item.value.map(String));
      const matches = (v) => !needle || [v.value, valueLabel(this.meta, field.name, v.value), this.meta.products.get(v.value)?.brand ?? '']
        .some((x) => String(x).toLowerCase().includes(needle));
      const unknownChosen = item.value.filter((v) => !known.some((k) => String(k.value) === String(v))).map((v) => ({ value: v, count: null }));
      const rows = [
        ...unknownChosen,
        ...known.filter((v) => chosen.has(String(v.value))),
        ...known.filter((v) => !chosen.has(String(v.value)) && matches(v)).slice(0, EDIT_VALUES),
      ];
      mount(listBox, rows.map((v) => h('label', { class: 'option' },
        h('input', {
          type: 'checkbox',
          'data-testid': 'edit-value-option',
          'data-value': String(v.value),
          checked: chosen.has(String(v.value)),
          onchange: (e) => {
            if (e.target.checked) item.value = [...item.value, v.value];
            else item.value = item.value.filter((x) => String(x) !== String(v.value));
            drawList();
            this.edited(item);
          },
        }),
        h('span', { class: 'v-label' }, valueLabel(this.meta, field.name, v.value)),
        h('span', { class: 'count' }, v.count === null ? '?' : fmt.people(v.count)))));
    };
    drawList();
    const addInput = h('input', {
      type: 'text',
      'data-testid': 'edit-add-input',
      placeholder: t('builder.add_value_hint'),
      onkeydown: (e) => {
        if (e.key === 'Enter') addValue();
      },
    });
    const addValue = () => {
      const value = addInput.value.trim();
      if (!value || item.value.map(String).includes(value)) return;
      item.value = [...item.value, value];
      addInput.value = '';
      drawList();
      this.edited(item);
    };
    return [
      known.length > 8
        ? h('div', { class: 'edit-row' }, h('input', {
            type: 'search',
            'data-testid': 'edit-filter',
            placeholder: t('catalog.filter'),
            oninput: (e) => {
              filter = e.target.value;
              drawList();
            },
          }))
        : null,
      listBox,
      h('div', { class: 'edit-row' }, addInput,
        h('button', { type: 'button', class: 'small', 'data-testid': 'edit-add', onclick: addValue }, t('builder.add_value'))),
    ];
  }
}

