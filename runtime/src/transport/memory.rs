//! The in-process transport: one bounded queue per (group, lane), shared by the group's
//! instances. A worker holds its lane's receiver while it handles a message, so competing
//! instances never run two messages of one lane (hence of one key) at once, and order per
//! key holds across retries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, OwnedMutexGuard, mpsc};

use super::{Acker, Delivery, JoinSpec, Lane, Outgoing, Payload, Transport};
use crate::BoxFuture;
use crate::bus::WhenFull;
use crate::envelope::Envelope;
use crate::error::{PublishError, SubscribeError};
use crate::fnv::fnv;
use crate::subject::SubjectPattern;

type Item = Option<Arc<Envelope>>; // None: stop one worker

struct Shard {
    tx: mpsc::Sender<Item>,
    rx: Arc<Mutex<mpsc::Receiver<Item>>>,
}

struct Group {
    name: Arc<str>,
    patterns: Vec<String>,
    routes: Vec<SubjectPattern>,
    shards: Vec<Arc<Shard>>,
    instances: AtomicUsize,
}

#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    idle: Notify,
}

impl Pending {
    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

/// The embedded default transport: groups, competing instances and per-key lanes in
/// memory, no server. Messages live only as long as the process.
#[derive(Default)]
pub struct InProcess {
    groups: RwLock<Arc<Vec<Arc<Group>>>>,
    pending: Arc<Pending>,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("pending", &self.pending.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl InProcess {
    pub fn new() -> Self {
        Self::default()
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Group>>> {
        self.groups.read().map(|g| g.clone()).unwrap_or_default()
    }
}

impl Transport for InProcess {
    fn name(&self) -> &'static str {
        "in-process"
    }

    fn publish<'a>(&'a self, message: Outgoing<'a>) -> BoxFuture<'a, Result<usize, PublishError>> {
        Box::pin(async move {
            let groups = self.snapshot();
            let ty = message.envelope.ty();
            let hash = fnv(message.key.as_bytes());
            // Reserve room in every target first, so fail-fast enqueues everywhere or nowhere.
            let mut permits = Vec::with_capacity(groups.len());
            for group in groups.iter() {
                if message.only_group.is_some_and(|name| *group.name != *name)
                    || !group.routes.iter().any(|p| p.matches(ty))
                {
                    continue;
                }
                let index = usize::try_from(hash % group.shards.len().max(1) as u64).unwrap_or(0);
                let Some(shard) = group.shards.get(index) else {
                    continue;
                };
                let permit = match message.when_full {
                    WhenFull::Wait => shard.tx.reserve().await.map_err(|_| PublishError::Closed)?,
                    WhenFull::FailFast => shard.tx.try_reserve().map_err(|e| match e {
                        mpsc::error::TrySendError::Full(()) => {
                            PublishError::QueueFull(group.name.to_string())
                        }
                        mpsc::error::TrySendError::Closed(()) => PublishError::Closed,
                    })?,
                };
                permits.push(permit);
            }
            let count = permits.len();
            self.pending.count.fetch_add(count, Ordering::AcqRel);
            for permit in permits {
                permit.send(Some(message.envelope.clone()));
            }
            Ok(count)
        })
    }

    fn groups_for(&self, ty: &str) -> Vec<String> {
        self.snapshot()
            .iter()
            .filter(|g| g.routes.iter().any(|p| p.matches(ty)))
            .map(|g| g.name.to_string())
            .collect()
    }

    fn join<'a>(
        &'a self,
        spec: JoinSpec<'a>,
    ) -> BoxFuture<'a, Result<Vec<Box<dyn Lane>>, SubscribeError>> {
        let result = (|| {
            let patterns: Vec<String> = spec
                .patterns
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect();
            let mut groups = self.groups.write().map_err(|_| SubscribeError::Closed)?;
            let group = match groups.iter().find(|g| *g.name == *spec.group) {
                Some(group) if group.patterns != patterns => {
                    return Err(SubscribeError::GroupMismatch(spec.group.to_owned()));
                }
                Some(group) => group.clone(),
                None => {
                    let shards = (0..spec.lanes.max(1))
                        .map(|_| {
                            let (tx, rx) = mpsc::channel(spec.queue_capacity.max(1));
                            Arc::new(Shard {
                                tx,
                                rx: Arc::new(Mutex::new(rx)),
                            })
                        })
                        .collect();
                    let group = Arc::new(Group {
                        name: Arc::from(spec.group),
                        patterns,
                        routes: spec.patterns.to_vec(),
                        shards,
                        instances: AtomicUsize::new(0),
                    });
                    let mut next: Vec<Arc<Group>> = groups.iter().cloned().collect();
                    next.push(group.clone());
                    *groups = Arc::new(next);
                    group
                }
            };
            group.instances.fetch_add(1, Ordering::AcqRel);
            Ok(group
                .shards
                .iter()
                .map(|shard| {
                    Box::new(MemoryLane {
                        shard: shard.clone(),
                        pending: self.pending.clone(),
                        depth: 0,
                    }) as Box<dyn Lane>
                })
                .collect())
        })();
        Box::pin(std::future::ready(result))
    }

    fn flush(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            loop {
                let notified = self.pending.idle.notified();
                if self.pending.count.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // One stop marker per instance behind whatever is queued: lanes drain first.
            for group in self.snapshot().iter() {
                let instances = group.instances.load(Ordering::Acquire);
                for shard in &group.shards {
                    for _ in 0..instances {
                        let _ = shard.tx.send(None).await;
                    }
                }
            }
        })
    }
}

struct MemoryLane {
    shard: Arc<Shard>,
    pending: Arc<Pending>,
    depth: usize,
}

impl Lane for MemoryLane {
    fn next(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            let mut rx = self.shard.rx.clone().lock_owned().await;
            let Some(Some(envelope)) = rx.recv().await else {
                return None;
            };
            self.depth = rx.len();
            Some(Delivery {
                payload: Payload::Trusted(envelope.clone()),
                redeliveries: 0,
                acker: Box::new(MemoryAcker {
                    _lane: rx,
                    envelope,
                    tx: self.shard.tx.clone(),
                    pending: self.pending.clone(),
                }),
            })
        })
    }

    fn depth(&self) -> Option<usize> {
        Some(self.depth)
    }
}

struct MemoryAcker {
    /// Held until the delivery is settled: the lane stays serial across instances.
    _lane: OwnedMutexGuard<mpsc::Receiver<Item>>,
    envelope: Arc<Envelope>,
    tx: mpsc::Sender<Item>,
    pending: Arc<Pending>,
}

impl Acker for MemoryAcker {
    fn ack(self: Box<Self>) -> BoxFuture<'static, ()> {
        self.pending.done();
        Box::pin(std::future::ready(()))
    }

    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, ()> {
        // Not reached through the bus (no redelivery budget here); re-enqueues at the back.
        let MemoryAcker {
            _lane,
            envelope,
            tx,
            pending,
        } = *self;
        drop(_lane);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            if tx.send(Some(envelope)).await.is_err() {
                pending.done();
            }
        })
    }
}
