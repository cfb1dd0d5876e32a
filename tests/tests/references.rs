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
