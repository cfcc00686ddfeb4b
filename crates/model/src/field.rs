//! The field catalog: every per-customer field a query can name, in a fixed order.

use serde::Serialize;

/// The purchase windows, in days, of the windowed fields (`orders_30d`, `brand_90d`, …).
pub const WINDOWS: [u16; 4] = [30, 90, 180, 365];

/// The values of `gender`.
pub const GENDERS: [&str; 3] = ["F", "M", "U"];

/// The values of the `channel_{W}d` fields.
pub const CHANNELS: [&str; 4] = ["online", "offline", "both", "none"];

/// The buckets of the age facet: label and inclusive lower bound (the last one is open).
pub const AGE_BUCKETS: [(&str, i64); 6] =
    [("<20", i64::MIN), ("20-29", 20), ("30-39", 30), ("40-49", 40), ("50-59", 50), ("60+", 60)];

/// The position of a field in [`catalog`].
pub type FieldId = usize;

/// What a field holds, which decides the operators a condition on it may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An integer, or null when unknown.
    Number,
    /// Exactly one value of a small set.
    Category,
    /// `true` or `false`.
    Bool,
    /// Any number of values of a set (brands bought, …).
    Set,
}

/// Where the values of a category, bool or set field come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// [`GENDERS`].
    Gender,
    /// [`CHANNELS`].
    Channel,
    /// `true` and `false`.
    Bool,
    /// Regions as loaded.
    Region,
    /// Tiers as loaded.
    Tier,
    /// Brand names of the products table.
    Brand,
    /// Category names of the products table.
    Category,
    /// Product ids of the products table.
    Product,
}

impl Dimension {
    /// Whether the values come from the loaded data, so that a value never seen there is
    /// a mistake worth reporting.
    pub fn is_data_derived(self) -> bool {
        matches!(self, Self::Region | Self::Tier | Self::Brand | Self::Category | Self::Product)
    }

    /// The values of a dimension that does not depend on the data.
    pub fn fixed_values(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Gender => Some(&GENDERS),
            Self::Channel => Some(&CHANNELS),
            Self::Bool => Some(&["true", "false"]),
            _ => None,
        }
    }
}

/// One field of the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct FieldDef {
    /// The name queries use, such as `brand_90d`.
    pub name: String,
    /// What the field holds.
    pub kind: Kind,
    /// The purchase window in days, for windowed fields.
    pub window: Option<u16>,
    /// Where the values come from, for every kind but numbers.
    pub dimension: Option<Dimension>,
    /// The unit of a number field: `years`, `days`, `orders` or `money` (minor units).
    pub unit: Option<&'static str>,
    /// A label for people, in English.
    pub label_en: String,
    /// A label for people, in Korean.
    pub label_ko: String,
}

/// The groups the catalog of conditions is shown in, in order: id, English and Korean label.
pub const GROUPS: [(&str, &str, &str); 8] = [
    ("profile", "Profile", "프로필"),
    ("brand", "Purchases by brand", "브랜드별 구매"),
    ("category", "Purchases by category", "카테고리별 구매"),
    ("product", "Purchases by product", "상품별 구매"),
    ("spend_orders", "Spend and orders", "구매 금액과 주문"),
    ("channel", "Channel", "채널"),
    ("recency", "Recency", "최근성"),
    ("last_purchase", "Last purchase", "마지막 구매"),
];

impl FieldDef {
    /// The name without its window suffix: `brand` for `brand_90d`, `age` for `age`.
    pub fn base(&self) -> &str {
        match self.window {
            Some(w) => self.name.strip_suffix(&format!("_{w}d")).unwrap_or(&self.name),
            None => &self.name,
        }
    }

    /// The id of the catalog group the field is shown in (see [`GROUPS`]).
    pub fn group(&self) -> &'static str {
        match self.base() {
            "brand" => "brand",
            "category" => "category",
            "product" => "product",
            "channel" => "channel",
            "orders" | "spend" | "aov" | "orders_total" | "spend_total" => "spend_orders",
            "days_since_first_purchase" | "days_since_last_purchase" => "recency",
            "last_brand" | "last_category" | "last_product" => "last_purchase",
            _ => "profile",
        }
    }

    fn new(name: impl Into<String>, kind: Kind, labels: (String, String)) -> Self {
        FieldDef {
            name: name.into(),
            kind,
            window: None,
            dimension: None,
            unit: None,
            label_en: labels.0,
            label_ko: labels.1,
        }
    }

    fn number(name: impl Into<String>, unit: &'static str, labels: (String, String)) -> Self {
        FieldDef { unit: Some(unit), ..Self::new(name, Kind::Number, labels) }
    }

    fn valued(name: impl Into<String>, kind: Kind, dim: Dimension, labels: (String, String)) -> Self {
        FieldDef { dimension: Some(dim), ..Self::new(name, kind, labels) }
    }

    fn in_window(self, window: u16) -> Self {
        FieldDef { window: Some(window), ..self }
    }
}

