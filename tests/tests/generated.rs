//! The code generated from `schemas/` (by `build.rs`) compiles, implements `Event`, and
//! round-trips every version through JSON and through its own payload codec.
#![allow(clippy::unwrap_used, clippy::expect_used)]

include!(concat!(env!("OUT_DIR"), "/eventschema_generated.rs"));

use std::collections::BTreeMap;

use eventschema::Event;

/// A `timestamp-millis` value (the example schemas' timestamps are `chrono::DateTime<Utc>`).
fn at(millis: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(millis).unwrap()
}

fn round_trip<E>(event: &E)
where
    E: Event + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
{
    let json = serde_json::to_string(event).unwrap();
    let back: E = serde_json::from_str(&json).unwrap();
    assert_eq!(
        &back,
        event,
        "JSON round trip of {} v{}",
        E::SUBJECT,
        E::VERSION
    );
    let bytes = event
        .encode()
        .unwrap_or_else(|e| panic!("{} v{}: {e:?}", E::SUBJECT, E::VERSION));
    let back =
        E::decode(&bytes).unwrap_or_else(|e| panic!("{} v{}: {e:?}", E::SUBJECT, E::VERSION));
    assert_eq!(
        &back,
        event,
        "payload round trip of {} v{}",
        E::SUBJECT,
        E::VERSION
    );
}

#[test]
fn order_placed_versions() {
    use orders_order_placed::*;
    let line = |sku: &str| v1::OrderLine {
        sku: sku.into(),
        quantity: 2,
    };
    round_trip(&v1::OrderPlaced {
        order_id: "o1".into(),
        customer_id: "c1".into(),
        total_cents: 1200,
        channel: v1::Channel::Web,
        lines: vec![line("A")],
    });
    round_trip(&v2::OrderPlaced {
        order_id: "o1".into(),
        customer_id: "c1".into(),
        total_cents: 5_000_000_000,
        currency: "USD".into(),
        notes: Some("gift".into()),
        channel: v2::Channel::Store,
        lines: vec![],
    });
    let newest = OrderPlaced {
        order_id: "o1".into(),
        buyer_id: "c1".into(),
        total_cents: 1,
        currency: "EUR".into(),
        notes: None,
        channel: v3::Channel::Mobile,
        lines: vec![v3::OrderLine {
            sku: "B".into(),
            quantity: 1,
        }],
        attributes: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
    };
    round_trip(&newest);
    assert_eq!(<OrderPlaced as Event>::VERSION, 3);
    assert_eq!(<OrderPlaced as Event>::SUBJECT, SUBJECT);
}

#[test]
fn defaults_and_aliases_apply_when_reading_older_json() {
    use orders_order_placed::*;
    let v1_json =
        r#"{"order_id":"o1","customer_id":"c1","total_cents":5,"channel":"WEB","lines":[]}"#;
    let newest: OrderPlaced = serde_json::from_str(v1_json).unwrap();
    assert_eq!(newest.buyer_id, "c1");
    assert_eq!(newest.currency, "EUR");
    assert_eq!(newest.notes, None);
    assert!(newest.attributes.is_empty());
    let v2_json = r#"{"reservation_id":"r","sku":"s","quantity":1,"warehouse":"w"}"#;
    let reserved: inventory_stock_reserved::StockReserved = serde_json::from_str(v2_json).unwrap();
    assert_eq!(reserved.location.warehouse, "main");
}

