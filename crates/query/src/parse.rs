//! Turns a JSON query into a validated [`Node`] tree, or an error naming the bad node.
//!
//! The language: `{"all": [..]}`, `{"any": [..]}`, `{"not": node}`, or a condition
//! `{"field": F, "op": OP, "value": V}`; see the README for the operators of each kind.

use serde_json::{Map, Value};
use tamsa_model::{Dimension, FieldDef, Kind};

use crate::ast::{Cond, Node, Pred};
use crate::schema::{closest, Schema};

/// What is wrong with a query, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}{hint}", hint = hint(suggestions))]
pub struct QueryError {
    /// The path to the bad node, such as `$.all[2].any[0].value`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// The closest known names, best first, when a name was not found.
    pub suggestions: Vec<String>,
}

fn hint(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        names => {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!(" (did you mean {}?)", quoted.join(", "))
        }
    }
}

fn error(path: Path<'_>, message: impl Into<String>) -> QueryError {
    QueryError { path: path.to_string(), message: message.into(), suggestions: Vec::new() }
}

/// Where a node lies in the query, spelled out (`$.all[2].value`) only when an error names
/// it: a query of hundreds of conditions is parsed without a string per node.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'static str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn key(&'a self, key: &'static str) -> Path<'a> {
        Path::Key(self, key)
    }

    fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Parses query text.
pub fn parse_str(text: &str, schema: &Schema) -> Result<Node, QueryError> {
    let value: Value =
        serde_json::from_str(text).map_err(|err| error(Path::Root, format!("not valid JSON: {err}")))?;
    parse(&value, schema)
}

/// Validates a JSON query.
pub fn parse(value: &Value, schema: &Schema) -> Result<Node, QueryError> {
    node(value, Path::Root, schema)
}

fn node(value: &Value, path: Path<'_>, schema: &Schema) -> Result<Node, QueryError> {
    let Some(object) = value.as_object() else {
        return Err(error(
            path,
            format!(
                "expected a node object ({{\"all\"|\"any\"|\"not\"|\"field\": …}}), found {}",
                kind_of(value)
            ),
        ));
    };
    for (key, group) in [("all", true), ("any", false)] {
        if let Some(children) = object.get(key) {
            only_keys(object, &[key], path)?;
            let path = path.key(key);
            let Some(children) = children.as_array() else {
                return Err(error(path, format!("expected a list of nodes, found {}", kind_of(children))));
            };
            let nodes = children
                .iter()
                .enumerate()
                .map(|(i, child)| node(child, path.index(i), schema))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if group { Node::All(nodes) } else { Node::Any(nodes) });
        }
    }
    if let Some(child) = object.get("not") {
        only_keys(object, &["not"], path)?;
        return Ok(Node::Not(Box::new(node(child, path.key("not"), schema)?)));
    }
    if object.contains_key("field") {
        only_keys(object, &["field", "op", "value"], path)?;
        return condition(object, path, schema).map(Node::Cond);
    }
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut err =
        error(path, format!("expected one of the keys all, any, not, field; found {}", list_or_none(&keys)));
    if let Some(key) = keys.first() {
        err.suggestions = closest(key, ["all", "any", "not", "field"].into_iter());
    }
    Err(err)
}

fn list_or_none(keys: &[&str]) -> String {
    if keys.is_empty() {
        "no keys".to_owned()
    } else {
        keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    }
}

fn only_keys(object: &Map<String, Value>, allowed: &[&str], path: Path<'_>) -> Result<(), QueryError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => {
            let mut err = error(path, format!("unexpected key `{extra}` beside {}", list_or_none(allowed)));
            err.suggestions = closest(extra, allowed.iter().copied())
                .into_iter()
                .filter(|s| !object.contains_key(s))
                .collect();
            Err(err)
        }
        None => Ok(()),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn condition(object: &Map<String, Value>, path: Path<'_>, schema: &Schema) -> Result<Cond, QueryError> {
    let field_path = path.key("field");
    let name = match &object["field"] {
        Value::String(name) => name,
        other => return Err(error(field_path, format!("expected a field name, found {}", kind_of(other)))),
    };
    let Some(field) = schema.field(name) else {
        let mut err = error(field_path, format!("unknown field `{name}`"));
        err.suggestions = closest(name, schema.fields().iter().map(|f| f.name.as_str()));
        return Err(err);
    };
    let def = &schema.fields()[field];
    let op_path = path.key("op");
    let op = match object.get("op") {
        Some(Value::String(op)) => op.as_str(),
        Some(other) => return Err(error(op_path, format!("expected an operator, found {}", kind_of(other)))),
        None => return Err(error(path, "missing `op`")),
    };
    let value_path = path.key("value");
    let Some(value) = object.get("value") else {
        return Err(error(path, "missing `value`"));
    };
    let pred = match def.kind {
        Kind::Number => number_pred(def, op, value, op_path, value_path)?,
        Kind::Category | Kind::Bool | Kind::Set => {
            let dim = def.dimension.expect("valued fields have a dimension");
            match op {
                "in" => {
                    let Some(items) = value.as_array() else {
                        return Err(error(
                            value_path,
                            format!("`in` takes a list of values, found {}", kind_of(value)),
                        ));
                    };
                    let mut ids = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| value_id(def, dim, item, value_path.index(i), schema))
                        .collect::<Result<Vec<_>, _>>()?;
                    ids.sort_unstable();
                    ids.dedup();
                    Pred::Values(ids)
                }
                "eq" => Pred::Values(vec![value_id(def, dim, value, value_path, schema)?]),
                other => return Err(bad_op(def, other, op_path, &["in", "eq"])),
            }
        }
    };
    Ok(Cond { field, pred })
}

