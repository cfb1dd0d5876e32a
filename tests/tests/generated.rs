//! The code generated from `schemas/` (by `build.rs`) compiles, implements `Event`, and
//! round-trips every version through JSON and through its own payload codec.
#![allow(clippy::unwrap_used, clippy::expect_used)]

include!(concat!(env!("OUT_DIR"), "/eventschema_generated.rs"));

use std::collections::BTreeMap;

use eventschema::Event;

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
        cancelled_at: 9,
    });
    round_trip(&cancelled::v2::OrderCancelled {
        order_id: "o".into(),
        reason_code: cancelled::v2::CancelReason::OutOfStock,
        cancelled_at: 9,
    });
    round_trip(&cancelled::v3::OrderCancelled {
        order_id: "o".into(),
        reason_code: cancelled::v3::CancelReason::PaymentFailed,
        cancelled_at: 9,
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
        expires_at: Some(5),
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