#[test]
fn other_subjects_round_trip() {
    use inventory_stock_released as released;
    use inventory_stock_reserved as reserved;
    use orders_order_cancelled as cancelled;
    use payments_payment_authorized as authorized;
    use payments_payment_failed as failed;
    round_trip(&cancelled::v1::OrderCancelled {
        order_id: "o".into(),
        reason: "r".into(),
        cancelled_at: at(9),
    });
    round_trip(&cancelled::v2::OrderCancelled {
        order_id: "o".into(),
        reason_code: cancelled::v2::CancelReason::OutOfStock,
        cancelled_at: at(9),
    });
    round_trip(&cancelled::v3::OrderCancelled {
        order_id: "o".into(),
        reason_code: cancelled::v3::CancelReason::PaymentFailed,
        cancelled_at: at(9),
    });
    round_trip(&authorized::v1::PaymentAuthorized {
        payment_id: "p".into(),
        order_id: "o".into(),
        amount_cents: 10,
        instrument: authorized::v1::PaymentAuthorizedInstrument::Card(authorized::v1::Card {
            last4: "4242".into(),
            brand: "visa".into(),
        }),
    });
    round_trip(&authorized::v2::PaymentAuthorized {
        payment_id: "p".into(),
        order_id: "o".into(),
        amount_cents: 10,
        instrument: authorized::v2::PaymentAuthorizedInstrument::BankTransfer(
            authorized::v2::BankTransfer {
                iban: "DE00".into(),
            },
        ),
        authorization_code: Some("A1".into()),
    });
    round_trip(&authorized::v3::PaymentAuthorized {
        payment_id: "p".into(),
        order_id: "o".into(),
        amount_cents: 10,
        instrument: authorized::v3::PaymentAuthorizedInstrument::BankTransfer(
            authorized::v3::BankTransfer {
                iban: "DE00".into(),
            },
        ),
        authorization_code: None,
        captured: true,
    });
    round_trip(&failed::v1::PaymentFailed {
        payment_id: "p".into(),
        order_id: "o".into(),
        reason: failed::v1::PaymentFailedReason::Declined,
        attempt: Some(2),
    });
    round_trip(&failed::v2::PaymentFailed {
        payment_id: "p".into(),
        order_id: "o".into(),
        reason: failed::v2::PaymentFailedReason::Expired,
        attempt: None,
        retryable: Some(false),
    });
    round_trip(&reserved::v1::StockReserved {
        reservation_id: "r".into(),
        sku: "s".into(),
        quantity: 1,
        warehouse: "w".into(),
    });
    round_trip(&reserved::v2::StockReserved {
        reservation_id: "r".into(),
        sku: "s".into(),
        quantity: 1,
        warehouse: "w".into(),
        expires_at: Some(at(5)),
    });
    round_trip(&reserved::v3::StockReserved {
        reservation_id: "r".into(),
        sku: "s".into(),
        quantity: 1,
        expires_at: None,
        location: reserved::v3::Location {
            warehouse: "w".into(),
            bin: Some("b".into()),
        },
    });
    round_trip(&released::v1::StockReleased {
        reservation_id: "r".into(),
        quantity: 1,
        reason: released::v1::ReleaseReason::Expired,
    });
    round_trip(&released::v2::StockReleased {
        reservation_id: "r".into(),
        quantity: 1,
        reason: released::v2::ReleaseReason::Fulfilled,
    });
}

/// The payload bytes of `event` (what `decode_any` reads).
fn payload<E: Event>(event: &E) -> Vec<u8> {
    event
        .encode()
        .unwrap_or_else(|e| panic!("{} v{}: {e:?}", E::SUBJECT, E::VERSION))
}

#[test]
fn order_placed_upcasts_fill_defaults_rename_and_promote() {
    use orders_order_placed::*;
    let old = v1::OrderPlaced {
        order_id: "o1".into(),
        customer_id: "c1".into(),
        total_cents: 1200,
        channel: v1::Channel::Store,
        lines: vec![v1::OrderLine {
            sku: "A".into(),
            quantity: 2,
        }],
    };
    let expected = OrderPlaced {
        order_id: "o1".into(),
        buyer_id: "c1".into(),
        total_cents: 1200,
        currency: "EUR".into(),
        notes: None,
        channel: v3::Channel::Store,
        lines: vec![v3::OrderLine {
            sku: "A".into(),
            quantity: 2,
        }],
        attributes: BTreeMap::new(),
    };
    let stepwise = v3::OrderPlaced::from(v2::OrderPlaced::from(old.clone()));
    assert_eq!(stepwise, expected);
    assert_eq!(decode_any(1, &payload(&old)).unwrap(), expected);
    let middle = v2::OrderPlaced {
        order_id: "o1".into(),
        customer_id: "c1".into(),
        total_cents: 5_000_000_000,
        currency: "USD".into(),
        notes: Some("gift".into()),
        channel: v2::Channel::Web,
        lines: vec![],
    };
    let expected = OrderPlaced {
        order_id: "o1".into(),
        buyer_id: "c1".into(),
        total_cents: 5_000_000_000,
        currency: "USD".into(),
        notes: Some("gift".into()),
        channel: v3::Channel::Web,
        lines: vec![],
        attributes: BTreeMap::new(),
    };
    assert_eq!(OrderPlaced::from(middle.clone()), expected);
    assert_eq!(decode_any(2, &payload(&middle)).unwrap(), expected);
    assert_eq!(decode_any(3, &payload(&expected)).unwrap(), expected);
    let unknown = decode_any(4, &payload(&expected)).unwrap_err();
    assert!(unknown.0.contains("no version 4"), "{unknown:?}");
    // Bytes of one version are not silently read as another.
    assert!(decode_any(1, &payload(&expected)).is_err());
}

