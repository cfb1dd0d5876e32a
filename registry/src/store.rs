//! Persistent storage of schemas, subject versions, references and settings, on SQLite or
//! PostgreSQL through sqlx's `Any` driver, so both back ends share every query.
//!
//! Writes go through [`WriteTx`]: one transaction that first takes the store-wide write lock
//! (an in-process mutex plus `BEGIN IMMEDIATE` on SQLite; a transaction-scoped advisory lock
//! on PostgreSQL). That serialises writers across every registry process sharing the
//! database, the way Confluent's single leader does, so version numbers and ids can be
//! computed as "highest + 1" without gaps, duplicates or retry storms, and a compatibility
//! check always sees the versions it is about to extend.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventschema_core::{CompatibilityLevel, Reference, SchemaType};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row, SqlSafeStr, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::mode::Mode;

/// A storage failure. The registry answers these with error code 50001.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "unsupported database URL '{0}': expected sqlite://PATH, sqlite::memory: or postgres://..."
    )]
    UnsupportedUrl(String),
    #[error("could not create the database folder {path}: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Which SQL engine is behind the pool: decides the few statements whose syntax differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A schema as stored under its global id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchema {
    pub id: i64,
    pub schema_type: SchemaType,
    pub schema: String,
    pub references: Vec<Reference>,
}

/// One version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub subject: String,
    pub version: i64,
    pub schema_id: i64,
    pub deleted: bool,
    pub created_at_ms: i64,
}

/// Settings of one scope (a subject, or the global scope `""`). `None` = not set here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub compatibility: Option<CompatibilityLevel>,
    pub normalize: Option<bool>,
    pub mode: Option<Mode>,
}

/// The scope name of global settings; no valid subject is empty.
pub const GLOBAL_SCOPE: &str = "";

/// The storage handle shared by all request handlers.
#[derive(Debug)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// Serialises writers inside this process; SQLite would otherwise answer BUSY to
    /// concurrent `BEGIN IMMEDIATE`s after its busy timeout.
    local_writer: Mutex<()>,
}

fn migrations(dialect: Dialect) -> Migrator {
    let initial = match dialect {
        Dialect::Sqlite => include_str!("../migrations/sqlite/0001_initial.sql"),
        Dialect::Postgres => include_str!("../migrations/postgres/0001_initial.sql"),
    };
    let migration = Migration::new(
        1,
        Cow::Borrowed("initial"),
        MigrationType::Simple,
        AssertSqlSafe(initial).into_sql_str(),
        false,
    );
    Migrator {
        migrations: Cow::Owned(vec![migration]),
        ..Migrator::DEFAULT
    }
}

/// Turns a user-facing SQLite URL into one sqlx opens in create mode, creating the folder.
fn prepare_sqlite_url(url: &str) -> Result<(String, bool), StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let in_memory = path == ":memory:" || query.is_some_and(|q| q.contains("mode=memory"));
    if in_memory {
        return Ok((url.to_owned(), true));
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateFolder {
            path: parent.display().to_string(),
            source,
        })?;
    }
    let url = match query {
        Some(query) if query.contains("mode=") => url.to_owned(),
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    };
    Ok((url, false))
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies the embedded migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let pool = match dialect {
            Dialect::Sqlite => {
                let (url, in_memory) = prepare_sqlite_url(url)?;
                let options = AnyConnectOptions::from_str(&url)?;
                let mut pool_options = AnyPoolOptions::new().after_connect(|conn, _meta| {
                    Box::pin(async move {
                        // NORMAL is durable across process crashes in WAL mode; a
                        // busy timeout covers other processes on the same file.
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        Ok(())
                    })
                });
                if in_memory {
                    // Every connection to `:memory:` is its own database: keep exactly one,
                    // forever.
                    pool_options = pool_options
                        .min_connections(1)
                        .max_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None);
                } else {
                    pool_options = pool_options.max_connections(8);
                }
                let pool = pool_options.connect_with(options).await?;
                if !in_memory {
                    // WAL is a property of the file: set once, before concurrent use.
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&pool)
                        .await?;
                }
                pool
            }
            Dialect::Postgres => {
                let options = AnyConnectOptions::from_str(url)?;
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?
            }
        };
        migrations(dialect).run(&pool).await?;
        Ok(Store {
            pool,
            dialect,
            local_writer: Mutex::new(()),
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write transaction holding the store-wide write lock.
    pub async fn write(&self) -> Result<WriteTx<'_>, StoreError> {
        let guard = self.local_writer.lock().await;
        let tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => {
                let mut tx = self.pool.begin().await?;
                // One fixed key: all registry writers on this database take turns.
                sqlx::query("SELECT pg_advisory_xact_lock(7218380061)")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        Ok(WriteTx { tx, _guard: guard })
    }

    /// A pooled connection for reads (see the query functions below).
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
        Ok(self.pool.acquire().await?)
    }
}

