//! Clickstream events (`acme.clicks.Click`, examples/schema/acme/clicks.proto).
//!
//! What a web collector records: UUIDs, URLs with query strings, real user
//! agents, millisecond timestamps, enums, a nested page and client, products
//! for cart and purchase events, a few tags in a string map, and now and then
//! text that needs escaping in JSON (quotes, non-ASCII). About 600 bytes a
//! message.

use std::fmt::Write as _;

use crate::rng::Rng;
use crate::wire::Wire;

/// 2024-06-01T00:00:00Z: the first event's time.
const START_SECONDS: u64 = 1_717_200_000;

const DOMAINS: &[&str] = &[
    "shop.acme.example",
    "www.acme.example",
    "m.acme.example",
    "blog.acme.example",
];

const SECTIONS: &[&str] = &[
    "products", "category", "search", "cart", "checkout", "account", "help", "stories",
];

const WORDS: &[&str] = &[
    "running",
    "shoes",
    "trail",
    "jacket",
    "waterproof",
    "merino",
    "socks",
    "backpack",
    "tent",
    "ultralight",
    "stove",
    "headlamp",
    "gloves",
    "beanie",
    "summit",
    "alpine",
    "bottle",
    "filter",
    "compass",
    "map",
    "poles",
    "gaiters",
    "fleece",
    "shell",
    "insulated",
    "kids",
    "womens",
    "mens",
    "sale",
    "new",
    "classic",
    "pro",
];

/// Titles and product names now and then carry what a JSON writer must
/// escape or encode: quotes, backslashes, non-ASCII.
const SPECIAL_WORDS: &[&str] = &[
    "\"Best\"", "Café", "crème", "Größe", "日本", "naïve", "señal", "C:\\temp", "50% off", "Ærø",
];

const REFERRERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.bing.com/search?q=acme+outdoor",
    "https://duckduckgo.com/",
    "https://t.co/",
    "https://www.facebook.com/",
    "https://news.ycombinator.com/",
];

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
];

/// The device type that goes with each user agent above.
const UA_DEVICES: &[u64] = &[1, 1, 2, 2, 1, 1, 3, 2, 4, 1];

const LOCALES: &[&str] = &[
    "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP", "pt-BR", "nl-NL", "sv-SE", "it-IT",
];

/// (country, region, city, latitude, longitude)
const PLACES: &[(&str, &str, &str, f64, f64)] = &[
    ("US", "CA", "San Francisco", 37.7749, -122.4194),
    ("US", "NY", "New York", 40.7128, -74.0060),
    ("US", "WA", "Seattle", 47.6062, -122.3321),
    ("GB", "ENG", "London", 51.5072, -0.1276),
    ("DE", "BE", "Berlin", 52.5200, 13.4050),
    ("DE", "BY", "München", 48.1351, 11.5820),
    ("FR", "IDF", "Paris", 48.8566, 2.3522),
    ("JP", "13", "東京", 35.6762, 139.6503),
    ("BR", "SP", "São Paulo", -23.5505, -46.6333),
    ("SE", "AB", "Stockholm", 59.3293, 18.0686),
    ("AU", "NSW", "Sydney", -33.8688, 151.2093),
    ("CA", "QC", "Montréal", 45.5019, -73.5674),
];

const SCREENS: &[(u64, u64, f32)] = &[
    (1920, 1080, 1.0),
    (2560, 1440, 1.0),
    (1440, 900, 2.0),
    (390, 844, 3.0),
    (412, 915, 2.625),
    (360, 800, 3.0),
    (820, 1180, 2.0),
    (1366, 768, 1.0),
    (1536, 864, 1.25),
];

const CATEGORIES: &[&str] = &[
    "footwear",
    "footwear/trail",
    "apparel",
    "apparel/jackets",
    "camping",
    "camping/tents",
    "accessories",
    "sale",
];

const ATTRIBUTES: &[(&str, &[&str])] = &[
    (
        "utm_source",
        &["google", "newsletter", "facebook", "partner-42"],
    ),
    ("utm_medium", &["cpc", "email", "social", "referral"]),
    (
        "utm_campaign",
        &["summer-sale", "back-to-school", "brand", "retargeting"],
    ),
    (
        "experiment",
        &["checkout-v2", "search-ranking-7", "hero-banner"],
    ),
    ("ab_variant", &["control", "treatment-a", "treatment-b"]),
    ("consent_version", &["2024-03", "2024-05"]),
];