#[test]
fn other_subjects_upcast_to_their_newest_version() {
    use inventory_stock_released as released;
    use inventory_stock_reserved as reserved;
    use orders_order_cancelled as cancelled;
    use payments_payment_authorized as authorized;
    use payments_payment_failed as failed;

    // Removed field and added field with a default; added enum symbols.
    let old = cancelled::v1::OrderCancelled {
        order_id: "o".into(),
        reason: "changed my mind".into(),
        cancelled_at: at(9),
    };
    let expected = cancelled::OrderCancelled {
        order_id: "o".into(),
        reason_code: cancelled::v3::CancelReason::CustomerRequest,
        cancelled_at: at(9),
    };
    assert_eq!(cancelled::decode_any(1, &payload(&old)).unwrap(), expected);
    let middle = cancelled::v2::OrderCancelled {
        order_id: "o".into(),
        reason_code: cancelled::v2::CancelReason::OutOfStock,
        cancelled_at: at(9),
    };
    let expected = cancelled::OrderCancelled {
        reason_code: cancelled::v3::CancelReason::OutOfStock,
        ..expected
    };
    assert_eq!(
        cancelled::decode_any(2, &payload(&middle)).unwrap(),
        expected
    );
    assert_eq!(
        cancelled::decode_any(3, &payload(&expected)).unwrap(),
        expected
    );

    // Nested records inside a union, an added optional field, an added boolean default.
    let old = authorized::v1::PaymentAuthorized {
        payment_id: "p".into(),
        order_id: "o".into(),
        amount_cents: 10,
        instrument: authorized::v1::PaymentAuthorizedInstrument::Card(authorized::v1::Card {
            last4: "4242".into(),
            brand: "visa".into(),
        }),
    };
    let expected = authorized::PaymentAuthorized {
        payment_id: "p".into(),
        order_id: "o".into(),
        amount_cents: 10,
        instrument: authorized::v3::PaymentAuthorizedInstrument::Card(authorized::v3::Card {
            last4: "4242".into(),
            brand: "visa".into(),
        }),
        authorization_code: None,
        captured: false,
    };
    assert_eq!(authorized::decode_any(1, &payload(&old)).unwrap(), expected);
    let middle = authorized::v2::PaymentAuthorized {
        payment_id: "p".into(),
        order_id: "o".into(),
        amount_cents: 10,
        instrument: authorized::v2::PaymentAuthorizedInstrument::BankTransfer(
            authorized::v2::BankTransfer {
                iban: "DE00".into(),
            },
        ),
        authorization_code: Some("A1".into()),
    };
    let expected = authorized::PaymentAuthorized {
        instrument: authorized::v3::PaymentAuthorizedInstrument::BankTransfer(
            authorized::v3::BankTransfer {
                iban: "DE00".into(),
            },
        ),
        authorization_code: Some("A1".into()),
        ..expected
    };
    assert_eq!(
        authorized::decode_any(2, &payload(&middle)).unwrap(),
        expected
    );
    assert_eq!(
        authorized::decode_any(3, &payload(&expected)).unwrap(),
        expected
    );

    // JSON Schema: a new optional property.
    let old = failed::v1::PaymentFailed {
        payment_id: "p".into(),
        order_id: "o".into(),
        reason: failed::v1::PaymentFailedReason::Expired,
        attempt: Some(3),
    };
    let expected = failed::PaymentFailed {
        payment_id: "p".into(),
        order_id: "o".into(),
        reason: failed::v2::PaymentFailedReason::Expired,
        attempt: Some(3),
        retryable: None,
    };
    assert_eq!(failed::decode_any(1, &payload(&old)).unwrap(), expected);
    assert_eq!(
        failed::decode_any(2, &payload(&expected)).unwrap(),
        expected
    );

    // int -> long, a new nullable field, then a removed field and a new record default.
    let old = reserved::v1::StockReserved {
        reservation_id: "r".into(),
        sku: "s".into(),
        quantity: 7,
        warehouse: "w".into(),
    };
    let middle = reserved::v2::StockReserved {
        reservation_id: "r".into(),
        sku: "s".into(),
        quantity: 7,
        warehouse: "w".into(),
        expires_at: None,
    };
    assert_eq!(reserved::v2::StockReserved::from(old.clone()), middle);
    let expected = reserved::StockReserved {
        reservation_id: "r".into(),
        sku: "s".into(),
        quantity: 7,
        expires_at: None,
        location: reserved::v3::Location {
            warehouse: "main".into(),
            bin: None,
        },
    };
    assert_eq!(reserved::decode_any(1, &payload(&old)).unwrap(), expected);
    assert_eq!(
        reserved::decode_any(2, &payload(&middle)).unwrap(),
        expected
    );
    assert_eq!(
        reserved::decode_any(3, &payload(&expected)).unwrap(),
        expected
    );

    // An added enum symbol.
    let old = released::v1::StockReleased {
        reservation_id: "r".into(),
        quantity: 1,
        reason: released::v1::ReleaseReason::Cancelled,
    };
    let expected = released::StockReleased {
        reservation_id: "r".into(),
        quantity: 1,
        reason: released::v2::ReleaseReason::Cancelled,
    };
    assert_eq!(released::decode_any(1, &payload(&old)).unwrap(), expected);
    assert_eq!(
        released::decode_any(2, &payload(&expected)).unwrap(),
        expected
    );
}

