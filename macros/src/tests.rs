//! Expansion snapshots (the expanded tokens, pretty-printed) and the check's rules, tested
//! on `proc_macro2` tokens without a compiler in the loop. Compile errors as users see them
//! are trybuild cases in `tests/ui/` of `eventschema-tests`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

use crate::attrs::apply_rename_all;

fn pretty(tokens: TokenStream) -> String {
    prettyplease::unparse(&syn::parse2(tokens).unwrap())
}

/// The repository root: schema paths in these tests are relative to it, as in a crate
/// whose `schemas/` folder sits next to its `Cargo.toml`.
fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn derive(input: TokenStream) -> syn::Result<TokenStream> {
    crate::event::expand(syn::parse2(input).unwrap(), repo())
}

fn derive_error(input: TokenStream) -> Vec<String> {
    derive(input)
        .unwrap_err()
        .into_iter()
        .map(|e| e.to_string())
        .collect()
}

fn consumer(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    crate::consumer::ConsumerArgs::parse(args)
        .and_then(|args| crate::consumer::expand(args, syn::parse2(item).unwrap()))
}

#[test]
fn expansion_with_a_schema_file_keys_and_previous() {
    let out = derive(quote! {
        #[event(subject = "orders.order-placed", version = 3,
                schema = "schemas/orders.order-placed/3.avsc", previous = v2::OrderPlaced)]
        pub struct OrderPlaced {
            #[event(key, idempotency_key)]
            pub order_id: String,
            pub buyer_id: String,
            pub total_cents: i64,
            pub currency: String,
            pub notes: Option<String>,
            pub channel: Channel,
            pub lines: Vec<OrderLine>,
            pub attributes: ::std::collections::BTreeMap<String, String>,
        }
    })
    .unwrap();
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn expansion_code_first_avro() {
    let out = derive(quote! {
        /// A parcel left the warehouse.
        #[event(subject = "shipping.parcel-sent", version = 2, namespace = "shop.shipping", id = 7)]
        pub struct ParcelSent {
            #[event(key)]
            pub parcel_id: String,
            pub grams: i32,
            pub carrier: Option<String>,
            pub tags: Vec<String>,
            pub labels: std::collections::HashMap<String, f64>,
            pub raw: Vec<u8>,
        }
    })
    .unwrap();
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn expansion_code_first_json_with_serde_renames() {
    let out = derive(quote! {
        #[serde(rename_all = "camelCase")]
        #[event(subject = "payments.refund-issued", format = "json", type = "payments.refund")]
        pub struct RefundIssued {
            #[event(idempotency_key)]
            pub refund_id: String,
            pub amount_cents: u64,
            #[serde(rename = "why")]
            pub reason: Option<String>,
            #[serde(skip)]
            pub cache: Vec<u8>,
        }
    })
    .unwrap();
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn expansion_of_a_consumer() {
    let out = consumer(
        quote! { group = "billing" },
        quote! {
            impl Billing {
                fn new() -> Self { Billing }
                async fn on_placed(&self, event: OrderPlaced, ctx: Context) -> Result<(), HandlerError> {
                    Ok(())
                }
                async fn on_cancelled(&self, event: OrderCancelled) {}
                async fn on_paid(&self, event: PaymentCaptured, ctx: Context, tx: &mut sqlx::PgConnection) -> Result<(), HandlerError> {
                    Ok(())
                }
                #[handler(skip)]
                async fn helper(&self, n: u32) {}
            }
        },
    )
    .unwrap();
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn every_mismatch_is_reported_at_once() {
    let errors = derive_error(quote! {
        #[event(subject = "orders.order-placed", version = 3, schema = "schemas/orders.order-placed/3.avsc")]
        pub struct OrderPlaced {
            pub order_id: String,
            pub customer_id: String,
            pub total_cents: String,
            pub currency: Option<String>,
            pub notes: String,
            pub channel: Channel,
            pub lines: Vec<String>,
            pub attributes: ::std::collections::BTreeMap<String, String>,
            pub extra: bool,
        }
    });
    insta::assert_debug_snapshot!(errors);
}

#[test]
fn json_schema_rules() {
    let errors = derive_error(quote! {
        #[serde(rename_all = "camelCase")]
        #[event(subject = "payments.payment-failed", version = 2, schema = "schemas/payments.payment-failed/2.json")]
        pub struct PaymentFailed {
            pub payment_id: Option<String>,
            pub order_id: String,
            pub reason: u8,
            pub attempt: i64,
            #[serde(rename = "retry")]
            pub retryable: Option<bool>,
        }
    });
    insta::assert_debug_snapshot!(errors);
}

#[test]
fn integer_widths_are_free_in_json_but_not_in_avro() {
    assert!(
        derive(quote! {
            #[serde(rename_all = "camelCase")]
            #[event(subject = "p", schema = "schemas/payments.payment-failed/2.json")]
            pub struct PaymentFailed {
                pub payment_id: String,
                pub order_id: String,
                pub reason: Reason,
                pub attempt: Option<u16>,
                pub retryable: Option<bool>,
            }
        })
        .is_ok()
    );
    let errors = derive_error(quote! {
        #[event(subject = "s", schema = "schemas/inventory.stock-released/2.avsc")]
        pub struct StockReleased {
            pub reservation_id: String,
            pub quantity: i32,
            pub reason: ReleaseReason,
        }
    });
    assert_eq!(
        errors,
        [
            "field `quantity`: schema `schemas/inventory.stock-released/2.avsc` has `long`, found `i32`"
        ]
    );
}

#[test]
fn malformed_attributes() {
    let cases = [
        (
            quote! { #[event(subject = "s", colour = "red")] struct E { a: i32 } },
            "unknown `event` attribute `colour`; expected one of subject, version, type, schema, lock, format, id, namespace, previous",
        ),
        (
            quote! { #[event(subject = "s", version = 0)] struct E { a: i32 } },
            "`version` starts at 1 (registry versions are 1-based)",
        ),
        (
            quote! { #[event(subject = "s", subject = "t")] struct E { a: i32 } },
            "duplicate `event` attribute `subject`",
        ),
        (
            quote! { #[event(subject = "s", format = "xml")] struct E { a: i32 } },
            "unknown format `xml`: expected \"avro\" or \"json\"",
        ),
        (
            quote! { #[event(subject = "s", key)] struct E { a: i32 } },
            "`key` goes on a field: #[event(key)]",
        ),
        (
            quote! { #[event(subject = "s")] struct E { #[event(key = "a")] a: i32 } },
            "`key` takes no value: #[event(key)]",
        ),
        (
            quote! { #[event(subject = "s")] struct E<T> { a: T } },
            "an event type cannot be generic: its schema is one fixed type",
        ),
        (
            quote! { #[event(subject = "s", schema = "schemas/orders.order-placed/1.avsc", format = "json")] struct E { a: i32 } },
            "`format` contradicts the schema file's extension (.avsc is Avro, .json is JSON Schema)",
        ),
        (
            quote! { #[event(subject = "s")] struct E { #[serde(flatten)] a: Other } },
            "#[serde(flatten)] is not supported on events: the fields would not line up with the schema's",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(derive_error(input), [expected]);
    }
}

#[test]
fn a_schema_that_is_not_a_record_matches_no_struct() {
    let errors = derive_error(quote! {
        #[event(subject = "s", schema = "core/tests/../../schemas/eventschema.toml", format = "avro")]
        struct E { a: i32 }
    });
    assert!(
        errors[0].contains("is not a valid AVRO schema"),
        "{errors:?}"
    );
}

#[test]
fn rename_all_rules_follow_serde() {
    let rule = |r: &str| syn::LitStr::new(r, proc_macro2::Span::call_site());
    let cases = [
        ("camelCase", "buyer_id_v2", "buyerIdV2"),
        ("PascalCase", "buyer_id", "BuyerId"),
        ("kebab-case", "buyer_id", "buyer-id"),
        ("SCREAMING_SNAKE_CASE", "buyer_id", "BUYER_ID"),
        ("SCREAMING-KEBAB-CASE", "buyer_id", "BUYER-ID"),
        ("lowercase", "buyer_id", "buyer_id"),
        ("UPPERCASE", "buyer_id", "BUYER_ID"),
        ("snake_case", "buyer_id", "buyer_id"),
    ];
    for (r, field, expected) in cases {
        assert_eq!(apply_rename_all(&rule(r), field).unwrap(), expected, "{r}");
    }
    assert!(apply_rename_all(&rule("Title Case"), "a").is_err());
}

#[test]
fn consumer_errors() {
    let item = quote! { impl Billing { async fn on(&self, e: E) {} } };
    let cases = [
        (
            quote! {},
            item.clone(),
            "missing consumer group: #[consumer(group = \"billing\")]",
        ),
        (
            quote! { group = "" },
            item.clone(),
            "`group` expects a non-empty string literal, e.g. group = \"billing\"",
        ),
        (
            quote! { group = "g" },
            quote! { impl Billing { fn helper(&self) {} } },
            "this consumer has no handlers: add `async fn on_event(&self, event: MyEvent, ctx: Context) -> Result<(), HandlerError>`",
        ),
        (
            quote! { group = "g" },
            quote! { impl Handler for Billing { async fn on(&self, e: E) {} } },
            "#[consumer] goes on an inherent impl block (`impl MyConsumer { .. }`), not a trait impl",
        ),
        (
            quote! { group = "g" },
            quote! { impl Billing { async fn on<T>(&self, e: T) {} } },
            "handler `on` cannot be generic: its event type picks the subscription",
        ),
        (
            quote! { group = "g" },
            quote! { impl Billing { #[handler(later)] async fn on(&self, e: E) {} } },
            "unknown `handler` attribute; expected #[handler(skip)]",
        ),
    ];
    for (args, item, expected) in cases {
        let error = consumer(args, item).unwrap_err().to_string();
        assert_eq!(error, expected);
    }
}

#[test]
fn the_version_comes_from_the_schema_file_name_and_must_agree_with_it() {
    let out = derive(quote! {
        #[event(subject = "s", schema = "schemas/inventory.stock-released/2.avsc")]
        pub struct StockReleased { pub reservation_id: String, pub quantity: i64, pub reason: ReleaseReason }
    })
    .unwrap()
    .to_string();
    assert!(out.contains("const VERSION : u32 = 2u32"), "{out}");
    let errors = derive_error(quote! {
        #[event(subject = "s", version = 3, schema = "schemas/inventory.stock-released/2.avsc")]
        pub struct StockReleased { pub reservation_id: String, pub quantity: i64, pub reason: ReleaseReason }
    });
    assert_eq!(
        errors,
        [
            "`version = 3` but the schema file `schemas/inventory.stock-released/2.avsc` is version 2 (schemas/ folder convention)"
        ]
    );
}

/// The fixture lock of `tests/fixtures/lock/`: three versions of `orders.order-placed`
/// (Avro) and two of `payments.payment-failed` (JSON Schema), ids 101..=105.
const LOCK_FIXTURE: &str = "tests/fixtures/lock/eventschema.lock";

fn lock_fixture_inputs() -> Vec<eventschema_codegen::lock::Fetched> {
    [
        ("orders.order-placed", 1, 101, "AVRO", "avsc"),
        ("orders.order-placed", 2, 102, "AVRO", "avsc"),
        ("orders.order-placed", 3, 103, "AVRO", "avsc"),
        ("payments.payment-failed", 1, 104, "JSON", "json"),
        ("payments.payment-failed", 2, 105, "JSON", "json"),
    ]
    .into_iter()
    .map(
        |(subject, version, id, schema_type, ext)| eventschema_codegen::lock::Fetched {
            subject: subject.to_owned(),
            version,
            id,
            schema_type: schema_type.to_owned(),
            text: std::fs::read_to_string(
                repo().join(format!("schemas/{subject}/{version}.{ext}")),
            )
            .unwrap(),
            references: Vec::new(),
        },
    )
    .collect()
}

/// The fixture is what codegen's own writer produces from `schemas/` today (so its
/// fingerprints are right); `EVENTSCHEMA_UPDATE_FIXTURES=1` rewrites it.
#[test]
fn lock_fixture_is_current() {
    use eventschema_codegen::lock::{CACHE_DIR, Lock};
    let fixture = repo().join(LOCK_FIXTURE);
    if std::env::var_os("EVENTSCHEMA_UPDATE_FIXTURES").is_some() {
        Lock::write(&fixture, "http://registry:8081", &lock_fixture_inputs()).unwrap();
    }
    let fresh = tempfile::tempdir().unwrap();
    let fresh_lock = fresh.path().join("eventschema.lock");
    Lock::write(&fresh_lock, "http://registry:8081", &lock_fixture_inputs()).unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        read(&fixture),
        read(&fresh_lock),
        "rerun with EVENTSCHEMA_UPDATE_FIXTURES=1"
    );
    let lock = Lock::read(&fixture).unwrap().unwrap();
    for entry in &lock.schemas {
        let cached = |lock: &Path| {
            read(
                &lock
                    .parent()
                    .unwrap()
                    .join(CACHE_DIR)
                    .join(entry.cache_path()),
            )
        };
        assert_eq!(
            cached(&fixture),
            cached(&fresh_lock),
            "{}",
            entry.cache_path()
        );
    }
    // And codegen's locked build accepts it as it is.
    lock.load(&fixture).unwrap();
}

#[test]
fn expansion_with_a_lock_entry() {
    let out = derive(quote! {
        #[event(subject = "orders.order-placed", version = 3, lock = "tests/fixtures/lock/eventschema.lock")]
        pub struct OrderPlaced {
            #[event(key)]
            pub order_id: String,
            pub buyer_id: String,
            pub total_cents: i64,
            pub currency: String,
            pub notes: Option<String>,
            pub channel: Channel,
            pub lines: Vec<OrderLine>,
            pub attributes: ::std::collections::BTreeMap<String, String>,
        }
    })
    .unwrap();
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn a_lock_entry_gets_the_same_field_check_as_a_schema_file() {
    let fields = quote! {
        pub struct OrderPlaced {
            pub order_id: String,
            pub customer_id: String,
            pub total_cents: String,
            pub currency: Option<String>,
            pub notes: String,
            pub channel: Channel,
            pub lines: Vec<String>,
            pub attributes: ::std::collections::BTreeMap<String, String>,
            pub extra: bool,
        }
    };
    let by_file = derive_error(quote! {
        #[event(subject = "orders.order-placed", version = 3, schema = "schemas/orders.order-placed/3.avsc")]
        #fields
    });
    let by_lock = derive_error(quote! {
        #[event(subject = "orders.order-placed", version = 3, lock = "tests/fixtures/lock/eventschema.lock")]
        #fields
    });
    let by_lock: Vec<String> = by_lock
        .into_iter()
        .map(|e| {
            e.replace(
                "tests/fixtures/lock/.eventschema/orders.order-placed/3.avsc",
                "schemas/orders.order-placed/3.avsc",
            )
        })
        .collect();
    assert_eq!(by_file, by_lock);
    assert!(by_file.len() >= 6, "{by_file:#?}");
}

#[test]
fn lock_rules() {
    let struct_ = quote! { pub struct OrderPlaced { pub order_id: String } };
    let cases = [
        quote! { #[event(subject = "orders.order-placed", version = 3, lock = "tests/fixtures/lock/eventschema.lock", schema = "schemas/orders.order-placed/3.avsc")] },
        quote! { #[event(subject = "orders.order-placed", lock = "tests/fixtures/lock/eventschema.lock")] },
        quote! { #[event(subject = "orders.order-placed", version = 3, id = 5, lock = "tests/fixtures/lock/eventschema.lock")] },
        quote! { #[event(subject = "orders.order-placed", version = 9, lock = "tests/fixtures/lock/eventschema.lock")] },
        quote! { #[event(subject = "orders.order-shipped", version = 1, lock = "tests/fixtures/lock/eventschema.lock")] },
        quote! { #[event(subject = "orders.order-placed", version = 3, format = "json", lock = "tests/fixtures/lock/eventschema.lock")] },
        quote! { #[event(subject = "orders.order-placed", version = 3, lock = "tests/fixtures/no-such/eventschema.lock")] },
        quote! { #[event(subject = "orders.order-placed", version = 3, lock = "tests/fixtures/lock-stale/eventschema.lock")] },
        quote! { #[event(subject = "orders.order-placed", version = 2, lock = "tests/fixtures/lock-stale/eventschema.lock")] },
        // A bare `lock` is `eventschema.lock` at the crate root (none at the repository's).
        quote! { #[event(subject = "orders.order-placed", version = 3, lock)] },
    ];
    let errors: Vec<String> = cases
        .iter()
        .map(|attr| {
            let mut errors = derive_error(quote! { #attr #struct_ });
            assert_eq!(errors.len(), 1, "{errors:?}");
            errors.remove(0)
        })
        .collect();
    let root = repo().display().to_string();
    let errors: Vec<String> = errors.iter().map(|e| e.replace(&root, "$REPO")).collect();
    insta::assert_debug_snapshot!(errors);
}

#[test]
fn a_lock_entry_sets_the_schema_id_and_format() {
    let out = derive(quote! {
        #[serde(rename_all = "camelCase")]
        #[event(subject = "payments.payment-failed", version = 2, lock = "tests/fixtures/lock/eventschema.lock")]
        pub struct PaymentFailed {
            pub payment_id: String,
            pub order_id: String,
            pub reason: Reason,
            pub attempt: Option<u32>,
            pub retryable: Option<bool>,
        }
    })
    .unwrap()
    .to_string();
    assert!(
        out.contains(":: core :: option :: Option :: Some (105u64)"),
        "{out}"
    );
    assert!(out.contains("SchemaType :: Json"), "{out}");
    assert!(
        out.contains("\"/tests/fixtures/lock/.eventschema/payments.payment-failed/2.json\""),
        "{out}"
    );
    assert!(out.contains("include_bytes"), "{out}");
}