fn bad_op(def: &FieldDef, op: &str, path: Path<'_>, allowed: &[&str]) -> QueryError {
    let kind =
        serde_json::to_value(def.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let mut err = error(
        path,
        format!(
            "operator `{op}` does not fit {kind} field `{}`; use one of {}",
            def.name,
            allowed.join(", ")
        ),
    );
    err.suggestions = closest(op, allowed.iter().copied());
    err
}

fn value_id(
    def: &FieldDef,
    dim: Dimension,
    value: &Value,
    path: Path<'_>,
    schema: &Schema,
) -> Result<u32, QueryError> {
    let text = match (dim, value) {
        (Dimension::Bool, Value::Bool(b)) => {
            if *b {
                "true"
            } else {
                "false"
            }
        }
        (_, Value::String(s)) => s.as_str(),
        (Dimension::Bool, other) => {
            return Err(error(path, format!("`{}` takes true or false, found {}", def.name, kind_of(other))))
        }
        (_, other) => {
            return Err(error(path, format!("`{}` takes text values, found {}", def.name, kind_of(other))))
        }
    };
    let found = schema.value(dim, text).or_else(|| {
        // Fixed values (F/M/U, online/offline/…, true/false) are matched in any case.
        dim.fixed_values()?;
        schema.values(dim).iter().position(|v| v.eq_ignore_ascii_case(text)).map(|i| i as u32)
    });
    found.ok_or_else(|| {
        let known = schema.values(dim);
        let message = if dim.is_data_derived() {
            format!("`{text}` never occurs in the data as a value of `{}`", def.name)
        } else {
            format!("`{text}` is not a value of `{}`; the values are {}", def.name, known.join(", "))
        };
        let mut err = error(path, message);
        err.suggestions = closest(text, known.iter().map(String::as_str));
        err
    })
}

fn number(value: &Value, path: Path<'_>, def: &FieldDef) -> Result<f64, QueryError> {
    match value.as_f64() {
        Some(n) if n.is_finite() => Ok(n),
        _ => Err(error(
            path,
            format!("`{}` is a number field: expected a number, found {}", def.name, kind_of(value)),
        )),
    }
}

/// Converts a bound to an integer without overflow (values past i64 saturate).
fn int(x: f64) -> i64 {
    x as i64
}

fn number_pred(
    def: &FieldDef,
    op: &str,
    value: &Value,
    op_path: Path<'_>,
    path: Path<'_>,
) -> Result<Pred, QueryError> {
    let (lo, hi) = match op {
        "exists" => {
            return match value {
                Value::Bool(b) => Ok(Pred::Exists(*b)),
                other => Err(error(path, format!("`exists` takes true or false, found {}", kind_of(other)))),
            }
        }
        // Values are integers, so a fractional bound rounds toward the side it excludes.
        "eq" => {
            let x = number(value, path, def)?;
            if x.fract() != 0.0 {
                (1, 0)
            } else {
                (int(x), int(x))
            }
        }
        "gt" => (int(number(value, path, def)?.floor()).saturating_add(1), i64::MAX),
        "gte" => (int(number(value, path, def)?.ceil()), i64::MAX),
        "lt" => (i64::MIN, int(number(value, path, def)?.ceil()).saturating_sub(1)),
        "lte" => (i64::MIN, int(number(value, path, def)?.floor())),
        "between" => {
            let pair = value.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                error(
                    path,
                    format!("`between` takes a list [lo, hi] of two numbers, found {}", kind_of(value)),
                )
            })?;
            let lo = number(&pair[0], path.index(0), def)?;
            let hi = number(&pair[1], path.index(1), def)?;
            if lo > hi {
                return Err(error(path, format!("`between` needs lo ≤ hi, found [{lo}, {hi}]")));
            }
            (int(lo.ceil()), int(hi.floor()))
        }
        other => {
            return Err(bad_op(def, other, op_path, &["eq", "gt", "gte", "lt", "lte", "between", "exists"]))
        }
    };
    Ok(Pred::Range { lo, hi })
}
