use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use deskmate_cli::demo::{DEMO_STORE, DemoAccount, run_demo};
use secrecy::ExposeSecret;
use serde_json::json;

/// Deskmate: an AI teammate inside Zendesk. Operator and local-run commands.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the email path end to end in one process (sandbox, in-memory state, knowledge
    /// agent) and print the transcript.
    ///
    /// Example: deskmate demo
    Demo,
    /// Serve every Deskmate route on localhost with embedded defaults and the Zendesk sandbox.
    ///
    /// Example: deskmate dev --port 8080 --card card.json
    Dev {
        /// Port for Deskmate's routes (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Also write the URLs and tokens as JSON to this file.
        #[arg(long)]
        card: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's output is its transcript; logs would only clutter it.
    let default_logs = match cli.command {
        Command::Demo => "warn",
        Command::Dev { .. } => "info",
    };
    deskmate_shared::telemetry::init_tracing_with(default_logs);
    match cli.command {
        Command::Demo => match run_demo().await {
            Ok(transcript) => {
                print!("{transcript}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("deskmate demo failed: {err}");
                ExitCode::FAILURE
            }
        },
        Command::Dev { port, card } => dev(port, card).await,
    }
}

async fn dev(port: u16, card_path: Option<PathBuf>) -> ExitCode {
    let demo = match DemoAccount::start(&format!("127.0.0.1:{port}")).await {
        Ok(demo) => demo,
        Err(err) => {
            eprintln!("deskmate dev could not start: {err}");
            return ExitCode::FAILURE;
        }
    };
    demo.stack.spawn_worker_loop();
    let webhook_url = format!("{}/webhooks/zendesk/{DEMO_STORE}", demo.stack.url);
    let card = json!({
        "deskmate_url": demo.stack.url,
        "zendesk_sandbox_url": demo.sandbox.base_url(),
        "store_id": DEMO_STORE,
        "webhook_url": webhook_url,
        "webhook_bearer_token": demo.store.webhook_token.expose_secret(),
        "bot_user_id": demo.store.config.bot_user_id,
        "customer_user_id": demo.customer,
    });
    println!("Deskmate is serving on {}", demo.stack.url);
    println!("  Zendesk webhook:  POST {webhook_url}");
    println!(
        "  Bearer token:     {}",
        demo.store.webhook_token.expose_secret()
    );
    println!("  Zendesk sandbox:  {}", demo.sandbox.base_url());
    println!("Press Ctrl-C to stop.");
    if let Some(path) = card_path {
        let text = serde_json::to_string_pretty(&card).expect("serialises");
        if let Err(err) = std::fs::write(&path, text) {
            eprintln!("could not write the card to {}: {err}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
