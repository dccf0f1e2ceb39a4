//! "Did you mean" for message names.

/// The names closest to `wanted`, best first, at most `limit`.
///
/// A name whose last component equals `wanted`'s last component (the user
/// forgot or mistyped the package) ranks first; the rest rank by edit distance
/// on the full name and are kept only when the distance is small relative to
/// the name's length, so a typo gets a suggestion and nonsense gets none.
pub(crate) fn closest<'a>(
    wanted: &str,
    names: impl Iterator<Item = &'a str>,
    limit: usize,
) -> Vec<String> {
    let wanted_short = short(wanted);
    let mut scored: Vec<(usize, &str)> = names
        .filter_map(|name| {
            let score = if short(name).eq_ignore_ascii_case(wanted_short) {
                0
            } else {
                let full = distance(wanted, name);
                let by_short = distance(wanted_short, short(name));
                let best = full.min(by_short);
                let allowed = (wanted_short.chars().count() / 3).max(2);
                if best > allowed {
                    return None;
                }
                best + 1
            };
            Some((score, name))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored
        .into_iter()
        .take(limit)
        .map(|(_, name)| name.to_owned())
        .collect()
}

fn short(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Levenshtein distance over chars (names are short; quadratic is fine).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_same_short_name_first_then_typos() {
        let names = ["acme.Click", "acme.Clicks", "acme.Order", "other.Click"];
        assert_eq!(
            closest("Click", names.iter().copied(), 5),
            ["acme.Click", "other.Click", "acme.Clicks"]
        );
        assert_eq!(
            closest("acme.Ordr", names.iter().copied(), 5),
            ["acme.Order"]
        );
        assert!(closest("zzzzzzzz", names.iter().copied(), 5).is_empty());
    }

    #[test]
    fn computes_edit_distance() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