/// A write transaction holding the store-wide write lock until commit or drop (rollback).
#[derive(Debug)]
pub struct WriteTx<'a> {
    tx: Transaction<'static, sqlx::Any>,
    _guard: MutexGuard<'a, ()>,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// The transaction's connection, for the read queries of this module.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Stores a new schema under a fresh id (or `explicit_id`), returning the id.
    pub async fn insert_schema(
        &mut self,
        schema_type: SchemaType,
        schema: &str,
        references: &[Reference],
        content_key: &str,
        explicit_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        let next: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'next_schema_id'")
            .fetch_one(&mut *self.tx)
            .await?
            .try_get(0)?;
        let id = explicit_id.unwrap_or(next);
        let references_json = serde_json::to_string(references)
            .map_err(|err| StoreError::Corrupt(err.to_string()))?;
        sqlx::query(
            "INSERT INTO schemas (id, schema_type, schema_text, references_json, content_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(schema_type.as_str())
        .bind(schema)
        .bind(references_json)
        .bind(content_key)
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await?;
        for reference in references {
            sqlx::query(
                "INSERT INTO schema_references (schema_id, name, subject, version) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(&reference.name)
            .bind(&reference.subject)
            .bind(i64::from(reference.version))
            .execute(&mut *self.tx)
            .await?;
        }
        sqlx::query("UPDATE counters SET value = $1 WHERE name = 'next_schema_id'")
            .bind(next.max(id + 1))
            .execute(&mut *self.tx)
            .await?;
        Ok(id)
    }

    pub async fn insert_version(
        &mut self,
        subject: &str,
        version: i64,
        schema_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO versions (subject, version, schema_id, deleted, created_at) VALUES ($1, $2, $3, 0, $4)",
        )
        .bind(subject)
        .bind(version)
        .bind(schema_id)
        .bind(now_ms())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Marks versions deleted (soft delete); `None` = every version of the subject.
    pub async fn soft_delete(
        &mut self,
        subject: &str,
        version: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE versions SET deleted = 1 WHERE subject = $1 AND ($2 = 0 OR version = $2)",
        )
        .bind(subject)
        .bind(version.unwrap_or(0))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Removes version rows (hard delete), then every schema no version carries any more.
    pub async fn hard_delete(
        &mut self,
        subject: &str,
        version: Option<i64>,
    ) -> Result<Vec<i64>, StoreError> {
        sqlx::query("DELETE FROM versions WHERE subject = $1 AND ($2 = 0 OR version = $2)")
            .bind(subject)
            .bind(version.unwrap_or(0))
            .execute(&mut *self.tx)
            .await?;
        let orphans: Vec<i64> = sqlx::query(
            "SELECT id FROM schemas WHERE NOT EXISTS (SELECT 1 FROM versions WHERE versions.schema_id = schemas.id)",
        )
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        for id in &orphans {
            sqlx::query("DELETE FROM schema_references WHERE schema_id = $1")
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
            sqlx::query("DELETE FROM schemas WHERE id = $1")
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(orphans)
    }

    /// Replaces the settings of `scope`; a scope with nothing set is removed.
    pub async fn put_settings(
        &mut self,
        scope: &str,
        settings: &Settings,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM settings WHERE scope = $1")
            .bind(scope)
            .execute(&mut *self.tx)
            .await?;
        if settings != &Settings::default() {
            sqlx::query(
                "INSERT INTO settings (scope, compatibility, normalize, mode) VALUES ($1, $2, $3, $4)",
            )
            .bind(scope)
            .bind(settings.compatibility.map(|level| level.as_str()))
            .bind(settings.normalize.map(i64::from))
            .bind(settings.mode.map(|mode| mode.as_str()))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn version_row(row: &sqlx::any::AnyRow) -> Result<VersionRow, StoreError> {
    let deleted: i64 = row.try_get(3)?;
    Ok(VersionRow {
        subject: row.try_get(0)?,
        version: row.try_get(1)?,
        schema_id: row.try_get(2)?,
        deleted: deleted != 0,
        created_at_ms: row.try_get(4)?,
    })
}

pub async fn versions(
    conn: &mut AnyConnection,
    subject: &str,
) -> Result<Vec<VersionRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT subject, version, schema_id, deleted, created_at FROM versions \
         WHERE subject = $1 ORDER BY version",
    )
    .bind(subject)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(version_row).collect()
}

pub async fn schema_by_id(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<StoredSchema>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT id, schema_type, schema_text, references_json FROM schemas WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let schema_type: String = row.try_get(1)?;
    let references_json: String = row.try_get(3)?;
    Ok(Some(StoredSchema {
        id: row.try_get(0)?,
        schema_type: schema_type
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("schema {id} has type '{schema_type}'")))?,
        schema: row.try_get(2)?,
        references: serde_json::from_str(&references_json)
            .map_err(|err| StoreError::Corrupt(format!("references of schema {id}: {err}")))?,
    }))
}

pub async fn settings(conn: &mut AnyConnection, scope: &str) -> Result<Settings, StoreError> {
    let Some(row) =
        sqlx::query("SELECT compatibility, normalize, mode FROM settings WHERE scope = $1")
            .bind(scope)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(Settings::default());
    };
    let compatibility: Option<String> = row.try_get(0)?;
    let normalize: Option<i64> = row.try_get(1)?;
    let mode: Option<String> = row.try_get(2)?;
    Ok(Settings {
        compatibility: compatibility
            .map(|level| level.parse())
            .transpose()
            .map_err(|err| StoreError::Corrupt(format!("settings of '{scope}': {err}")))?,
        normalize: normalize.map(|flag| flag != 0),
        mode: mode
            .map(|mode| mode.parse())
            .transpose()
            .map_err(|err| StoreError::Corrupt(format!("settings of '{scope}': {err}")))?,
    })
}

