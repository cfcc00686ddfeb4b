//! The product catalog: invented brands and categories, a few thousand products with
//! fixed prices, and the popularity tables purchases are drawn from.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::rng::{PartRng, Stream};

/// Number of products in every catalog, whatever the number of customers.
pub(crate) const PRODUCT_COUNT: usize = 3_000;

/// Lowest and highest unit price, in KRW.
const PRICE_FLOOR: i64 = 5_000;
const PRICE_CEILING: i64 = 300_000;

/// Invented brand names.
const BRANDS: [&str; 40] = [
    "설화담",
    "라온빛",
    "윤슬담",
    "결고운",
    "단아림",
    "솔나래",
    "달무리",
    "모아결",
    "온새미로",
    "가온결",
    "다솜채",
    "비담향",
    "새봄결",
    "한결숲",
    "은하결",
    "미리솔",
    "초아담",
    "해윰빛",
    "나린결",
    "아름채",
    "소담결",
    "루미엘",
    "청연담",
    "꽃담채",
    "여울빛",
    "별하담",
    "해솔결",
    "다온채",
    "푸른결",
    "수아림",
    "연두담",
    "봄빛상회",
    "물결공방",
    "오롯결",
    "누리향",
    "마루향",
    "은결빛",
    "시나브로랩",
    "고운누리",
    "바람결",
];

/// Which list of descriptive words a category's product names draw from.
#[derive(Clone, Copy)]
enum Style {
    Skin,
    Makeup,
    HairBody,
    Scent,
}

const SKIN_WORDS: &[&str] = &[
    "수분",
    "진정",
    "미백",
    "탄력",
    "보습",
    "순한",
    "맑은",
    "촉촉",
    "결광",
    "청정",
    "비타",
    "시카",
    "히알루론",
    "세라마이드",
    "어성초",
    "녹차",
    "동백",
    "인삼",
    "쌀",
    "병풀",
    "콜라겐",
    "레티놀",
    "펩타이드",
    "프로폴리스",
    "유자",
    "쑥",
    "자작나무",
    "약산성",
    "저자극",
    "데일리",
];
const MAKEUP_WORDS: &[&str] = &[
    "벨벳",
    "글로우",
    "매트",
    "커버",
    "롱웨어",
    "세미매트",
    "촉촉",
    "누드",
    "실크",
    "하이커버",
    "물광",
    "픽싱",
];
const HAIR_BODY_WORDS: &[&str] = &[
    "약산성",
    "두피",
    "볼륨",
    "딥클린",
    "퍼퓸",
    "릴리프",
    "허브",
    "코코넛",
    "탄탄",
    "시어버터",
    "라벤더",
    "자몽",
];
const SCENT_WORDS: &[&str] =
    &["머스크", "플로럴", "우디", "시트러스", "로즈", "화이트티", "베르가못", "피오니", "라벤더", "블랑"];

impl Style {
    fn words(self) -> &'static [&'static str] {
        match self {
            Style::Skin => SKIN_WORDS,
            Style::Makeup => MAKEUP_WORDS,
            Style::HairBody => HAIR_BODY_WORDS,
            Style::Scent => SCENT_WORDS,
        }
    }
}

/// One product category: its name, how common it is, its price band and how its
/// products are named.
struct Category {
    name: &'static str,
    weight: f64,
    price: (f64, f64),
    nouns: &'static [&'static str],
    sizes: &'static [&'static str],
    style: Style,
}

const fn cat(
    name: &'static str,
    weight: f64,
    price: (f64, f64),
    nouns: &'static [&'static str],
    sizes: &'static [&'static str],
    style: Style,
) -> Category {
    Category { name, weight, price, nouns, sizes, style }
}