/// The state that runs through one chunk of events: a clock and the current
/// session, so that events come in sessions as real traffic does.
#[derive(Debug)]
pub struct Clicks {
    rng: Rng,
    millis: u64,
    session: Session,
    text: String,
}

#[derive(Debug)]
struct Session {
    user_id: u64,
    id: String,
    sequence: i64,
    remaining: u64,
    ua: usize,
    ip: String,
    locale: usize,
    place: usize,
    screen: usize,
    domain: usize,
}

impl Clicks {
    /// Events of chunk `chunk` of the data set with `seed`.
    pub fn new(seed: u64, chunk: u64) -> Clicks {
        let mut rng = Rng::new(seed, chunk);
        // Each chunk covers about ten minutes of traffic.
        let millis = (START_SECONDS + chunk * 600) * 1000;
        let session = Session::start(&mut rng);
        Clicks {
            rng,
            millis,
            session,
            text: String::new(),
        }
    }

    /// Appends the next event's encoding to `out`.
    pub fn write_next(&mut self, out: &mut Wire) {
        if self.session.remaining == 0 {
            self.session = Session::start(&mut self.rng);
        }
        self.session.remaining -= 1;
        self.session.sequence += 1;
        self.millis += self.rng.range(0, 40);

        let rng = &mut self.rng;
        let kind = rng.weighted(&[55, 25, 8, 8, 4]) as u64 + 1;
        let items = match kind {
            4 => rng.range(1, 2),
            5 => rng.range(1, 5),
            2 if rng.chance(30) => 1,
            _ => 0,
        };

        uuid(rng, &mut self.text);
        out.str(1, &self.text);
        let (seconds, nanos) = (self.millis / 1000, (self.millis % 1000) * 1_000_000);
        // A few collectors send microseconds: JSON then shows six digits.
        let nanos = if rng.chance(10) {
            nanos + rng.below(1000) * 1000
        } else {
            nanos
        };
        out.message(2, |t| {
            t.uint(1, seconds);
            t.uint(2, nanos);
        });
        out.uint(3, kind);
        out.uint(4, self.session.user_id);
        out.str(5, &self.session.id);
        out.int(6, self.session.sequence);

        let s = &self.session;
        let text = &mut self.text;
        out.message(7, |page| {
            url(rng, s.domain, kind, text);
            page.str(1, text);
            if rng.chance(35) {
                page.str(2, rng.pick(REFERRERS));
            } else if rng.chance(50) {
                text.clear();
                let _ = write!(text, "https://{}/", DOMAINS[s.domain]);
                page.str(2, text);
            }
            title(rng, text);
            page.str(3, text);
            page.uint(4, rng.below(101));
            page.uint(5, rng.range(50, 600_000));
        });
        out.message(8, |client| {
            client.str(1, USER_AGENTS[s.ua]);
            client.str(2, &s.ip);
            client.uint(3, UA_DEVICES[s.ua]);
            client.str(4, LOCALES[s.locale]);
            let (w, h, ratio) = SCREENS[s.screen];
            client.message(5, |screen| {
                screen.uint(1, w);
                screen.uint(2, h);
                screen.float(3, ratio);
            });
            let (country, region, city, lat, lon) = PLACES[s.place];
            client.message(6, |geo| {
                geo.str(1, country);
                geo.str(2, region);
                geo.str(3, city);
                // Jitter within the city, so doubles take all 17 digits.
                geo.double(4, lat + (rng.unit() - 0.5) * 0.2);
                geo.double(5, lon + (rng.unit() - 0.5) * 0.2);
            });
        });

        let mut total_micros: i64 = 0;
        for _ in 0..items {
            // Prices like 49.99, in micros.
            let price = rng.range(2, 400) as i64 * 1_000_000 - 10_000;
            let quantity = if rng.chance(80) { 1 } else { rng.range(2, 4) };
            total_micros += price * quantity as i64;
            out.message(9, |item| {
                text.clear();
                let _ = write!(text, "SKU-{:06}-{}", rng.below(1_000_000), rng.range(1, 12));
                item.str(1, text);
                product_name(rng, text);
                item.str(2, text);
                item.uint(3, quantity);
                item.int(4, price);
                for _ in 0..rng.range(1, 3) {
                    item.bytes_always(5, rng.pick(CATEGORIES).as_bytes());
                }
            });
        }

        // Map entries in a fixed key order, as most encoders write them.
        let mut present = [false; 6];
        for _ in 0..rng.weighted(&[40, 25, 20, 10, 5]) {
            present[rng.below(ATTRIBUTES.len() as u64) as usize] = true;
        }
        for (i, &(key, values)) in ATTRIBUTES.iter().enumerate() {
            if present[i] {
                let value = rng.pick(values);
                out.message(10, |entry| {
                    entry.bytes_always(1, key.as_bytes());
                    entry.bytes_always(2, value.as_bytes());
                });
            }
        }

        if kind == 5 {
            out.double(11, total_micros as f64 / 1e6);
        }
        if items > 0 {
            out.str(12, if s.place < 3 { "USD" } else { "EUR" });
        }
        out.bool(13, rng.chance(80));
    }
}

