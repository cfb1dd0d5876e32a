//! JSON Schema `pattern` and `patternProperties` regexes, on `fancy-regex`.
//!
//! Confluent's checker needs two things from patterns: refusing malformed ones at parse time
//! (as everit does) and deciding which `patternProperties` entry covers a property name
//! (Java's `Matcher.find()`, an unanchored search). `fancy-regex` accepts the look-around and
//! back-references schemas written for Java/ECMA engines use, and bounds its backtracking,
//! so a hostile pattern cannot stall the registry: a match that exceeds the bound counts as
//! "no match", which only makes a `patternProperties` entry not cover a name.

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Regex {
    inner: fancy_regex::Regex,
}

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegexError(pub String);

/// Backtracking steps allowed per match; the crate's default is 1,000,000, far more than a
/// property name needs.
const BACKTRACK_LIMIT: usize = 100_000;

impl Regex {
    /// Compiles `pattern`, refusing malformed syntax.
    pub(crate) fn new(pattern: &str) -> Result<Self, RegexError> {
        refuse_reversed_ranges(pattern)?;
        fancy_regex::RegexBuilder::new(pattern)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map(|inner| Regex { inner })
            .map_err(|err| RegexError(err.to_string()))
    }

    /// Whether the pattern matches anywhere in `text` (Java's `Matcher.find()`).
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.inner.is_match(text).unwrap_or(false)
    }
}

/// Java refuses `a{3,1}` ("illegal repetition range"); fancy-regex would accept it.
fn refuse_reversed_ranges(pattern: &str) -> Result<(), RegexError> {
    let bytes = pattern.as_bytes();
    let mut index = 0;
    while let Some(offset) = pattern[index..].find('{') {
        let open = index + offset;
        let escaped = open > 0 && bytes[open - 1] == b'\\';
        let rest = &pattern[open + 1..];
        if let Some(close) = rest.find('}')
            && !escaped
            && let Some((low, high)) = rest[..close].split_once(',')
            && let (Ok(low), Ok(high)) = (low.parse::<u64>(), high.parse::<u64>())
            && low > high
        {
            return Err(RegexError(format!(
                "illegal repetition range {{{low},{high}}} at position {open}"
            )));
        }
        index = open + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn find(pattern: &str, text: &str) -> bool {
        Regex::new(pattern)
            .map(|r| r.is_match(text))
            .unwrap_or(false)
    }

    #[test]
    fn matches_like_find() {
        assert!(find("^S_", "S_abc"));
        assert!(!find("^S_", "xS_abc"));
        assert!(find("S_", "xS_abc"));
        assert!(find("^[a-z]+\\d{2,3}$", "abc12"));
        assert!(!find("^[a-z]+\\d{2,3}$", "abc1234"));
        assert!(find("^(foo|bar)$", "bar"));
        assert!(find("", "anything"));
        assert!(find("^x-", "x-custom"));
        assert!(find("^a*", "b"), "an empty prefix is a match, as in Java");
    }

    #[test]
    fn refuses_malformed_patterns() {
        for bad in ["(", "a)", "[a-", "*a", "a{3,1}", "[z-a]", "\\"] {
            assert!(Regex::new(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn lookaround_and_backreferences_work() {
        assert!(find("^(?!x)", "y"));
        assert!(!find("^(?!x)", "x"));
        assert!(find("^(a)\\1$", "aa"));
    }

    #[test]
    fn catastrophic_patterns_give_up_instead_of_stalling() {
        let text = format!("{}!", "a".repeat(40));
        assert!(!find("^(a+)+\\1$", &text));
    }
}