const CATEGORIES: [Category; 30] = [
    cat(
        "에센스",
        8.0,
        (18_000.0, 180_000.0),
        &["에센스", "퍼스트 에센스", "트리트먼트 에센스"],
        &["50ml", "100ml", "150ml"],
        Style::Skin,
    ),
    cat("세럼", 6.0, (15_000.0, 150_000.0), &["세럼", "부스팅 세럼"], &["30ml", "50ml"], Style::Skin),
    cat("앰플", 5.0, (15_000.0, 120_000.0), &["앰플", "집중 앰플"], &["30ml", "50ml"], Style::Skin),
    cat(
        "크림",
        8.0,
        (15_000.0, 300_000.0),
        &["크림", "수분크림", "영양크림", "젤크림"],
        &["50ml", "60ml", "80ml"],
        Style::Skin,
    ),
    cat(
        "아이크림",
        3.0,
        (20_000.0, 200_000.0),
        &["아이크림", "아이 세럼"],
        &["15ml", "20ml", "30ml"],
        Style::Skin,
    ),
    cat(
        "토너",
        6.0,
        (10_000.0, 60_000.0),
        &["토너", "스킨", "토너패드"],
        &["150ml", "200ml", "300ml"],
        Style::Skin,
    ),
    cat("로션", 4.0, (12_000.0, 80_000.0), &["로션", "에멀전", "플루이드"], &["120ml", "150ml"], Style::Skin),
    cat("미스트", 2.0, (8_000.0, 35_000.0), &["미스트", "페이스 미스트"], &["80ml", "120ml"], Style::Skin),
    cat(
        "클렌저",
        5.0,
        (7_000.0, 35_000.0),
        &["클렌징폼", "젤 클렌저", "클렌징워터"],
        &["150ml", "200ml", "300ml"],
        Style::Skin,
    ),
    cat(
        "클렌징오일",
        3.0,
        (12_000.0, 45_000.0),
        &["클렌징오일", "클렌징밤"],
        &["100ml", "200ml"],
        Style::Skin,
    ),
    cat(
        "선케어",
        6.0,
        (10_000.0, 45_000.0),
        &["선크림", "선세럼", "선스틱", "톤업 선크림"],
        &["50ml", "60ml", "20g"],
        Style::Skin,
    ),
    cat(
        "쿠션",
        5.0,
        (20_000.0, 70_000.0),
        &["쿠션", "커버 쿠션", "글로우 쿠션"],
        &["15g", "15g x 2"],
        Style::Makeup,
    ),
    cat(
        "파운데이션",
        3.0,
        (25_000.0, 90_000.0),
        &["파운데이션", "스킨 파운데이션"],
        &["30ml", "35ml"],
        Style::Makeup,
    ),
    cat("컨실러", 2.0, (10_000.0, 35_000.0), &["컨실러"], &["5g", "7g"], Style::Makeup),
    cat("파우더", 2.0, (12_000.0, 45_000.0), &["파우더", "팩트"], &["8g", "10g"], Style::Makeup),
    cat("립스틱", 5.0, (12_000.0, 50_000.0), &["립스틱", "립밤"], &["3.5g", "3g"], Style::Makeup),
    cat(
        "립틴트",
        4.0,
        (8_000.0, 25_000.0),
        &["틴트", "워터 틴트", "벨벳 틴트"],
        &["4g", "5g"],
        Style::Makeup,
    ),
    cat(
        "아이섀도",
        3.0,
        (10_000.0, 65_000.0),
        &["아이섀도 팔레트", "싱글 섀도"],
        &["8g", "1.5g"],
        Style::Makeup,
    ),
    cat("마스카라", 2.0, (10_000.0, 35_000.0), &["마스카라"], &["7g", "9g"], Style::Makeup),
    cat(
        "아이라이너",
        2.0,
        (8_000.0, 25_000.0),
        &["아이라이너", "펜슬 라이너"],
        &["0.5g", "0.3g"],
        Style::Makeup,
    ),
    cat("블러셔", 2.0, (10_000.0, 35_000.0), &["블러셔", "치크"], &["5g", "6g"], Style::Makeup),
    cat(
        "마스크팩",
        5.0,
        (5_000.0, 40_000.0),
        &["시트 마스크", "마스크팩", "패드 마스크"],
        &["5매", "10매"],
        Style::Skin,
    ),
    cat(
        "향수",
        3.0,
        (30_000.0, 250_000.0),
        &["오 드 퍼퓸", "오 드 뚜왈렛", "퍼퓸 미스트"],
        &["30ml", "50ml", "100ml"],
        Style::Scent,
    ),
    cat("샴푸", 4.0, (8_000.0, 45_000.0), &["샴푸", "두피 샴푸"], &["300ml", "500ml"], Style::HairBody),
    cat(
        "트리트먼트",
        3.0,
        (8_000.0, 40_000.0),
        &["트리트먼트", "헤어 에센스", "헤어 오일"],
        &["100ml", "200ml"],
        Style::HairBody,
    ),
    cat(
        "바디워시",
        3.0,
        (7_000.0, 30_000.0),
        &["바디워시", "바디 스크럽"],
        &["300ml", "500ml"],
        Style::HairBody,
    ),
    cat(
        "바디로션",
        3.0,
        (9_000.0, 40_000.0),
        &["바디로션", "바디 크림", "바디 오일"],
        &["200ml", "300ml"],
        Style::HairBody,
    ),
    cat("핸드크림", 3.0, (5_000.0, 25_000.0), &["핸드크림", "핸드 밤"], &["30ml", "50ml"], Style::HairBody),
    cat(
        "네일",
        2.0,
        (5_000.0, 20_000.0),
        &["네일 컬러", "젤 네일", "네일 케어"],
        &["8ml", "10ml"],
        Style::Makeup,
    ),
    cat(
        "남성 스킨케어",
        2.0,
        (15_000.0, 60_000.0),
        &["올인원 로션", "맨 토너", "맨 크림"],
        &["120ml", "150ml"],
        Style::Skin,
    ),
];

