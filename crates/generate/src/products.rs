//! The products table, published from the catalog.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::ArrowError;

use crate::catalog::Catalog;
use crate::schema;

/// Writes the id of product index `index` ("P000001") into `buf`.
pub(crate) fn format_product_id(buf: &mut String, index: usize) {
    buf.clear();
    let _ = write!(buf, "P{:06}", index + 1);
}

/// The ids of all products, by product index.
pub(crate) fn product_ids(catalog: &Catalog) -> Vec<String> {
    (0..catalog.products.len())
        .map(|i| {
            let mut buf = String::with_capacity(8);
            format_product_id(&mut buf, i);
            buf
        })
        .collect()
}

/// The rows of the products table.
pub(crate) fn products_batch(catalog: &Catalog) -> Result<RecordBatch, ArrowError> {
    let n = catalog.products.len();
    let mut ids = StringBuilder::with_capacity(n, n * 8);
    let mut names = StringBuilder::with_capacity(n, n * 40);
    let mut brands = StringBuilder::with_capacity(n, n * 12);
    let mut categories = StringBuilder::with_capacity(n, n * 12);
    let mut buf = String::new();
    for (i, p) in catalog.products.iter().enumerate() {
        format_product_id(&mut buf, i);
        ids.append_value(&buf);
        names.append_value(&p.name);
        brands.append_value(Catalog::brand_name(p.brand));
        categories.append_value(Catalog::category_name(p.category));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(ids.finish()),
        Arc::new(names.finish()),
        Arc::new(brands.finish()),
        Arc::new(categories.finish()),
    ];
    RecordBatch::try_new(schema::products(), columns)
}
