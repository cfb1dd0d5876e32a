//! Upcast on consume: a bus handler for the newest generated type of a subject receives
//! events that producers published as version 1, 2 and 3, each upcast through the
//! subject's `decode_any` (`Event::decode_version`), with no upcaster registered on the bus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

include!(concat!(env!("OUT_DIR"), "/eventschema_generated.rs"));

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use eventschema::{Bus, BusConfig, Event};
use orders_order_placed::{OrderPlaced, v1, v2, v3};

fn newest(order_id: &str, total_cents: i64, currency: &str, channel: v3::Channel) -> OrderPlaced {
    OrderPlaced {
        order_id: order_id.into(),
        buyer_id: "c1".into(),
        total_cents,
        currency: currency.into(),
        notes: None,
        channel,
        lines: vec![],
        attributes: BTreeMap::new(),
    }
}

#[tokio::test]
async fn a_handler_of_the_newest_type_receives_every_published_version() {
    let bus = Bus::new(BusConfig::default());
    // Producers of older versions: their schemas are known to the bus (embedded mode).
    bus.catalog().register_event::<v1::OrderPlaced>().unwrap();
    bus.catalog().register_event::<v2::OrderPlaced>().unwrap();
    let got: Arc<Mutex<Vec<OrderPlaced>>> = Arc::default();
    let sink = got.clone();
    bus.subscribe("billing")
        .on(move |order: OrderPlaced, _| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(order);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    bus.publish(&v1::OrderPlaced {
        order_id: "a".into(),
        customer_id: "c1".into(),
        total_cents: 100,
        channel: v1::Channel::Web,
        lines: vec![],
    })
    .await
    .unwrap();
    bus.publish(&v2::OrderPlaced {
        order_id: "b".into(),
        customer_id: "c1".into(),
        total_cents: 5_000_000_000,
        currency: "USD".into(),
        notes: None,
        channel: v2::Channel::Store,
        lines: vec![],
    })
    .await
    .unwrap();
    bus.publish(&newest("c", 7, "GBP", v3::Channel::Mobile))
        .await
        .unwrap();
    bus.flush().await;
    let mut got = got.lock().unwrap().clone();
    got.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    assert_eq!(
        got,
        vec![
            newest("a", 100, "EUR", v3::Channel::Web),
            newest("b", 5_000_000_000, "USD", v3::Channel::Store),
            newest("c", 7, "GBP", v3::Channel::Mobile),
        ]
    );
    assert!(
        bus.dead_letters()
            .list(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[test]
fn older_generated_types_read_only_their_own_version() {
    let bytes = newest("x", 1, "EUR", v3::Channel::Web).encode().unwrap();
    let error = v2::OrderPlaced::decode_version(3, &bytes).unwrap_err();
    assert!(
        error.0.contains("is version 2 and cannot read version 3"),
        "{error:?}"
    );
    assert_eq!(
        OrderPlaced::decode_version(3, &bytes).unwrap(),
        newest("x", 1, "EUR", v3::Channel::Web)
    );
}
