//! Subject patterns for subscriptions, NATS-style over dot-separated tokens of the
//! CloudEvents `type`: `*` matches exactly one token, a final `>` one or more.

use crate::error::SubscribeError;

/// A parsed subscription pattern such as `orders.*` or `orders.>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectPattern {
    text: String,
    tokens: Vec<Token>,
    /// No wildcard: matching is string equality (routing runs per event and per handler).
    literal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Token {
    Literal(String),
    One,
    Rest,
}

impl SubjectPattern {
    /// Parses a pattern; empty tokens and a `>` anywhere but last are refused.
    pub fn parse(text: &str) -> Result<Self, SubscribeError> {
        let parts: Vec<&str> = text.split('.').collect();
        let mut tokens = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let token = match *part {
                "" => return Err(SubscribeError::Pattern(text.to_owned())),
                "*" => Token::One,
                ">" if i + 1 == parts.len() => Token::Rest,
                p if p.contains('*') || p.contains('>') || p.chars().any(char::is_whitespace) => {
                    return Err(SubscribeError::Pattern(text.to_owned()));
                }
                p => Token::Literal(p.to_owned()),
            };
            tokens.push(token);
        }
        let literal = tokens.iter().all(|t| matches!(t, Token::Literal(_)));
        Ok(SubjectPattern {
            text: text.to_owned(),
            tokens,
            literal,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `subject` (an event's `type`) matches.
    pub fn matches(&self, subject: &str) -> bool {
        if self.literal {
            return subject == self.text;
        }
        self.matches_tokens(subject)
    }

    fn matches_tokens(&self, subject: &str) -> bool {
        let mut parts = subject.split('.');
        for token in &self.tokens {
            match token {
                Token::Rest => return parts.next().is_some_and(|p| !p.is_empty()),
                Token::One => match parts.next() {
                    Some(p) if !p.is_empty() => {}
                    _ => return false,
                },
                Token::Literal(lit) => match parts.next() {
                    Some(p) if p == lit => {}
                    _ => return false,
                },
            }
        }
        parts.next().is_none()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn wildcards() {
        let one = SubjectPattern::parse("orders.*").unwrap();
        assert!(one.matches("orders.created"));
        assert!(!one.matches("orders"));
        assert!(!one.matches("orders.created.v2"));
        assert!(!one.matches("payments.created"));
        let rest = SubjectPattern::parse("orders.>").unwrap();
        assert!(rest.matches("orders.created"));
        assert!(rest.matches("orders.created.v2"));
        assert!(!rest.matches("orders"));
        let exact = SubjectPattern::parse("orders.created").unwrap();
        assert!(exact.matches("orders.created"));
        assert!(!exact.matches("orders.created.x"));
        let mid = SubjectPattern::parse("*.created").unwrap();
        assert!(mid.matches("orders.created"));
        assert!(!mid.matches("orders..created"));
    }

    proptest::proptest! {
        #[test]
        fn literal_fast_path_agrees_with_the_token_walk(
            pattern in "[ab]{1,2}(\\.[ab]{1,2}){0,3}",
            subject in "[ab.]{0,9}",
        ) {
            let parsed = SubjectPattern::parse(&pattern).unwrap();
            proptest::prop_assert!(parsed.literal);
            proptest::prop_assert_eq!(parsed.matches(&subject), parsed.matches_tokens(&subject));
            proptest::prop_assert!(parsed.matches(&pattern));
        }
    }

    #[test]
    fn bad_patterns() {
        for bad in ["", "a..b", "a.>.b", "a*", "a.b>", "a b"] {
            assert!(SubjectPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
