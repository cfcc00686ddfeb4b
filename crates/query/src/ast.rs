//! The validated condition tree: what a query means, with names resolved to numbers.

use tamsa_model::FieldId;

/// A node of a validated query.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// Customers matching every child (every customer when empty).
    All(Vec<Node>),
    /// Customers matching any child (nobody when empty).
    Any(Vec<Node>),
    /// Customers not matching the child, among all customers.
    Not(Box<Node>),
    /// A condition on one field.
    Cond(Cond),
}

/// A condition on one field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cond {
    /// The field.
    pub field: FieldId,
    /// What its value must be.
    pub pred: Pred,
}

/// What a field's value must be.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pred {
    /// A category or bool field has one of these values, or a set field holds any of them.
    Values(Vec<u32>),
    /// A number field is known and within `lo..=hi`.
    Range {
        /// Inclusive lower bound.
        lo: i64,
        /// Inclusive upper bound.
        hi: i64,
    },
    /// A number field is known (`true`) or null (`false`).
    Exists(bool),
}
