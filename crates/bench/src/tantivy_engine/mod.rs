//! The Lucene-style baseline of the benchmark: a tantivy index of one document per
//! customer with the same fields as Tamsa's, each segment answered by one tantivy search
//! (a boolean query, with the `Count` collector and Elasticsearch-style aggregations).
//!
//! `build` writes the tantivy index from a Tamsa index, `translate` turns a parsed query
//! into a tantivy query, `profile` asks for the count and facets in one search, and `run`
//! times a suite and checks every answer against Tamsa's engine.

mod build;
mod profile;
mod run;
#[cfg(test)]
mod tests;
mod translate;

pub use build::{build, BuildOptions};
pub use run::{run, RunOptions};

use anyhow::{Context, Result};
use tamsa_model::{FieldDef, Kind};
use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions};

/// The tantivy field holding each customer's customer_id (a fast field, as a keyword's
/// doc values would be).
const CUSTOMER_ID: &str = "customer_id";

/// The category and set fields the profile aggregates on, so they are also fast fields.
const FACET_FIELDS: [&str; 5] = ["gender", "region", "tier", "channel_365d", "last_product"];

/// The tantivy schema of a customer document: one tantivy field per Tamsa field, with the
/// same name. Categories and sets are raw-token keyword fields without norms (as an
/// Elasticsearch `keyword`), bools are bool fields, numbers are indexed and fast i64.
fn schema(fields: &[FieldDef]) -> Schema {
    let keyword = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let mut builder = Schema::builder();
    builder.add_text_field(CUSTOMER_ID, TextOptions::default().set_fast("raw"));
    for def in fields {
        match def.kind {
            Kind::Number => {
                builder.add_i64_field(&def.name, NumericOptions::default().set_indexed().set_fast());
            }
            Kind::Bool => {
                builder.add_bool_field(&def.name, NumericOptions::default().set_indexed());
            }
            Kind::Category | Kind::Set => {
                let mut options = TextOptions::default().set_indexing_options(keyword.clone());
                if FACET_FIELDS.contains(&def.name.as_str()) {
                    options = options.set_fast("raw");
                }
                builder.add_text_field(&def.name, options);
            }
        }
    }
    builder.build()
}

/// The tantivy field of each Tamsa field, by [`tamsa_model::FieldId`].
fn field_handles(schema: &Schema, fields: &[FieldDef]) -> Result<Vec<Field>> {
    fields
        .iter()
        .map(|def| {
            schema
                .get_field(&def.name)
                .with_context(|| format!("the tantivy index has no field `{}`: rebuild it", def.name))
        })
        .collect()
}
