//! A parsed Tamsa query as a tantivy query, written as an Elasticsearch user would write
//! its `bool` query: an `all` is a bool of `must` clauses with its negated children as
//! `must_not`, an `any` a bool of `should` clauses with the value conditions on one field
//! folded into one terms query, a `not` elsewhere "everyone" minus its child.

use std::collections::BTreeMap;
use std::ops::Bound;

use tamsa_model::{FieldId, Kind};
use tamsa_query::{Cond, Node, Pred, Schema};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

/// Translates queries for one tantivy index.
pub struct Translator<'a> {
    schema: &'a Schema,
    fields: &'a [Field],
}

impl<'a> Translator<'a> {
    /// A translator to the tantivy fields `fields` (by Tamsa field id).
    pub fn new(schema: &'a Schema, fields: &'a [Field]) -> Self {
        Translator { schema, fields }
    }

    /// The tantivy query matching the same customers as `node`.
    pub fn query(&self, node: &Node) -> Box<dyn Query> {
        match node {
            Node::All(children) => self.all(children),
            Node::Any(children) => self.any(children),
            Node::Not(child) => not(self.query(child)),
            Node::Cond(cond) => self.cond(cond),
        }
    }

    fn all(&self, children: &[Node]) -> Box<dyn Query> {
        let mut clauses = Vec::with_capacity(children.len());
        let mut positive = false;
        for child in children {
            match child {
                Node::Not(inner) => clauses.push((Occur::MustNot, self.query(inner))),
                other => {
                    positive = true;
                    clauses.push((Occur::Must, self.query(other)));
                }
            }
        }
        if !positive {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        if clauses.len() == 1 {
            return clauses.pop().expect("one clause").1;
        }
        Box::new(BooleanQuery::new(clauses))
    }

    fn any(&self, children: &[Node]) -> Box<dyn Query> {
        // Value conditions grouped by field, each group one terms query, in field order.
        let mut terms: BTreeMap<FieldId, Vec<Term>> = BTreeMap::new();
        let mut others = Vec::new();
        for child in children {
            match child {
                Node::Cond(Cond { field, pred: Pred::Values(values) }) => {
                    terms.entry(*field).or_default().extend(values.iter().map(|&v| self.term(*field, v)));
                }
                other => others.push(self.query(other)),
            }
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            terms.into_values().map(|t| (Occur::Should, terms_query(t))).collect();
        clauses.extend(others.into_iter().map(|q| (Occur::Should, q)));
        match clauses.len() {
            0 => Box::new(EmptyQuery),
            1 => clauses.pop().expect("one clause").1,
            _ => Box::new(BooleanQuery::new(clauses)),
        }
    }

    fn cond(&self, cond: &Cond) -> Box<dyn Query> {
        let field = self.fields[cond.field];
        match &cond.pred {
            Pred::Values(values) => terms_query(values.iter().map(|&v| self.term(cond.field, v)).collect()),
            Pred::Exists(true) => self.exists(cond.field),
            Pred::Exists(false) => not(self.exists(cond.field)),
            Pred::Range { lo, hi } => match (*lo, *hi) {
                (lo, hi) if lo > hi => Box::new(EmptyQuery),
                (lo, hi) if lo == hi => {
                    Box::new(TermQuery::new(Term::from_field_i64(field, lo), IndexRecordOption::Basic))
                }
                (i64::MIN, i64::MAX) => self.exists(cond.field),
                (lo, hi) => {
                    let bound = |x: i64, open: i64| {
                        if x == open {
                            Bound::Unbounded
                        } else {
                            Bound::Included(Term::from_field_i64(field, x))
                        }
                    };
                    // On a fast field, tantivy scans the column within the candidates; the
                    // inverted index (one term per distinct value) measured no faster.
                    Box::new(RangeQuery::new(bound(lo, i64::MIN), bound(hi, i64::MAX)))
                }
            },
        }
    }

    fn exists(&self, field: FieldId) -> Box<dyn Query> {
        Box::new(ExistsQuery::new(self.schema.fields()[field].name.clone(), false))
    }

    /// The term of value number `value` of a category, bool or set field.
    fn term(&self, field: FieldId, value: u32) -> Term {
        let def = &self.schema.fields()[field];
        let handle = self.fields[field];
        match def.kind {
            // Bool values are numbered as ["true", "false"].
            Kind::Bool => Term::from_field_bool(handle, value == 0),
            _ => {
                let names = self.schema.values(def.dimension.expect("valued field"));
                Term::from_field_text(handle, &names[value as usize])
            }
        }
    }
}

/// One term as a term query, several as a terms query (one bitset of their postings).
fn terms_query(mut terms: Vec<Term>) -> Box<dyn Query> {
    terms.sort_unstable();
    terms.dedup();
    match terms.len() {
        0 => Box::new(EmptyQuery),
        1 => Box::new(TermQuery::new(terms.pop().expect("one term"), IndexRecordOption::Basic)),
        _ => Box::new(TermSetQuery::new(terms)),
    }
}

/// Everyone but the matches of `query`.
fn not(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(vec![(Occur::Must, Box::new(AllQuery)), (Occur::MustNot, query)]))
}
