// The field catalog as the API describes it (`GET /api/fields`), with lookups and the
// labels of fields and values in the current language.

import { t, lang, fmt } from './i18n.js';

/** Indexes the answer of `GET /api/fields` by field name and by base (windowed fields). */
export function prepareMeta(raw) {
  const byName = new Map(raw.fields.map((f) => [f.name, f]));
  const bases = new Map();
  for (const f of raw.fields) {
    const base = f.base ?? f.name;
    if (!bases.has(base)) bases.set(base, []);
    bases.get(base).push(f);
  }
  for (const list of bases.values()) list.sort((a, b) => (a.window ?? 0) - (b.window ?? 0));
  // Product ids carry a name and a brand in the values of product fields.
  const products = new Map();
  for (const f of raw.fields) {
    for (const v of f.values ?? []) {
      if (v.label && !products.has(v.value)) products.set(v.value, { name: v.label, brand: v.brand });
    }
  }
  return { ...raw, byName, bases, products };
}

export const baseOf = (meta, name) => meta.byName.get(name)?.base ?? name;

/** The fields sharing a field's base, one per window (just the field when not windowed). */
export const windowsOf = (meta, name) => meta.bases.get(baseOf(meta, name)) ?? [];

/** The field of the same base in another window. */
export function inWindow(meta, name, window) {
  return windowsOf(meta, name).find((f) => f.window === window)?.name ?? name;
}

/** A label in the current language of anything carrying label_ko and label_en. */
export const label = (x) => (x ? x[`label_${lang()}`] ?? x.label_en ?? x.name ?? '' : '');

export const fieldLabel = (meta, name) => label(meta.byName.get(name)) || name;

/** The label of a field's value: 여성 for gender F, a product's name for its id, … */
export function valueLabel(meta, field, value) {
  const f = meta.byName.get(field);
  const base = f?.base ?? field;
  const text = String(value);
  if (f?.kind === 'bool') return t(text === 'true' ? 'value.true' : 'value.false');
  if (base === 'gender') return t(`gender.${text.toUpperCase()}`, null, text);
  if (base === 'channel') return t(`channel.${text.toLowerCase()}`, null, text);
  if (base === 'product' || base === 'last_product') return meta.products.get(text)?.name ?? text;
  if (text === 'unknown') return t('value.unknown');
  return text;
}

/** A number in a field's unit: 35세, 120일, 3건, ₩12,000. */
export function unitValue(unit, n) {
  if (n === null || n === undefined || n === '' || Number.isNaN(Number(n))) return '?';
  if (unit === 'money') return fmt.money(n);
  return t(`unit.${unit ?? 'none'}`, { n: fmt.int(n) }, fmt.int(n));
}

/** The ops a condition on a field may use, in the order editors offer them. */
export function opsOf(field) {
  return field?.kind === 'number'
    ? ['between', 'gte', 'gt', 'lte', 'lt', 'eq', 'exists']
    : ['in', 'eq'];
}

function describePredicate(meta, c) {
  const unit = meta.byName.get(c.field)?.unit;
  const v = c.value;
  const num = (x) => unitValue(unit, x);
  switch (c.op) {
    case 'in':
      if (!Array.isArray(v)) return String(v);
      return v.length ? v.map((x) => valueLabel(meta, c.field, x)).join(t('word.list_sep')) : t('cond.no_values');
    case 'eq':
      return unit ? t('op.eq_text', { v: num(v) }) : valueLabel(meta, c.field, v);
    case 'between':
      return Array.isArray(v) ? t('op.between_text', { lo: num(v[0]), hi: num(v[1]) }) : String(v);
    case 'gte':
    case 'gt':
    case 'lte':
    case 'lt':
      return t(`op.${c.op}_text`, { v: num(v) });
    case 'exists':
      return t(v ? 'op.exists_true' : 'op.exists_false');
    default:
      return `${c.op} ${JSON.stringify(v)}`;
  }
}

/** A condition in words: "최근 90일 구매 브랜드: 설화담, 라온빛". */
export function describeCondition(meta, c) {
  return `${fieldLabel(meta, c.field)}: ${describePredicate(meta, c)}`;
}

/** An item of the builder in words, negation and groups included. */
export function describeItem(meta, item) {
  let text;
  if (item.type === 'cond') text = describeCondition(meta, item);
  else if (item.type === 'any') text = `(${item.children.map((c) => describeItem(meta, c)).join(` ${t('word.or')} `)})`;
  else text = JSON.stringify(item.node);
  return item.negated ? t('word.not_prefix', { text }) : text;
}