mod chain {
    //! Property: the composed chain (`decode_any`) equals the single steps applied by hand,
    //! and equals what serde's aliases and defaults make of the old JSON.
    use super::orders_order_placed::*;
    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = v1::OrderLine> {
        ("[A-Z]{1,4}", any::<i32>()).prop_map(|(sku, quantity)| v1::OrderLine { sku, quantity })
    }

    fn order() -> impl Strategy<Value = v1::OrderPlaced> {
        (
            "[a-z0-9]{0,8}",
            "\\PC{0,8}",
            any::<i32>(),
            any::<bool>(),
            proptest::collection::vec(line(), 0..4),
        )
            .prop_map(
                |(order_id, customer_id, total_cents, web, lines)| v1::OrderPlaced {
                    order_id,
                    customer_id,
                    total_cents,
                    channel: if web {
                        v1::Channel::Web
                    } else {
                        v1::Channel::Store
                    },
                    lines,
                },
            )
    }

    proptest! {
        #[test]
        fn chain_equals_steps(old in order()) {
            let bytes = eventschema::Event::encode(&old).unwrap();
            let chained = decode_any(1, &bytes).unwrap();
            let stepwise = v3::OrderPlaced::from(v2::OrderPlaced::from(old.clone()));
            prop_assert_eq!(&chained, &stepwise);
            let json = serde_json::to_string(&old).unwrap();
            let by_serde: OrderPlaced = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&by_serde, &stepwise);
        }
    }
}

/// JSON Schema shapes beyond plain objects (`fixtures/json-shapes`): unions, `allOf`, maps,
/// tuples, and bounds refused on decode (and on encode).
mod json_shapes {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    include!(concat!(env!("OUT_DIR"), "/json_shapes_generated.rs"));

    use std::collections::BTreeMap;

    use eventschema::Event;
    use serde_json::{Value, json};
    use shapes_payment_made::v1::{
        PaymentMade, PaymentMadeMethod, PaymentMadeMethodCard, PaymentMadeReference,
    };
    use shapes_position_reported::PositionReported;

    fn payment() -> Value {
        json!({
            "paymentId": "6c1f8a52-8f4e-4c1e-9a55-0d1f2b3c4d5e",
            "amount": 12.5,
            "quantity": 2,
            "note": "héllo",
            "method": {"kind": "card", "last4": "4242"},
            "reference": "INV-7",
            "labels": {"a": "xyz"},
            "metrics": {"m_cpu": 3},
            "point": [1.5, "ab"],
            "tags": ["t"],
            "loose": ["x", 1],
            "either": {"a": "1"},
            "extraCount": 42
        })
    }

    fn decode(value: &Value) -> Result<PaymentMade, eventschema::CodecError> {
        PaymentMade::decode(value.to_string().as_bytes())
    }