/// One product as sold: identity, naming and a unit price fixed for the whole history.
pub(crate) struct Product {
    pub(crate) name: String,
    pub(crate) brand: u16,
    pub(crate) category: u16,
    pub(crate) price: i64,
}

/// A discrete distribution over indices, sampled by binary search on cumulative weights.
pub(crate) struct WeightedIndex {
    cumulative: Vec<f64>,
}

impl WeightedIndex {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Self { cumulative }
    }

    /// Draws an index with probability proportional to its weight.
    pub(crate) fn sample(&self, rng: &mut PartRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u = rng.random::<f64>() * total;
        self.cumulative.partition_point(|&c| c <= u).min(self.cumulative.len().saturating_sub(1))
    }

    fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }
}

/// Products grouped by brand, with each brand's own popularity table.
struct BrandShelf {
    products: Vec<u16>,
    popularity: WeightedIndex,
}

/// Every product, plus the tables that say how likely each is to be bought.
pub(crate) struct Catalog {
    pub(crate) products: Vec<Product>,
    popularity: WeightedIndex,
    shelves: Vec<BrandShelf>,
    brand_choice: WeightedIndex,
}

impl Catalog {
    /// The catalog for `seed`; it depends on nothing else.
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = PartRng::new(seed, Stream::Products, 0);
        let normal = |rng: &mut PartRng| -> f64 { StandardNormal.sample(rng) };

        // Brands differ in size, price level, renown and which categories they make.
        let brand_size = WeightedIndex::new((0..BRANDS.len()).map(|i| 1.0 / ((i + 1) as f64).powf(0.5)));
        let brand_price: Vec<f64> = (0..BRANDS.len()).map(|_| (0.35 * normal(&mut rng)).exp()).collect();
        let brand_renown: Vec<f64> = (0..BRANDS.len()).map(|_| (0.6 * normal(&mut rng)).exp()).collect();
        let brand_categories: Vec<WeightedIndex> = (0..BRANDS.len())
            .map(|_| {
                let weights: Vec<f64> = CATEGORIES
                    .iter()
                    .map(|c| {
                        let carried = rng.random::<f64>() < 0.7;
                        if carried {
                            c.weight * (0.8 * normal(&mut rng)).exp()
                        } else {
                            0.0
                        }
                    })
                    .collect();
                if weights.iter().all(|&w| w == 0.0) {
                    WeightedIndex::new(CATEGORIES.iter().map(|c| c.weight))
                } else {
                    WeightedIndex::new(weights)
                }
            })
            .collect();

