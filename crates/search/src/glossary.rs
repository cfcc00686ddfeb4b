//! English names of common Korean values, so that English searches find them: the
//! seventeen provinces and metropolitan cities, and the usual cosmetics categories. Values
//! not listed are found by their own text only.

/// English words for a region name, if it is a Korean province or metropolitan city.
pub fn region(name: &str) -> &'static [&'static str] {
    match name {
        "서울" => &["Seoul"],
        "부산" => &["Busan"],
        "대구" => &["Daegu"],
        "인천" => &["Incheon"],
        "광주" => &["Gwangju"],
        "대전" => &["Daejeon"],
        "울산" => &["Ulsan"],
        "세종" => &["Sejong"],
        "경기" => &["Gyeonggi"],
        "강원" => &["Gangwon"],
        "충북" => &["Chungbuk", "North Chungcheong"],
        "충남" => &["Chungnam", "South Chungcheong"],
        "전북" => &["Jeonbuk", "North Jeolla"],
        "전남" => &["Jeonnam", "South Jeolla"],
        "경북" => &["Gyeongbuk", "North Gyeongsang"],
        "경남" => &["Gyeongnam", "South Gyeongsang"],
        "제주" => &["Jeju"],
        _ => &[],
    }
}

/// English words for a cosmetics category name.
pub fn category(name: &str) -> &'static [&'static str] {
    match name {
        "에센스" => &["essence"],
        "세럼" => &["serum"],
        "앰플" => &["ampoule"],
        "크림" => &["cream"],
        "아이크림" => &["eye cream"],
        "토너" | "스킨" => &["toner"],
        "로션" => &["lotion"],
        "미스트" => &["mist"],
        "클렌저" | "클렌징폼" => &["cleanser"],
        "클렌징오일" => &["cleansing oil"],
        "선케어" | "선크림" => &["sun care", "sunscreen"],
        "쿠션" => &["cushion"],
        "파운데이션" => &["foundation"],
        "컨실러" => &["concealer"],
        "파우더" => &["powder"],
        "립스틱" => &["lipstick"],
        "립틴트" => &["lip tint"],
        "아이섀도" => &["eyeshadow", "eye shadow"],
        "마스카라" => &["mascara"],
        "아이라이너" => &["eyeliner"],
        "블러셔" => &["blusher", "blush"],
        "마스크팩" => &["sheet mask", "mask pack"],
        "향수" => &["perfume", "fragrance"],
        "샴푸" => &["shampoo"],
        "트리트먼트" => &["treatment", "conditioner"],
        "바디워시" => &["body wash"],
        "바디로션" => &["body lotion"],
        "핸드크림" => &["hand cream"],
        "네일" => &["nail"],
        "남성 스킨케어" => &["men's skincare", "men skincare"],
        _ => &[],
    }
}
