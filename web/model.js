// The builder's model: a list of items AND-ed together, each a condition, an OR group of
// conditions, or a node the builder cannot edit (kept as it is), any of them negated.
// Converts between items and query nodes and maps API error paths back to items.

let lastId = 0;
const nextId = () => `n${++lastId}`;

const isObject = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const isCondition = (x) => isObject(x) && typeof x.field === 'string';

/** A new condition item. */
export function condition(field, op, value, negated = false) {
  return { id: nextId(), type: 'cond', field, op, value, negated };
}

/** An item for one query node; inside a group, nested groups stay as raw nodes. */
export function itemFromNode(node, inGroup = false) {
  let negated = false;
  let inner = node;
  if (isObject(inner) && 'not' in inner && Object.keys(inner).length === 1 && isObject(inner.not)) {
    negated = true;
    inner = inner.not;
  }
  if (isCondition(inner)) {
    return condition(inner.field, inner.op, structuredClone(inner.value), negated);
  }
  if (!inGroup && isObject(inner) && Array.isArray(inner.any) && Object.keys(inner).length === 1) {
    return {
      id: nextId(),
      type: 'any',
      negated,
      children: inner.any.map((child) => itemFromNode(child, true)),
    };
  }
  return { id: nextId(), type: 'raw', negated, node: structuredClone(inner) };
}

/** The items of a whole query: the children of a top-level `all`, else the node itself. */
export function itemsFromQuery(node) {
  if (isObject(node) && Array.isArray(node.all) && Object.keys(node).length === 1) {
    return node.all.map((child) => itemFromNode(child));
  }
  return node === undefined || node === null ? [] : [itemFromNode(node)];
}

function encode(item, path, paths) {
  paths.set(item.id, path);
  const inner = item.negated ? `${path}.not` : path;
  let node;
  if (item.type === 'cond') {
    node = { field: item.field, op: item.op, value: item.value };
  } else if (item.type === 'any') {
    node = { any: item.children.map((child, j) => encode(child, `${inner}.any[${j}]`, paths)) };
  } else {
    node = item.node;
  }
  return item.negated ? { not: node } : node;
}

/**
 * The query of a list of items, `{"all": [...]}`, and the JSON path of every item
 * (`$.all[2]`, `$.all[2].any[0]`), as the API names nodes in its errors and steps.
 */
export function toQuery(items) {
  const paths = new Map();
  const all = items.map((item, i) => encode(item, `$.all[${i}]`, paths));
  return { node: { all }, paths };
}

/** The id of the innermost item whose path is the error's path or a prefix of it. */
export function itemAtPath(paths, errorPath) {
  if (!errorPath) return null;
  // Errors about a saved segment name the query inside the request body.
  const path = errorPath.replace(/^\$\.query(?=[.[]|$)/, '$');
  let best = null;
  let bestLength = -1;
  for (const [id, p] of paths) {
    const rest = path.slice(p.length);
    if (path.startsWith(p) && (rest === '' || rest[0] === '.' || rest[0] === '[') && p.length > bestLength) {
      best = id;
      bestLength = p.length;
    }
  }
  return best;
}

/** Finds an item (top level or in a group) and the list that holds it. */
export function locate(items, id) {
  for (const [i, item] of items.entries()) {
    if (item.id === id) return { item, list: items, index: i, parent: null };
    if (item.type === 'any') {
      const j = item.children.findIndex((child) => child.id === id);
      if (j >= 0) return { item: item.children[j], list: item.children, index: j, parent: item };
    }
  }
  return null;
}

/**
 * Puts the chosen top-level items into one OR group at the place of the first:
 * conditions and raw nodes become members, members of plain groups are taken over,
 * and a negated group stays one (raw) member.
 */
export function groupItems(items, ids) {
  const chosen = items.filter((item) => ids.has(item.id));
  if (chosen.length < 2) return items;
  const children = [];
  for (const item of chosen) {
    if (item.type === 'any' && !item.negated) {
      children.push(...item.children);
    } else if (item.type === 'any') {
      children.push({ id: nextId(), type: 'raw', negated: false, node: encode(item, '$', new Map()) });
    } else {
      children.push(item);
    }
  }
  const group = { id: nextId(), type: 'any', negated: false, children };
  const at = items.indexOf(chosen[0]);
  const rest = items.filter((item) => !ids.has(item.id));
  rest.splice(items.slice(0, at).filter((item) => !ids.has(item.id)).length, 0, group);
  return rest;
}

/** Dissolves a group: its members return to the top level in its place. */
export function ungroup(items, id) {
  const i = items.findIndex((item) => item.id === id);
  if (i < 0 || items[i].type !== 'any') return items;
  const group = items[i];
  const members = group.negated
    ? [{ id: nextId(), type: 'raw', negated: true, node: { any: group.children.map((c) => encode(c, '$', new Map())) } }]
    : group.children;
  return [...items.slice(0, i), ...members, ...items.slice(i + 1)];
}