fn labels(en: &str, ko: &str) -> (String, String) {
    (en.to_owned(), ko.to_owned())
}

fn windowed(en: &str, ko: &str, window: u16) -> (String, String) {
    (format!("{en}, last {window} days"), format!("최근 {window}일 {ko}"))
}

/// Every field, in the order that [`FieldId`]s index. Built once; evaluation looks fields
/// up here per condition.
pub fn catalog() -> &'static [FieldDef] {
    static CATALOG: std::sync::LazyLock<Vec<FieldDef>> = std::sync::LazyLock::new(build_catalog);
    &CATALOG
}

fn build_catalog() -> Vec<FieldDef> {
    use Dimension as D;
    use Kind as K;
    let mut fields = vec![
        FieldDef::number("age", "years", labels("Age", "나이")),
        FieldDef::valued("gender", K::Category, D::Gender, labels("Gender", "성별")),
        FieldDef::valued("region", K::Category, D::Region, labels("Region", "지역")),
        FieldDef::valued("tier", K::Category, D::Tier, labels("Membership tier", "회원 등급")),
        FieldDef::valued("email_opt_in", K::Bool, D::Bool, labels("E-mail consent", "이메일 수신 동의")),
        FieldDef::valued("sms_opt_in", K::Bool, D::Bool, labels("SMS consent", "SMS 수신 동의")),
        FieldDef::number("days_since_signup", "days", labels("Days since signup", "가입 후 경과일")),
    ];
    for w in WINDOWS {
        fields.extend([
            FieldDef::number(format!("orders_{w}d"), "orders", windowed("Orders", "주문 수", w)).in_window(w),
            FieldDef::number(format!("spend_{w}d"), "money", windowed("Spend", "구매 금액", w)).in_window(w),
            FieldDef::number(
                format!("aov_{w}d"),
                "money",
                windowed("Average order value", "평균 주문 금액", w),
            )
            .in_window(w),
            FieldDef::valued(
                format!("brand_{w}d"),
                K::Set,
                D::Brand,
                windowed("Brands bought", "구매 브랜드", w),
            )
            .in_window(w),
            FieldDef::valued(
                format!("category_{w}d"),
                K::Set,
                D::Category,
                windowed("Categories bought", "구매 카테고리", w),
            )
            .in_window(w),
            FieldDef::valued(
                format!("product_{w}d"),
                K::Set,
                D::Product,
                windowed("Products bought", "구매 상품", w),
            )
            .in_window(w),
            FieldDef::valued(
                format!("channel_{w}d"),
                K::Category,
                D::Channel,
                windowed("Channel", "구매 채널", w),
            )
            .in_window(w),
        ]);
    }
    fields.extend([
        FieldDef::number("orders_total", "orders", labels("Orders, all time", "전체 주문 수")),
        FieldDef::number("spend_total", "money", labels("Spend, all time", "전체 구매 금액")),
        FieldDef::number(
            "days_since_first_purchase",
            "days",
            labels("Days since first purchase", "첫 구매 후 경과일"),
        ),
        FieldDef::number(
            "days_since_last_purchase",
            "days",
            labels("Days since last purchase", "마지막 구매 후 경과일"),
        ),
        FieldDef::valued("last_brand", K::Set, D::Brand, labels("Brand of last order", "마지막 주문 브랜드")),
        FieldDef::valued(
            "last_category",
            K::Set,
            D::Category,
            labels("Category of last order", "마지막 주문 카테고리"),
        ),
        FieldDef::valued(
            "last_product",
            K::Set,
            D::Product,
            labels("Product of last order", "마지막 주문 상품"),
        ),
    ]);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_field_has_a_base_and_a_known_group() {
        for def in catalog() {
            assert!(GROUPS.iter().any(|g| g.0 == def.group()), "{}", def.name);
            if let Some(w) = def.window {
                assert_eq!(format!("{}_{w}d", def.base()), def.name);
            }
        }
        let group = |name: &str| catalog().iter().find(|d| d.name == name).unwrap().group();
        assert_eq!(group("brand_90d"), "brand");
        assert_eq!(group("aov_30d"), "spend_orders");
        assert_eq!(group("age"), "profile");
        assert_eq!(group("last_product"), "last_purchase");
        assert_eq!(group("days_since_last_purchase"), "recency");
    }

    #[test]
    fn catalog_names_are_unique_and_complete() {
        let fields = catalog();
        let names: HashSet<_> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names.len(), fields.len());
        for name in ["age", "gender", "channel_365d", "aov_30d", "last_product", "days_since_last_purchase"] {
            assert!(names.contains(name), "{name} missing");
        }
        assert_eq!(fields.len(), 7 + 7 * WINDOWS.len() + 7);
    }

    #[test]
    fn kinds_carry_dimensions() {
        for field in catalog() {
            assert_eq!(field.kind == Kind::Number, field.dimension.is_none(), "{}", field.name);
            assert_eq!(field.kind == Kind::Number, field.unit.is_some(), "{}", field.name);
        }
    }
}