impl Session {
    fn start(rng: &mut Rng) -> Session {
        let mut id = String::with_capacity(16);
        for _ in 0..2 {
            let _ = write!(id, "{:08x}", rng.next_u64() as u32);
        }
        let ip = if rng.chance(20) {
            let r = rng.next_u64();
            format!(
                "2001:db8:{:x}:{:x}::{:x}",
                r & 0xffff,
                (r >> 16) & 0xffff,
                (r >> 32) & 0xffff
            )
        } else {
            let r = rng.next_u64();
            format!(
                "{}.{}.{}.{}",
                1 + (r & 0xff) % 223,
                (r >> 8) & 0xff,
                (r >> 16) & 0xff,
                1 + ((r >> 24) & 0xff) % 254
            )
        };
        Session {
            // Most ids are small; some systems hash into the whole u64 range
            // (printed as a string in JSON either way).
            user_id: if rng.chance(10) {
                rng.next_u64()
            } else {
                rng.range(1, 50_000_000)
            },
            id,
            sequence: 0,
            remaining: rng.range(1, 30),
            ua: rng.below(USER_AGENTS.len() as u64) as usize,
            ip,
            locale: rng.below(LOCALES.len() as u64) as usize,
            place: rng.below(PLACES.len() as u64) as usize,
            screen: rng.below(SCREENS.len() as u64) as usize,
            domain: rng.below(DOMAINS.len() as u64) as usize,
        }
    }
}

fn uuid(rng: &mut Rng, text: &mut String) {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    text.clear();
    let _ = write!(
        text,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    );
}

fn url(rng: &mut Rng, domain: usize, kind: u64, text: &mut String) {
    text.clear();
    let _ = write!(text, "https://{}/", DOMAINS[domain]);
    let section = if kind == 3 {
        "search"
    } else {
        rng.pick(SECTIONS)
    };
    text.push_str(section);
    for _ in 0..rng.range(1, 3) {
        text.push('/');
        text.push_str(rng.pick(WORDS));
        if rng.chance(50) {
            text.push('-');
            text.push_str(rng.pick(WORDS));
        }
    }
    if kind == 3 {
        let _ = write!(text, "?q={}+{}", rng.pick(WORDS), rng.pick(WORDS));
    } else if rng.chance(40) {
        let _ = write!(
            text,
            "?id={}&ref={}&utm_source=newsletter",
            rng.below(1_000_000),
            rng.pick(WORDS)
        );
    }
}

fn title(rng: &mut Rng, text: &mut String) {
    text.clear();
    for i in 0..rng.range(2, 7) {
        if i > 0 {
            text.push(' ');
        }
        let word = if rng.chance(4) {
            rng.pick(SPECIAL_WORDS)
        } else {
            rng.pick(WORDS)
        };
        text.push_str(word);
    }
    text.push_str(" | Acme Outdoor");
}

fn product_name(rng: &mut Rng, text: &mut String) {
    text.clear();
    for i in 0..rng.range(2, 4) {
        if i > 0 {
            text.push(' ');
        }
        let word = if rng.chance(6) {
            rng.pick(SPECIAL_WORDS)
        } else {
            rng.pick(WORDS)
        };
        text.push_str(word);
    }
}
