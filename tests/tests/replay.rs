//! Event-sourcing replay: a stored stream written over the years by producers of versions
//! 1, 2 and 3 is replayed through each subject's `Event::decode_version` (the generated
//! upcaster chain) and folds into exactly the state that the same history written with the
//! newest versions only produces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

include!(concat!(env!("OUT_DIR"), "/eventschema_generated.rs"));

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use eventschema::Event;
use inventory_stock_released::StockReleased;
use inventory_stock_reserved::StockReserved;
use orders_order_cancelled::OrderCancelled;
use orders_order_placed::OrderPlaced;

/// One row of the event store: what the envelope says (subject, version) and the payload.
#[derive(Debug, Clone)]
struct Stored {
    subject: &'static str,
    version: u32,
    bytes: Vec<u8>,
}

fn stored<E: Event>(event: &E) -> Stored {
    Stored {
        subject: E::SUBJECT,
        version: E::VERSION,
        bytes: event.encode().unwrap(),
    }
}

/// The newest type of each subject of the stream.
#[derive(Debug)]
enum Fact {
    Placed(OrderPlaced),
    Cancelled(OrderCancelled),
    Reserved(StockReserved),
    Released(StockReleased),
}

fn read(row: &Stored) -> Fact {
    let (version, bytes) = (row.version, row.bytes.as_slice());
    match row.subject {
        OrderPlaced::SUBJECT => Fact::Placed(OrderPlaced::decode_version(version, bytes).unwrap()),
        OrderCancelled::SUBJECT => {
            Fact::Cancelled(OrderCancelled::decode_version(version, bytes).unwrap())
        }
        StockReserved::SUBJECT => {
            Fact::Reserved(StockReserved::decode_version(version, bytes).unwrap())
        }
        StockReleased::SUBJECT => {
            Fact::Released(StockReleased::decode_version(version, bytes).unwrap())
        }
        other => panic!("unexpected subject {other}"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct OrderView {
    buyer: String,
    total_cents: i64,
    currency: String,
    units: i64,
    status: String,
}

/// The state the read side rebuilds from the stream.
#[derive(Debug, Default, PartialEq, Eq)]
struct State {
    orders: BTreeMap<String, OrderView>,
    /// Units reserved per (warehouse, sku).
    reserved: BTreeMap<(String, String), i64>,
    /// Open reservations: id -> (warehouse, sku).
    reservations: BTreeMap<String, (String, String)>,
    released: BTreeMap<String, String>,
}

impl State {
    fn apply(&mut self, fact: Fact) {
        match fact {
            Fact::Placed(e) => {
                self.orders.insert(
                    e.order_id,
                    OrderView {
                        buyer: e.buyer_id,
                        total_cents: e.total_cents,
                        currency: e.currency,
                        units: e.lines.iter().map(|l| i64::from(l.quantity)).sum(),
                        status: format!("placed via {:?}", e.channel),
                    },
                );
            }
            Fact::Cancelled(e) => {
                let order = self.orders.get_mut(&e.order_id).unwrap();
                order.status = format!("cancelled ({:?}) at {}", e.reason_code, e.cancelled_at);
            }
            Fact::Reserved(e) => {
                let at = (e.location.warehouse, e.sku);
                *self.reserved.entry(at.clone()).or_default() += e.quantity;
                self.reservations.insert(e.reservation_id, at);
            }
            Fact::Released(e) => {
                let at = self.reservations.remove(&e.reservation_id).unwrap();
                *self.reserved.get_mut(&at).unwrap() -= e.quantity;
                self.released
                    .insert(e.reservation_id, format!("{:?}", e.reason));
            }
        }
    }

    fn replay(stream: &[Stored]) -> State {
        let mut state = State::default();
        for row in stream {
            state.apply(read(row));
        }
        state
    }
}

fn at(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap()
}

/// The history as it was written: each producer at the version it had then.
fn mixed_stream() -> Vec<Stored> {
    use inventory_stock_released::v1 as released_v1;
    use inventory_stock_reserved::{v1 as reserved_v1, v2 as reserved_v2};
    use orders_order_cancelled::v1 as cancelled_v1;
    use orders_order_placed::{v1 as placed_v1, v2 as placed_v2};
    vec![
        stored(&placed_v1::OrderPlaced {
            order_id: "o1".into(),
            customer_id: "ada".into(),
            total_cents: 1_200,
            channel: placed_v1::Channel::Store,
            lines: vec![placed_v1::OrderLine {
                sku: "book".into(),
                quantity: 2,
            }],
        }),
        stored(&reserved_v1::StockReserved {
            reservation_id: "r1".into(),
            sku: "book".into(),
            quantity: 2,
            warehouse: "east".into(),
        }),
        stored(&placed_v2::OrderPlaced {
            order_id: "o2".into(),
            customer_id: "bob".into(),
            total_cents: 5_000_000_000,
            currency: "USD".into(),
            notes: Some("gift".into()),
            channel: placed_v2::Channel::Web,
            lines: vec![placed_v2::OrderLine {
                sku: "lamp".into(),
                quantity: 1,
            }],
        }),
        stored(&reserved_v2::StockReserved {
            reservation_id: "r2".into(),
            sku: "lamp".into(),
            quantity: 1,
            warehouse: "west".into(),
            expires_at: Some(at(1_700_000_000_000)),
        }),
        stored(&cancelled_v1::OrderCancelled {
            order_id: "o1".into(),
            reason: "changed my mind".into(),
            cancelled_at: at(1_700_000_100_000),
        }),
        stored(&released_v1::StockReleased {
            reservation_id: "r1".into(),
            quantity: 2,
            reason: released_v1::ReleaseReason::Cancelled,
        }),
        stored(&newest_placed_o3()),
        stored(&StockReserved {
            reservation_id: "r3".into(),
            sku: "book".into(),
            quantity: 4,
            expires_at: None,
            location: inventory_stock_reserved::v3::Location {
                warehouse: "north".into(),
                bin: Some("B7".into()),
            },
        }),
    ]
}

fn newest_placed_o3() -> OrderPlaced {
    OrderPlaced {
        order_id: "o3".into(),
        buyer_id: "cy".into(),
        total_cents: 800,
        currency: "GBP".into(),
        notes: None,
        channel: orders_order_placed::v3::Channel::Mobile,
        lines: vec![orders_order_placed::v3::OrderLine {
            sku: "book".into(),
            quantity: 4,
        }],
        attributes: BTreeMap::from([("coupon".into(), "X".into())]),
    }
}

/// The same history had every producer been on the newest version, written out by hand
/// with what each upcast promises: defaults for added fields (`currency` EUR, `location`
/// "main" for the removed `warehouse`, `reason_code` CUSTOMER_REQUEST), renames
/// (`customer_id` -> `buyer_id`) and promotions (`int` -> `long`).
fn newest_stream() -> Vec<Stored> {
    use inventory_stock_released::v2::ReleaseReason;
    use inventory_stock_reserved::v3::Location;
    use orders_order_cancelled::v3::CancelReason;
    use orders_order_placed::v3::{Channel, OrderLine};
    let main = || Location {
        warehouse: "main".into(),
        bin: None,
    };
    vec![
        stored(&OrderPlaced {
            order_id: "o1".into(),
            buyer_id: "ada".into(),
            total_cents: 1_200,
            currency: "EUR".into(),
            notes: None,
            channel: Channel::Store,
            lines: vec![OrderLine {
                sku: "book".into(),
                quantity: 2,
            }],
            attributes: BTreeMap::new(),
        }),
        stored(&StockReserved {
            reservation_id: "r1".into(),
            sku: "book".into(),
            quantity: 2,
            expires_at: None,
            location: main(),
        }),
        stored(&OrderPlaced {
            order_id: "o2".into(),
            buyer_id: "bob".into(),
            total_cents: 5_000_000_000,
            currency: "USD".into(),
            notes: Some("gift".into()),
            channel: Channel::Web,
            lines: vec![OrderLine {
                sku: "lamp".into(),
                quantity: 1,
            }],
            attributes: BTreeMap::new(),
        }),
        stored(&StockReserved {
            reservation_id: "r2".into(),
            sku: "lamp".into(),
            quantity: 1,
            expires_at: Some(at(1_700_000_000_000)),
            location: main(),
        }),
        stored(&OrderCancelled {
            order_id: "o1".into(),
            reason_code: CancelReason::CustomerRequest,
            cancelled_at: at(1_700_000_100_000),
        }),
        stored(&StockReleased {
            reservation_id: "r1".into(),
            quantity: 2,
            reason: ReleaseReason::Cancelled,
        }),
        stored(&newest_placed_o3()),
        stored(&StockReserved {
            reservation_id: "r3".into(),
            sku: "book".into(),
            quantity: 4,
            expires_at: None,
            location: Location {
                warehouse: "north".into(),
                bin: Some("B7".into()),
            },
        }),
    ]
}

#[test]
fn replaying_a_mixed_version_stream_rebuilds_the_newest_version_state() {
    let mixed = mixed_stream();
    let versions: Vec<(&str, u32)> = mixed.iter().map(|r| (r.subject, r.version)).collect();
    // The stream really mixes versions, the newest ones included.
    assert!(versions.contains(&("orders.order-placed", 1)));
    assert!(versions.contains(&("orders.order-placed", 2)));
    assert!(versions.contains(&("orders.order-placed", 3)));
    assert!(versions.contains(&("inventory.stock-reserved", 1)));
    assert!(versions.contains(&("inventory.stock-reserved", 2)));
    let newest = newest_stream();
    assert!(newest.iter().all(|r| match r.subject {
        "orders.order-placed" => r.version == 3,
        "orders.order-cancelled" => r.version == 3,
        "inventory.stock-reserved" => r.version == 3,
        "inventory.stock-released" => r.version == 2,
        _ => false,
    }));

    let rebuilt = State::replay(&mixed);
    assert_eq!(rebuilt, State::replay(&newest));

    // And the state is the one the history describes.
    assert_eq!(rebuilt.orders["o1"].buyer, "ada");
    assert_eq!(rebuilt.orders["o1"].currency, "EUR");
    assert!(
        rebuilt.orders["o1"]
            .status
            .starts_with("cancelled (CustomerRequest)")
    );
    assert_eq!(rebuilt.orders["o2"].total_cents, 5_000_000_000);
    assert_eq!(rebuilt.orders["o3"].units, 4);
    assert_eq!(
        rebuilt.reserved,
        BTreeMap::from([
            (("main".into(), "book".into()), 0),
            (("main".into(), "lamp".into()), 1),
            (("north".into(), "book".into()), 4),
        ])
    );
    assert_eq!(
        rebuilt.reservations.keys().collect::<Vec<_>>(),
        vec!["r2", "r3"]
    );
}

#[test]
fn replay_from_a_snapshot_equals_a_full_replay() {
    // A projection snapshotted midway and resumed from the stream's tail ends in the same
    // state: the fold depends only on the upcast facts, not on where replay started.
    let stream = mixed_stream();
    let (head, tail) = stream.split_at(4);
    let mut resumed = State::replay(head);
    for row in tail {
        resumed.apply(read(row));
    }
    assert_eq!(resumed, State::replay(&stream));
}