    #[test]
    fn every_shape_round_trips() {
        let event = decode(&payment()).unwrap();
        assert_eq!(
            event.method,
            PaymentMadeMethod::Card(PaymentMadeMethodCard {
                last4: "4242".into()
            })
        );
        assert_eq!(
            event.reference,
            Some(PaymentMadeReference::String("INV-7".into()))
        );
        assert_eq!(event.point, Some((1.5, "ab".to_owned())));
        assert_eq!(event.labels.as_ref().unwrap()["a"], "xyz");
        assert_eq!(event.metrics.as_ref().unwrap()["m_cpu"], 3);
        assert_eq!(
            event.additional_properties,
            BTreeMap::from([("extraCount".to_owned(), 42)])
        );
        assert_eq!(
            event.payment_id.to_string(),
            "6c1f8a52-8f4e-4c1e-9a55-0d1f2b3c4d5e"
        );
        let bytes = event.encode().unwrap();
        let again: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(again, payment());
        assert_eq!(PaymentMade::decode(&bytes).unwrap(), event);

        let mut bank = payment();
        bank["method"] = json!({"kind": "bank", "iban": "DE00"});
        bank["reference"] = json!(7);
        let event = decode(&bank).unwrap();
        assert!(matches!(event.method, PaymentMadeMethod::Bank(_)));
        assert_eq!(event.reference, Some(PaymentMadeReference::Integer(7)));

        let position =
            PositionReported::decode(json!({"at": [45.0, 7.5]}).to_string().as_bytes()).unwrap();
        assert_eq!(position.at, (45.0, 7.5));
        assert_eq!(
            serde_json::from_slice::<Value>(&position.encode().unwrap()).unwrap(),
            json!({"at": [45.0, 7.5]})
        );
    }

    /// Each change puts one value outside one bound; decode must name the field and bound.
    #[test]
    fn out_of_bounds_values_are_refused_on_decode_by_path_and_bound() {
        let cases: [(&str, Value, &str, &str); 12] = [
            ("/amount", json!(0), "/amount", "exclusiveMinimum"),
            ("/amount", json!(10000.5), "/amount", "maximum"),
            ("/amount", json!(1.005), "/amount", "multipleOf"),
            ("/quantity", json!(0), "/quantity", "minimum"),
            ("/note", json!("ééééé€"), "/note", "maxLength"),
            ("/note", json!(""), "/note", "minLength"),
            ("/method/last4", json!("42"), "/method/last4", "minLength"),
            ("/reference", json!("123456789"), "/reference", "maxLength"),
            ("/labels/a", json!("long"), "/labels/a", "maxLength"),
            ("/metrics/m_cpu", json!(10), "/metrics/m_cpu", "maximum"),
            ("/tags", json!(["a", "b", "c"]), "/tags", "maxItems"),
            ("/extraCount", json!(101), "/extraCount", "maximum"),
        ];
        for (pointer, bad, path, keyword) in cases {
            let mut value = payment();
            *value.pointer_mut(pointer).unwrap() = bad.clone();
            let error = decode(&value).expect_err(pointer).to_string();
            assert!(
                error.contains(&format!("'{path}'")) && error.contains(keyword),
                "{pointer} = {bad}: {error}"
            );
        }
        let mut value = payment();
        value["point"] = json!([1.5, "abc"]);
        let error = decode(&value).unwrap_err().to_string();
        assert!(
            error.contains("'/point/1'") && error.contains("maxLength"),
            "{error}"
        );

        let error = PositionReported::decode(json!({"at": [91.0, 0.0]}).to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("'/at/0'") && error.contains("maximum"),
            "{error}"
        );
    }

    #[test]
    fn lengths_count_code_points_not_bytes() {
        // Five characters, ten bytes: within maxLength 5.
        let mut value = payment();
        value["note"] = json!("ééééé");
        assert!(decode(&value).is_ok());
    }

    #[test]
    fn out_of_bounds_values_are_refused_on_encode() {
        let mut event = decode(&payment()).unwrap();
        event.quantity = Some(0);
        let error = event.encode().unwrap_err().to_string();
        assert!(
            error.contains("'/quantity'") && error.contains("minimum"),
            "{error}"
        );
        assert!(event.check().is_err());
    }

    #[test]
    fn a_union_without_a_discriminator_stays_a_value() {
        let event = decode(&payment()).unwrap();
        let either: &Value = &event.either;
        assert_eq!(either, &json!({"a": "1"}));
        let loose: &Value = &event.loose;
        assert_eq!(loose, &json!(["x", 1]));
    }
}
