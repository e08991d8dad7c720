//! Logging: JSON lines in Lambda (CloudWatch), readable text elsewhere. `RUST_LOG` filters
//! Deskmate's own logs; the libraries that see raw traffic are capped at `info` whatever it says.
//!
//! At `debug` and `trace` those libraries log what passes through them: the AWS SDK logs every
//! request and response with its body (DynamoDB items hold a store's webhook signing secret,
//! Secrets Manager answers hold API tokens), the Lambda runtime logs the raw invocation event
//! (with the caller's `Authorization` and `X-API-Key` headers), and the HTTP stack logs headers.
//! None of that may reach the logs, so [`log_filter`] caps them below `debug` for every
//! `RUST_LOG`, however specific its directives are.

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Log targets (prefixes of them) that see raw requests, responses or invocation events: the
/// AWS SDK and Smithy runtime (`aws_…`), the Lambda runtime, and the HTTP and TLS stack.
pub const RAW_TRAFFIC_TARGETS: &[&str] = &[
    "aws_",
    "lambda_runtime",
    "lambda_http",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
    "tokio_rustls",
    "tower",
    "axum",
    "http_body",
];

/// The most these targets may log, whatever `RUST_LOG` says.
pub const RAW_TRAFFIC_MAX_LEVEL: LevelFilter = LevelFilter::INFO;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line (CloudWatch).
    Json,
    /// Readable text (a terminal).
    Text,
}

impl LogFormat {
    /// JSON inside Lambda, text elsewhere.
    pub fn detect() -> Self {
        if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            LogFormat::Json
        } else {
            LogFormat::Text
        }
    }
}

/// The filter every function logs through: `rust_log` (the value of `RUST_LOG`; `default_filter`
/// when it is absent, empty or invalid), with [`RAW_TRAFFIC_TARGETS`] capped at
/// [`RAW_TRAFFIC_MAX_LEVEL`] on top of it.
pub fn log_filter<S>(
    rust_log: Option<&str>,
    default_filter: &str,
) -> impl Filter<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let wanted = rust_log
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let cap = RAW_TRAFFIC_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |cap, target| cap.with_target(*target, RAW_TRAFFIC_MAX_LEVEL),
    );
    wanted.and(cap)
}

/// The subscriber the functions log through, writing `format` lines to `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    rust_log: Option<&str>,
    default_filter: &str,
    writer: W,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .without_time()
            .with_ansi(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(writer)
            .boxed(),
    };
    tracing_subscriber::registry().with(lines.with_filter(log_filter(rust_log, default_filter)))
}

/// Sends this thread's logs through [`subscriber`] until the guard drops (with a current-thread
/// runtime, so do the tasks it runs): how tests see what production would log while other
/// tests run on other threads.
pub fn log_this_thread_to<W>(
    format: LogFormat,
    rust_log: Option<&str>,
    default_filter: &str,
    writer: W,
) -> ThreadLogs
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // While a single dispatcher is registered, `tracing` decides whether a callsite is enabled
    // by asking only the default of the thread that reaches it first: another test's thread,
    // with no subscriber, would switch the callsite off for this one too. A second (silent)
    // dispatcher makes it ask every registered one.
    let spare = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
    let ours =
        tracing::subscriber::set_default(subscriber(format, rust_log, default_filter, writer));
    tracing::callsite::rebuild_interest_cache();
    ThreadLogs {
        _ours: ours,
        _spare: spare,
    }
}

/// This thread's logs go to a test's subscriber while it lives; see [`log_this_thread_to`].
pub struct ThreadLogs {
    // Dropped in this order: the subscriber, then the spare dispatcher under it.
    _ours: tracing::subscriber::DefaultGuard,
    _spare: tracing::subscriber::DefaultGuard,
}

pub fn init_tracing() {
    init_tracing_with("info");
}

/// Like [`init_tracing`], with `default_filter` when `RUST_LOG` is not set.
pub fn init_tracing_with(default_filter: &str) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let result = subscriber(
        LogFormat::detect(),
        rust_log.as_deref(),
        default_filter,
        std::io::stdout,
    )
    .try_init();
    // Already initialised (tests, or the CLI running several functions in one process).
    drop(result);
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_under(rust_log: &str) -> String {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = subscriber(LogFormat::Json, Some(rust_log), "info", move || {
            writer.clone()
        });
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "raw body trace");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "raw body debug");
            tracing::trace!(target: "aws_sdk_dynamodb::operation", "raw body trace");
            tracing::trace!(target: "aws_sigv4::http_request", "raw body trace");
            tracing::trace!(target: "lambda_runtime::layers::api_response", "raw body trace");
            tracing::debug!(target: "lambda_http", "raw body debug");
            tracing::trace!(target: "hyper_util::client::legacy", "raw body trace");
            tracing::trace!(target: "reqwest::connect", "raw body trace");
            tracing::trace!(target: "rustls::client", "raw body trace");
            tracing::warn!(target: "aws_smithy_runtime::client::orchestrator", "sdk warning");
            tracing::trace!(target: "deskmate_shared::widget_path", "own trace");
            tracing::debug!(target: "reply_worker", "own debug");
        });
        String::from_utf8(lines.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn raw_traffic_never_logs_below_info_whatever_rust_log_says() {
        for rust_log in [
            "trace",
            "debug",
            "aws_smithy_runtime=trace,lambda_runtime=trace,hyper=trace",
            "aws_smithy_runtime::client::orchestrator=trace,aws_sigv4::http_request=trace,lambda_runtime::layers::api_response=trace,trace",
            "[{body}]=trace,trace",
        ] {
            let logged = logged_under(rust_log);
            assert!(!logged.contains("raw body"), "{rust_log}: {logged}");
            assert!(logged.contains("sdk warning"), "{rust_log}: {logged}");
        }
        let logged = logged_under("trace");
        assert!(
            logged.contains("own trace") && logged.contains("own debug"),
            "{logged}"
        );
        let logged = logged_under("info");
        assert!(!logged.contains("own debug"), "{logged}");
    }

    #[test]
    fn an_invalid_or_empty_rust_log_falls_back_to_the_default() {
        for rust_log in ["", "  ", "=[nonsense"] {
            let logged = logged_under(rust_log);
            assert!(logged.contains("sdk warning"), "{rust_log:?}: {logged}");
            assert!(!logged.contains("own trace"), "{rust_log:?}: {logged}");
        }
    }
}
