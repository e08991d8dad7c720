//! Logging: JSON lines in Lambda (CloudWatch), readable text elsewhere. `RUST_LOG` filters.

use tracing_subscriber::EnvFilter;

pub fn init_tracing() {
    init_tracing_with("info");
}

/// Like [`init_tracing`], with `default_filter` when `RUST_LOG` is not set.
pub fn init_tracing_with(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let result = if in_lambda {
        builder
            .json()
            .with_current_span(true)
            .without_time()
            .with_ansi(false)
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
    // Already initialised (tests, or the CLI running several functions in one process).
    drop(result);
}