pub async fn referenced_by(
    conn: &mut AnyConnection,
    subject: &str,
    version: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT r.schema_id FROM schema_references r \
         WHERE r.subject = $1 AND r.version = $2 \
         AND EXISTS (SELECT 1 FROM versions v WHERE v.schema_id = r.schema_id AND v.deleted = 0) \
         ORDER BY r.schema_id",
    )
    .bind(subject)
    .bind(version)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}

/// The live (or any, with `include_deleted`) version with the highest number.
pub async fn latest_version(
    conn: &mut AnyConnection,
    subject: &str,
    include_deleted: bool,
) -> Result<Option<VersionRow>, StoreError> {
    let row = sqlx::query(
        "SELECT subject, version, schema_id, deleted, created_at FROM versions \
         WHERE subject = $1 AND (deleted = 0 OR $2 = 1) ORDER BY version DESC LIMIT 1",
    )
    .bind(subject)
    .bind(i64::from(include_deleted))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| version_row(&row)).transpose()
}

/// One version by number, deleted or not.
pub async fn version(
    conn: &mut AnyConnection,
    subject: &str,
    version: i64,
) -> Result<Option<VersionRow>, StoreError> {
    let row = sqlx::query(
        "SELECT subject, version, schema_id, deleted, created_at FROM versions \
         WHERE subject = $1 AND version = $2",
    )
    .bind(subject)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| version_row(&row)).transpose()
}

/// Every subject version that carries schema `id`, in (subject, version) order.
pub async fn versions_of_schema(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Vec<VersionRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT subject, version, schema_id, deleted, created_at FROM versions \
         WHERE schema_id = $1 ORDER BY subject, version",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(version_row).collect()
}

/// Every version of every subject, in (subject, version) order.
pub async fn all_versions(conn: &mut AnyConnection) -> Result<Vec<VersionRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT subject, version, schema_id, deleted, created_at FROM versions \
         ORDER BY subject, version",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(version_row).collect()
}

/// Subjects with their number of live versions and of all versions.
pub async fn subjects(conn: &mut AnyConnection) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT subject, SUM(CASE WHEN deleted = 0 THEN 1 ELSE 0 END), COUNT(*) \
         FROM versions GROUP BY subject ORDER BY subject",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
        .collect()
}

/// (number of schemas, number of subjects with a live version), for metrics.
pub async fn counts(conn: &mut AnyConnection) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM schemas), \
                (SELECT COUNT(DISTINCT subject) FROM versions WHERE deleted = 0)",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The id of the schema with this content key, if stored.
pub async fn schema_id_by_content(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT id FROM schemas WHERE content_key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Whether any subject has ever had a version (for the IMPORT mode guard).
pub async fn has_any_version(
    conn: &mut AnyConnection,
    subject: Option<&str>,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM versions WHERE deleted = 0 AND ($1 = '' OR subject = $1)",
    )
    .bind(subject.unwrap_or(""))
    .fetch_one(&mut *conn)
    .await?;
    let count: i64 = row.try_get(0)?;
    Ok(count > 0)
}

/// The newest live version of `subject` that carries schema `schema_id`.
pub async fn live_version_with_schema(
    conn: &mut AnyConnection,
    subject: &str,
    schema_id: i64,
) -> Result<Option<VersionRow>, StoreError> {
    let row = sqlx::query(
        "SELECT subject, version, schema_id, deleted, created_at FROM versions \
         WHERE subject = $1 AND schema_id = $2 AND deleted = 0 ORDER BY version DESC LIMIT 1",
    )
    .bind(subject)
    .bind(schema_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| version_row(&row)).transpose()
}

/// The highest version number `subject` ever had that still has a row (0 when none):
/// soft-deleted versions count, so numbers never repeat.
pub async fn max_version(conn: &mut AnyConnection, subject: &str) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM versions WHERE subject = $1")
        .bind(subject)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get(0)?)
}

/// Live versions of `subject` in version order; only the newest with `newest_only`.
pub async fn live_versions(
    conn: &mut AnyConnection,
    subject: &str,
    newest_only: bool,
) -> Result<Vec<VersionRow>, StoreError> {
    if newest_only {
        return Ok(latest_version(conn, subject, false)
            .await?
            .into_iter()
            .collect());
    }
    let rows = sqlx::query(
        "SELECT subject, version, schema_id, deleted, created_at FROM versions \
         WHERE subject = $1 AND deleted = 0 ORDER BY version",
    )
    .bind(subject)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(version_row).collect()
}