        let mut names = std::collections::HashSet::with_capacity(PRODUCT_COUNT);
        let mut products = Vec::with_capacity(PRODUCT_COUNT);
        let mut scores = Vec::with_capacity(PRODUCT_COUNT);
        for _ in 0..PRODUCT_COUNT {
            let brand = brand_size.sample(&mut rng);
            let category = brand_categories[brand].sample(&mut rng);
            let c = &CATEGORIES[category];
            let mut name = String::new();
            for attempt in 0.. {
                let word = pick(&mut rng, c.style.words());
                let noun = pick(&mut rng, c.nouns);
                let size = pick(&mut rng, c.sizes);
                name = format!("{} {word} {noun} {size}", BRANDS[brand]);
                if attempt >= 8 {
                    name = format!("{name} {}호", attempt - 7);
                }
                if names.insert(name.clone()) {
                    break;
                }
            }
            let (low, high) = c.price;
            let u = rng.random::<f64>();
            let raw = (low.ln() + u * (high.ln() - low.ln())).exp() * brand_price[brand];
            let mut price = ((raw / 1_000.0).round() as i64) * 1_000;
            if rng.random::<f64>() < 0.3 {
                price -= 100;
            }
            let price = price.clamp(PRICE_FLOOR, PRICE_CEILING);
            scores.push(brand_renown[brand] * (0.9 * normal(&mut rng)).exp());
            products.push(Product { name, brand: brand as u16, category: category as u16, price });
        }

        // Popularity follows a Zipf-like law over the products ranked by score.
        let mut order: Vec<usize> = (0..PRODUCT_COUNT).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let mut weight = vec![0.0; PRODUCT_COUNT];
        for (rank, &product) in order.iter().enumerate() {
            weight[product] = 1.0 / ((rank + 1) as f64).powf(0.8);
        }
        let popularity = WeightedIndex::new(weight.iter().copied());

        let shelves: Vec<BrandShelf> = (0..BRANDS.len())
            .map(|brand| {
                let members: Vec<u16> = (0..PRODUCT_COUNT)
                    .filter(|&p| products[p].brand as usize == brand)
                    .map(|p| p as u16)
                    .collect();
                let popularity = WeightedIndex::new(members.iter().map(|&p| weight[p as usize]));
                BrandShelf { products: members, popularity }
            })
            .collect();
        let brand_choice = WeightedIndex::new(shelves.iter().map(|s| s.popularity.total()));

        Self { products, popularity, shelves, brand_choice }
    }

    /// The brand name of brand index `brand`.
    pub(crate) fn brand_name(brand: u16) -> &'static str {
        BRANDS[brand as usize]
    }

    /// The category name of category index `category`.
    pub(crate) fn category_name(category: u16) -> &'static str {
        CATEGORIES[category as usize].name
    }

    /// Draws a product from the whole catalog by popularity.
    pub(crate) fn any_product(&self, rng: &mut PartRng) -> u16 {
        self.popularity.sample(rng) as u16
    }

    /// Draws a product of `brand` by popularity, or from the whole catalog when the brand
    /// has no products.
    pub(crate) fn brand_product(&self, rng: &mut PartRng, brand: u16) -> u16 {
        let shelf = &self.shelves[brand as usize];
        if shelf.products.is_empty() {
            return self.any_product(rng);
        }
        shelf.products[shelf.popularity.sample(rng)]
    }

    /// Draws a brand with probability proportional to how much it sells.
    pub(crate) fn popular_brand(&self, rng: &mut PartRng) -> u16 {
        self.brand_choice.sample(rng) as u16
    }
}

fn pick<'a>(rng: &mut PartRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_fixed_by_seed() {
        let a = Catalog::new(5);
        let b = Catalog::new(5);
        let c = Catalog::new(6);
        assert_eq!(a.products.len(), PRODUCT_COUNT);
        let names = |cat: &Catalog| cat.products.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
    }

    #[test]
    fn catalog_is_plausible() {
        let catalog = Catalog::new(11);
        let unique: std::collections::HashSet<_> = catalog.products.iter().map(|p| &p.name).collect();
        assert_eq!(unique.len(), PRODUCT_COUNT);
        for p in &catalog.products {
            assert!((PRICE_FLOOR..=PRICE_CEILING).contains(&p.price), "{} costs {}", p.name, p.price);
            assert!(p.name.starts_with(Catalog::brand_name(p.brand)));
        }
        for word in ["에센스", "크림", "토너", "선크림", "쿠션"] {
            assert!(catalog.products.iter().any(|p| p.name.contains(word)), "no product named with {word}");
        }
        let brands: std::collections::HashSet<_> = catalog.products.iter().map(|p| p.brand).collect();
        assert!(brands.len() >= 35, "only {} brands", brands.len());
        let categories: std::collections::HashSet<_> = catalog.products.iter().map(|p| p.category).collect();
        assert_eq!(categories.len(), CATEGORIES.len());
    }
}
