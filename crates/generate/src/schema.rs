//! The Arrow schemas of the three tables, which are the input contract of Tamsa.

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Schema of the customers table: one row per customer.
///
/// `customer_id` is never null; every other column may be.
pub fn customers() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("customer_id", DataType::Utf8, false),
                Field::new("birth_date", DataType::Date32, true),
                Field::new("gender", DataType::Utf8, true),
                Field::new("region", DataType::Utf8, true),
                Field::new("tier", DataType::Utf8, true),
                Field::new("signup_date", DataType::Date32, true),
                Field::new("email_opt_in", DataType::Boolean, true),
                Field::new("sms_opt_in", DataType::Boolean, true),
            ]))
        })
        .clone()
}

/// Schema of the products table: one row per product, no nulls.
pub fn products() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("product_id", DataType::Utf8, false),
                Field::new("name", DataType::Utf8, false),
                Field::new("brand", DataType::Utf8, false),
                Field::new("category", DataType::Utf8, false),
            ]))
        })
        .clone()
}

/// Schema of the purchases table: one row per order line, no nulls.
///
/// `purchased_at` is in microseconds, UTC. `amount` is the line total in KRW, negative
/// for refunds.
pub fn purchases() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("order_id", DataType::Utf8, false),
                Field::new("customer_id", DataType::Utf8, false),
                Field::new(
                    "purchased_at",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    false,
                ),
                Field::new("product_id", DataType::Utf8, false),
                Field::new("quantity", DataType::Int32, false),
                Field::new("amount", DataType::Int64, false),
                Field::new("channel", DataType::Utf8, false),
            ]))
        })
        .clone()
}
