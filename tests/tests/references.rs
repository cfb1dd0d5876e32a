//! Subjects that reference a shared subject's type (`fixtures/shared-references`): the
//! shared type is one Rust type, generated in its own subject's module, and the referrers'
//! payloads round-trip through their generated codecs with it inside.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod generated {
    #![allow(clippy::all, clippy::pedantic)]
    include!(concat!(env!("OUT_DIR"), "/shared_references_generated.rs"));
}

use eventschema::Event;
use generated::{billing_invoice_sent, orders_order_placed, shop_address};

/// Takes the shared subject's own type: both referrers' fields must be this very type.
fn city(address: &shop_address::v1::Address) -> &str {
    &address.city
}

fn address(street: &str, kind: shop_address::v1::AddressKind) -> shop_address::v1::Address {
    shop_address::v1::Address {
        street: street.to_owned(),
        city: "Lyon".to_owned(),
        kind,
    }
}

#[test]
fn referrers_hold_the_shared_type_itself() {
    let placed = orders_order_placed::v2::OrderPlaced {
        order_id: "o-1".to_owned(),
        ship_to: address("1 rue A", shop_address::v1::AddressKind::Home),
        bill_to: Some(address("2 rue B", shop_address::v1::AddressKind::Work)),
    };
    let invoice = billing_invoice_sent::v1::InvoiceSent {
        invoice_id: 7,
        addresses: vec![placed.ship_to.clone()],
    };
    assert_eq!(city(&placed.ship_to), "Lyon");
    assert_eq!(city(&invoice.addresses[0]), "Lyon");
    assert_eq!(placed.ship_to, invoice.addresses[0]);
}

#[test]
fn a_referrer_round_trips_and_its_bytes_hold_the_shared_record_inline() {
    let invoice = billing_invoice_sent::v1::InvoiceSent {
        invoice_id: 7,
        addresses: vec![
            address("1 rue A", shop_address::v1::AddressKind::Home),
            address("2 rue B", shop_address::v1::AddressKind::Work),
        ],
    };
    let bytes = invoice.encode().unwrap();
    assert_eq!(
        billing_invoice_sent::v1::InvoiceSent::decode(&bytes).unwrap(),
        invoice
    );
    // The Avro body of the first address is exactly what the shared subject writes.
    let first = invoice.addresses[0].encode().unwrap();
    let at = bytes
        .windows(first.len())
        .position(|window| window == first.as_slice());
    assert!(at.is_some(), "{bytes:?} does not contain {first:?}");
}

#[test]
fn the_upcaster_across_the_shared_type_is_derived() {
    let old = orders_order_placed::v1::OrderPlaced {
        order_id: "o-1".to_owned(),
        ship_to: address("1 rue A", shop_address::v1::AddressKind::Work),
    };
    let bytes = old.encode().unwrap();
    let newest = orders_order_placed::decode_any(1, &bytes).unwrap();
    assert_eq!(newest.ship_to, old.ship_to);
    assert_eq!(newest.bill_to, None);
    assert_eq!(
        <orders_order_placed::OrderPlaced as Event>::decode_version(1, &bytes).unwrap(),
        newest
    );
}

#[tokio::test]
async fn a_referrer_is_validated_published_and_handled_on_the_bus() {
    // The bus validates with `Event::SCHEMA` alone (no registry to resolve references):
    // the referrer's text carries the shared types inline.
    assert!(
        <orders_order_placed::v2::OrderPlaced as Event>::SCHEMA.contains("\"name\":\"Address\""),
        "{}",
        <orders_order_placed::v2::OrderPlaced as Event>::SCHEMA
    );
    let bus = eventschema::Bus::new(eventschema::BusConfig::default());
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    bus.subscribe("shipping")
        .on(move |order: orders_order_placed::v2::OrderPlaced, _| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(order);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    let placed = orders_order_placed::v2::OrderPlaced {
        order_id: "o-9".to_owned(),
        ship_to: address("9 rue C", shop_address::v1::AddressKind::Home),
        bill_to: None,
    };
    bus.publish(&placed).await.unwrap();
    bus.flush().await;
    assert_eq!(*got.lock().unwrap(), vec![placed]);
}
