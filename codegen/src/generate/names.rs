//! Turning schema names into Rust identifiers: case conversion, keyword escaping and
//! collision-free names, so that any legal schema name yields code that compiles.

use proc_macro2::{Ident, Span};

/// Rust's strict and reserved keywords (2024 edition), which cannot be plain identifiers.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// Splits a name into lowercase words at `_`, `-`, `.`, spaces and case changes.
fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `orderPlaced`, `order-placed` -> `order_placed`; keywords get a trailing `_`, a leading
/// digit a leading `_`.
pub fn snake(name: &str) -> String {
    let joined = words(name).join("_");
    fix(if joined.is_empty() {
        "field".to_owned()
    } else {
        joined
    })
}

/// `order-placed`, `ORDER_PLACED` -> `OrderPlaced`.
pub fn pascal(name: &str) -> String {
    let joined: String = words(name)
        .iter()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect();
    fix(if joined.is_empty() {
        "Type".to_owned()
    } else {
        joined
    })
}

fn fix(name: String) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// An identifier from a name that [`snake`] or [`pascal`] produced.
pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}
