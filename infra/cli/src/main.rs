use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use deskmate_cli::admin::{
    self, ConnectArgs, PLACEHOLDER_API_URL, Stack, read_secret, render_card,
};
use deskmate_cli::aws::{self, AwsOptions, StackOutputs};
use deskmate_cli::demo::{DEMO_ACCOUNT, DEMO_KNOWLEDGE, DEMO_STORE, DemoAccount, run_demo};
use deskmate_cli::doctor::{self, DoctorOptions};
use deskmate_cli::local::{LocalStack, Services};
use deskmate_cli::sandbox::{describe, start_sandbox};
use deskmate_cli::setup::{ConnectedStore, NewStore, connect_store};
use deskmate_cli::update::{self, AgentKind, UpdateArgs};
use deskmate_shared::domain::{AgentSettings, StoreId, TicketEvent};
use deskmate_shared::http_retry::RetryPolicy;
use deskmate_shared::zendesk::setup::trigger_payload_template;
use deskmate_shared::zendesk::{SupportClient, account_base_url, http_client};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Deskmate: an AI teammate inside Zendesk. Operator and local-run commands.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play both paths end to end in one process (sandbox, in-memory state, knowledge agent):
    /// email, the Web Widget on two brands, and an AI agent's escalate tool call; print the
    /// transcript.
    ///
    /// Example: deskmate demo
    Demo,
    /// Serve every Deskmate route on localhost with a worker, on embedded defaults: in-memory
    /// state, queue and secrets, the knowledge agent and the Zendesk sandbox.
    ///
    /// Example: deskmate dev --port 8080 --card card.json
    Dev(DevArgs),
    /// Serve the Zendesk sandbox on its own (an offline Zendesk account: Support API,
    /// Conversations API, triggers and webhooks) with its control API under /_sandbox/, until
    /// Ctrl-C. The account starts empty; create users, tickets and faults through the control
    /// API.
    ///
    /// Example: deskmate sandbox --port 8081
    Sandbox(SandboxArgs),
    /// Connect and manage stores (one per brand bot) on a deployed stack.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Set up Zendesk for a store.
    #[command(subcommand)]
    Zendesk(ZendeskCommand),
    /// The account's Conversations API (Web Widget), once per Zendesk account.
    #[command(subcommand)]
    Conversations(ConversationsCommand),
    /// Brand Web Widgets and the stores they route to.
    #[command(subcommand)]
    Widgets(WidgetsCommand),
    /// The account's messaging switchboard.
    #[command(subcommand)]
    Switchboard(SwitchboardCommand),
    /// The knowledge agent's index: the brand's Help Center and the markdown file.
    #[command(subcommand)]
    Knowledge(KnowledgeCommand),
    /// Check a store from the stack to Zendesk: the table, the API, the store, its Zendesk
    /// token and bot user, the webhook and both triggers, the Conversations credentials, the
    /// switchboard, the widget mapping and the queues. One line per check (✓ or ✗), each
    /// failure with its fix; exits non-zero when a check fails.
    ///
    /// Example: deskmate doctor --store acme-shoes --stack-name deskmate --region eu-west-1
    Doctor {
        #[command(flatten)]
        stack: StackArgs,
        /// The store id.
        #[arg(long)]
        store: String,
        /// The job queue (the JobQueueUrl output), to show its depth; read from the stack
        /// with --stack-name.
        #[arg(long, env = "DESKMATE_QUEUE_URL")]
        queue_url: Option<String>,
        /// The dead-letter queue (the DeadLetterQueueUrl output); read from the stack with
        /// --stack-name.
        #[arg(long, env = "DESKMATE_DEAD_LETTER_QUEUE_URL")]
        dead_letter_queue_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum KnowledgeCommand {
    /// Rebuild the store's knowledge index from its brand's published, public Help Center
    /// articles and its markdown knowledge file, and save it for the workers. Articles
    /// unpublished or restricted since the last sync stop being used.
    ///
    /// Example: deskmate knowledge sync --store acme-shoes --stack-name deskmate
    Sync {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        store: String,
        /// The Help Center locale to read.
        #[arg(long, default_value = deskmate_shared::knowledge_sync::DEFAULT_LOCALE)]
        locale: String,
    },
}

#[derive(Subcommand)]
enum SwitchboardCommand {
    /// Make Deskmate the default responder of exactly the web widgets its stores answer (the
    /// mapped ones; every web widget when a store without a widget is the fallback), with the
    /// Agent Workspace next after it and Deskmate next after the Agent Workspace. The app's
    /// default responder, which takes every other channel, is left as it is. Run it after
    /// mapping widgets; safe to run again; prints the switchboard before and after.
    ///
    /// Example: deskmate switchboard register --account acme --stack-name deskmate
    Register {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        account: String,
    },
}

#[derive(Subcommand)]
enum ConversationsCommand {
    /// Save the account's Conversations API key and integration, after checking them against
    /// the API. Secrets come from DESKMATE_CONVERSATIONS_KEY_SECRET and
    /// DESKMATE_CONVERSATIONS_SHARED_SECRET.
    ///
    /// Example: deskmate conversations connect --account acme --app-id 5f1... --key-id app_5f2... --integration-id 6a0... --stack-name deskmate
    Connect {
        #[command(flatten)]
        stack: StackArgs,
        /// The Zendesk account (`acme` or `acme.zendesk.com`).
        #[arg(long)]
        account: String,
        #[arg(long)]
        app_id: String,
        #[arg(long)]
        key_id: String,
        /// Deskmate's Conversations integration id (Admin Center → Conversations integrations).
        #[arg(long)]
        integration_id: String,
    },
}

#[derive(Subcommand)]
enum WidgetsCommand {
    /// List every brand's Web Widget: integration id, name, status, mapped store.
    ///
    /// Example: deskmate widgets list --account acme --stack-name deskmate
    List {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        account: String,
    },
    /// Route a brand's widget to a store (a widget routes to one store only).
    ///
    /// Example: deskmate widgets map --store acme-shoes --widget 5ecff63ffc3ab25f4561c8a0 --stack-name deskmate
    Map {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        store: String,
        #[arg(long)]
        widget: String,
    },
    /// Free a store's widget (the store then answers the account's unmapped widgets).
    ///
    /// Example: deskmate widgets unmap --store acme-shoes --stack-name deskmate
    Unmap {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        store: String,
    },
}

#[derive(Subcommand)]
enum ZendeskCommand {
    /// Create or update the store's webhook and its two triggers through the Zendesk API, and
    /// keep the webhook's signing secret so deliveries are verified. Safe to run again.
    ///
    /// Example: deskmate zendesk setup --store acme-shoes --stack-name deskmate
    Setup {
        #[command(flatten)]
        stack: StackArgs,
        /// The store id.
        #[arg(long)]
        store: String,
        /// Only print what to create by hand.
        #[arg(long)]
        print: bool,
    },
}

/// Where the deployed stack is, and how to reach AWS; flags or environment.
#[derive(clap::Args)]
struct StackArgs {
    /// The deployed stack's CloudFormation name (as given to `sam deploy`): the table, API URL
    /// and queues are read from its outputs, so --table and --api-url are not needed.
    #[arg(long, env = "DESKMATE_STACK_NAME", value_name = "NAME")]
    stack_name: Option<String>,
    /// The stack's DynamoDB table (the StateTableName output), without --stack-name.
    #[arg(long, env = "DESKMATE_TABLE")]
    table: Option<String>,
    /// The stack's API base URL (the ApiUrl output), without --stack-name: the URLs given to
    /// Zendesk and printed on cards.
    #[arg(long, env = "DESKMATE_API_URL")]
    api_url: Option<String>,
    /// The AWS region of the stack (else AWS_REGION, or the profile's region).
    #[arg(long)]
    region: Option<String>,
    /// The AWS profile to use (else AWS_PROFILE, or the default credentials).
    #[arg(long)]
    profile: Option<String>,
    /// A local AWS-compatible endpoint instead of AWS (e.g. moto).
    #[arg(long, env = "DESKMATE_AWS_ENDPOINT", hide = true)]
    aws_endpoint: Option<String>,
    /// Send Zendesk calls here instead of https://SUBDOMAIN.zendesk.com (the sandbox).
    #[arg(long, env = "DESKMATE_ZENDESK_URL", hide = true)]
    zendesk_url: Option<String>,
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// List the connected stores.
    ///
    /// Example: deskmate store list --stack-name deskmate
    List {
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Show one store's settings (never its secrets).
    ///
    /// Example: deskmate store show --store acme-shoes --stack-name deskmate
    Show {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        store: String,
    },
    /// Test the store's Zendesk connection with its stored credentials.
    ///
    /// Example: deskmate store test --store acme-shoes --stack-name deskmate
    Test {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        store: String,
    },
    /// Replace the store's webhook token (or, with --tool, its escalate tool token); the new one
    /// is printed once and the old one stops working.
    ///
    /// Example: deskmate store rotate-token --store acme-shoes --tool --stack-name deskmate
    RotateToken {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        store: String,
        /// Rotate the escalate tool's token instead of the webhook's.
        #[arg(long)]
        tool: bool,
    },
    /// Remove the store's secrets (recoverable for 7 days), state and widget mapping. Zendesk is
    /// left as it is, and the answer lists what to remove there, unless --remove-zendesk is
    /// given.
    ///
    /// Example: deskmate store disconnect --store acme-shoes --remove-zendesk --stack-name deskmate
    Disconnect {
        #[command(flatten)]
        stack: StackArgs,
        #[arg(long)]
        store: String,
        /// Also delete the store's webhook and triggers that `zendesk setup` created in Zendesk
        /// (found by their names), before anything else is removed.
        #[arg(long)]
        remove_zendesk: bool,
    },
    /// Change a store's settings; only what is given changes. Secrets come from the
    /// environment or standard input (typed at a prompt in a terminal): the Zendesk API token
    /// from DESKMATE_ZENDESK_API_TOKEN (with --zendesk-token; tested against Zendesk first),
    /// the OpenAI-compatible API key from DESKMATE_OPENAI_API_KEY (with --agent openai), the
    /// agent webhook's signing secret from DESKMATE_AGENT_WEBHOOK_SECRET (with --agent
    /// webhook). Everything is checked before anything is written.
    ///
    /// Example: DESKMATE_OPENAI_API_KEY=... deskmate store update --store acme-shoes --agent openai --openai-base-url https://api.openai.com/v1 --openai-model gpt-4o-mini --stack-name deskmate
    Update {
        #[command(flatten)]
        stack: StackArgs,
        /// The store id.
        #[arg(long)]
        store: String,
        /// Replace the bot's Zendesk API token (read from DESKMATE_ZENDESK_API_TOKEN or
        /// standard input), after testing it.
        #[arg(long)]
        zendesk_token: bool,
        /// The AI agent backend; choosing openai or webhook reads its secret.
        #[arg(long, value_enum)]
        agent: Option<AgentKind>,
        /// The OpenAI-compatible endpoint's base URL (ends in /v1 for most servers).
        #[arg(long, value_name = "URL")]
        openai_base_url: Option<String>,
        /// The model to ask.
        #[arg(long, value_name = "MODEL")]
        openai_model: Option<String>,
        /// Your agent service's URL (the webhook backend).
        #[arg(long, value_name = "URL")]
        webhook_url: Option<String>,
        /// What the AI agent is told about the brand and how to answer.
        #[arg(long, value_name = "TEXT")]
        instructions: Option<String>,
        /// Sent when a customer opens a new Web Widget conversation.
        #[arg(long, value_name = "TEXT")]
        welcome_message: Option<String>,
        /// What the customer is told when a human takes over.
        #[arg(long, value_name = "TEXT")]
        handoff_message: Option<String>,
        /// The Zendesk group escalated tickets go to (`none`: unassigned in their group).
        #[arg(long, value_name = "ID", value_parser = update::parse_group)]
        escalation_group_id: Option<update::GroupChoice>,
        /// `auto`: the bot replies to email tickets; `draft`: it leaves an internal draft note
        /// and hands the ticket to a human, who reviews and sends it.
        #[arg(long, value_name = "MODE", value_parser = update::parse_mode)]
        mode: Option<deskmate_shared::domain::StoreMode>,
        /// A markdown file the knowledge agent answers from (at most 350 KB).
        #[arg(long, value_name = "FILE")]
        knowledge: Option<String>,
        /// The bot's name in the Web Widget.
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
        /// Your chat's receiver for bridge events (agent messages, session ends). The first
        /// time, a whsec_ signing secret is made and shown once.
        #[arg(long, value_name = "URL")]
        bridge_webhook_url: Option<String>,
    },
    /// Connect a store: test the Zendesk connection, save it, print what to paste into Zendesk.
    /// The bot's API token is read from DESKMATE_ZENDESK_API_TOKEN or standard input.
    ///
    /// Example: DESKMATE_ZENDESK_API_TOKEN=... deskmate store connect --name "Acme Shoes" --subdomain acme --bot-email bot@acme.com --stack-name deskmate
    Connect {
        #[command(flatten)]
        stack: StackArgs,
        /// The store's name (the brand), e.g. "Acme Shoes".
        #[arg(long)]
        name: String,
        /// The store id used in URLs (default: from the name).
        #[arg(long)]
        id: Option<String>,
        /// The Zendesk account: `acme` or `acme.zendesk.com`.
        #[arg(long)]
        subdomain: String,
        /// The bot agent's email.
        #[arg(long)]
        bot_email: String,
        /// The Zendesk brand this store answers, on a multi-brand account.
        #[arg(long)]
        brand_id: Option<u64>,
        /// A markdown file the embedded knowledge agent answers from.
        #[arg(long, value_name = "FILE")]
        knowledge: Option<String>,
    },
}

#[derive(clap::Args)]
struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    port: u16,
}

#[derive(clap::Args)]
struct DevArgs {
    /// Port for Deskmate's routes (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Also write the URLs and tokens as JSON to this file.
    #[arg(long)]
    card: Option<PathBuf>,
    /// Keep state, jobs and secrets in this AWS-compatible endpoint (DynamoDB, SQS and
    /// Secrets Manager, e.g. a moto server) instead of memory.
    #[arg(long, value_name = "URL")]
    aws_endpoint: Option<String>,
    /// Use this real Zendesk account instead of the sandbox; the bot's API token is read from
    /// DESKMATE_ZENDESK_API_TOKEN.
    #[arg(long, requires = "bot_email", value_name = "SUBDOMAIN")]
    zendesk_subdomain: Option<String>,
    /// The bot agent's email, with --zendesk-subdomain.
    #[arg(long, value_name = "EMAIL")]
    bot_email: Option<String>,
    /// Port for the Zendesk sandbox (0 picks a free one); its control API is at /_sandbox/.
    #[arg(long, default_value_t = 0, conflicts_with = "zendesk_subdomain")]
    sandbox_port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's output is its transcript; logs would only clutter it.
    let default_logs = match cli.command {
        Command::Demo => "warn",
        Command::Dev(_) | Command::Sandbox(_) => "info",
        _ => "error",
    };
    deskmate_shared::telemetry::init_tracing_with(default_logs);
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("deskmate: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Demo => run_demo()
            .await
            .map(|transcript| print!("{transcript}"))
            .map_err(|e| e.to_string()),
        Command::Dev(args) => dev(args).await,
        Command::Sandbox(args) => sandbox(args).await,
        Command::Store(StoreCommand::Connect {
            stack: args,
            name,
            id,
            subdomain,
            bot_email,
            brand_id,
            knowledge,
        }) => {
            let stack = resolve(&args).await?.0;
            let connect = ConnectArgs {
                knowledge,
                name,
                id,
                subdomain,
                bot_email,
                brand_id,
            };
            store_connect(&args, &stack, connect).await
        }
        Command::Store(StoreCommand::Update {
            stack: args,
            store,
            zendesk_token,
            agent,
            openai_base_url,
            openai_model,
            webhook_url,
            instructions,
            welcome_message,
            handoff_message,
            escalation_group_id,
            knowledge,
            display_name,
            mode,
            bridge_webhook_url,
        }) => {
            let stack = resolve(&args).await?.0;
            let changes = UpdateArgs {
                mode,
                bridge_webhook_url,
                store,
                zendesk_token,
                agent,
                openai_base_url,
                openai_model,
                webhook_url,
                instructions,
                welcome_message,
                handoff_message,
                escalation_group_id: escalation_group_id.map(|group| group.0),
                knowledge,
                display_name,
            };
            let result = update::store_update(&stack, changes).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Zendesk(ZendeskCommand::Setup {
            stack: args,
            store,
            print,
        }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::zendesk_setup(&stack, &store, print).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Conversations(ConversationsCommand::Connect {
            stack: args,
            account,
            app_id,
            key_id,
            integration_id,
        }) => {
            let stack = resolve(&args).await?.0;
            let connect = admin::ConversationsArgs {
                account,
                app_id,
                key_id,
                integration_id,
            };
            let result = admin::conversations_connect(&stack, connect).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Widgets(WidgetsCommand::List {
            stack: args,
            account,
        }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::widgets_list(&stack, &account).await?;
            print_widgets(&args, &result);
            Ok(())
        }
        Command::Widgets(WidgetsCommand::Map {
            stack: args,
            store,
            widget,
        }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::widgets_map(&stack, &store, &widget).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Widgets(WidgetsCommand::Unmap { stack: args, store }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::widgets_unmap(&stack, &store).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Knowledge(KnowledgeCommand::Sync {
            stack: args,
            store,
            locale,
        }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::knowledge_sync(&stack, &store, &locale).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Store(StoreCommand::List { stack: args }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::store_list(&stack).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Store(StoreCommand::Show { stack: args, store }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::store_show(&stack, &store).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Store(StoreCommand::Test { stack: args, store }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::store_test(&stack, &store).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Store(StoreCommand::RotateToken {
            stack: args,
            store,
            tool,
        }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::store_rotate_token(&stack, &store, tool).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Store(StoreCommand::Disconnect {
            stack: args,
            store,
            remove_zendesk,
        }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::store_disconnect(&stack, &store, remove_zendesk).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Switchboard(SwitchboardCommand::Register {
            stack: args,
            account,
        }) => {
            let stack = resolve(&args).await?.0;
            let result = admin::switchboard_register(&stack, &account).await?;
            print_result(&args, &result);
            Ok(())
        }
        Command::Doctor {
            stack: args,
            store,
            queue_url,
            dead_letter_queue_url,
        } => {
            let (stack, outputs) = resolve_with(&args, false).await?;
            let options = DoctorOptions {
                store: store.clone(),
                stack_name: args.stack_name.clone(),
                queue_url: queue_url.or(outputs.queue_url),
                dead_letter_queue_url: dead_letter_queue_url.or(outputs.dead_letter_queue_url),
            };
            let report = doctor::doctor(&stack, &options).await;
            if args.json {
                print_result(&args, &report.to_json(&store));
            } else {
                print!("{}", report.render());
            }
            match report.failures() {
                0 => Ok(()),
                1 => Err(format!("1 check failed for store {store}")),
                n => Err(format!("{n} checks failed for store {store}")),
            }
        }
    }
}

/// The stack the command works on: its table and API URL from `--stack-name`'s outputs, or
/// from `--table` and `--api-url` (or their environment variables); AWS set up and checked.
async fn resolve(args: &StackArgs) -> Result<(Stack, StackOutputs), String> {
    resolve_with(args, true).await
}

/// [`resolve`], checking that the table exists unless `check_table` is false (the doctor
/// reports that as one of its checks).
async fn resolve_with(
    args: &StackArgs,
    check_table: bool,
) -> Result<(Stack, StackOutputs), String> {
    let options = AwsOptions {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint: args.aws_endpoint.clone(),
    };
    let sdk = aws::open_session(&options).await?;
    let outputs = match &args.stack_name {
        Some(name) => aws::stack_outputs(&sdk, name).await?,
        None => StackOutputs::default(),
    };
    let name = args.stack_name.as_deref().unwrap_or_default();
    let table = match (&args.table, &outputs.table) {
        (Some(given), Some(output)) if given != output => {
            return Err(format!(
                "--table (or DESKMATE_TABLE) {given} is not stack {name}'s table {output}; drop one of them"
            ));
        }
        (Some(table), _) | (None, Some(table)) => table.clone(),
        (None, None) => {
            return Err("no table: pass --stack-name NAME (the deployed stack), or --table / DESKMATE_TABLE with its StateTableName output".into());
        }
    };
    let trimmed = |url: &String| url.trim().trim_end_matches('/').to_owned();
    let api_url = match (&args.api_url, &outputs.api_url) {
        (Some(given), Some(output)) if trimmed(given) != trimmed(output) => {
            return Err(format!(
                "--api-url (or DESKMATE_API_URL) {given} is not stack {name}'s ApiUrl {output}; drop one of them"
            ));
        }
        (Some(url), _) | (None, Some(url)) => trimmed(url),
        (None, None) => PLACEHOLDER_API_URL.to_owned(),
    };
    if check_table {
        aws::check_table(&sdk, &table).await?;
    }
    let stack = Stack {
        table,
        aws_endpoint: args.aws_endpoint.clone(),
        zendesk_url: args.zendesk_url.clone(),
        api_url,
    };
    Ok((stack, outputs))
}

fn print_widgets(args: &StackArgs, result: &Value) {
    if args.json {
        return print_result(args, result);
    }
    println!(
        "{:<26} {:<28} {:<9} STORE",
        "INTEGRATION ID", "NAME", "STATUS"
    );
    for widget in result["widgets"].as_array().into_iter().flatten() {
        let text = |name: &str| widget[name].as_str().unwrap_or("-").to_owned();
        println!(
            "{:<26} {:<28} {:<9} {}",
            text("integration_id"),
            text("name"),
            text("status"),
            widget["store"].as_str().unwrap_or("(unmapped)")
        );
    }
}

/// JSON for scripts, else the same fields as `name: value` lines.
fn print_result(args: &StackArgs, result: &Value) {
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(result).expect("serialises")
        );
        return;
    }
    for (name, value) in result.as_object().into_iter().flatten() {
        match value {
            Value::String(text) => println!("{name}: {text}"),
            other => println!(
                "{name}: {}",
                serde_json::to_string_pretty(other).expect("serialises")
            ),
        }
    }
}

async fn store_connect(
    args: &StackArgs,
    stack: &Stack,
    connect: ConnectArgs,
) -> Result<(), String> {
    let token = read_secret("DESKMATE_ZENDESK_API_TOKEN", "Zendesk API token")?;
    let card = admin::store_connect(stack, connect, token).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&card).expect("serialises")
        );
    } else {
        print!("{}", render_card(&card));
    }
    Ok(())
}

async fn sandbox(args: SandboxArgs) -> Result<(), String> {
    let sandbox = start_sandbox(args.port).await.map_err(|e| e.to_string())?;
    println!("The Zendesk sandbox is serving on {}", sandbox.base_url());
    print!("{}", describe(&sandbox));
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

async fn dev(args: DevArgs) -> Result<(), String> {
    let address = format!("127.0.0.1:{}", args.port);
    let services = match &args.aws_endpoint {
        Some(endpoint) => Services::local_aws(endpoint),
        None => Services::InMemory,
    };
    // Keeps the sandbox running while serving.
    let mut demo_account = None;
    let (stack, card) = match (&args.zendesk_subdomain, &args.bot_email) {
        (Some(subdomain), Some(bot_email)) => {
            let (stack, store) = dev_on_zendesk(&services, &address, subdomain, bot_email).await?;
            let card = dev_card(&stack.url, &[store_card(&stack.url, &store, None)]);
            (stack, card)
        }
        _ => {
            let sandbox = start_sandbox(args.sandbox_port)
                .await
                .map_err(|e| e.to_string())?;
            let demo = DemoAccount::on_sandbox(sandbox, &address, &services)
                .await
                .map_err(|e| e.to_string())?;
            let card = demo_card(&demo);
            let stack = demo.stack.clone();
            demo_account = Some(demo);
            (stack, card)
        }
    };
    stack.spawn_worker_loop();
    print!("{}", render_dev_card(&card));
    if let Some(demo) = &demo_account {
        println!("Zendesk sandbox: {}", demo.sandbox.base_url());
        print!("{}", describe(&demo.sandbox));
        println!(
            "  API token:          {}   (with any user's email, e.g. bot@acme.example/token)",
            demo.sandbox_api_token
        );
        println!(
            "  Users:              customer #{}, human agent #{}",
            demo.customer, demo.human_agent
        );
    }
    println!("Press Ctrl-C to stop.");
    if let Some(path) = &args.card {
        let text = serde_json::to_string_pretty(&card).expect("serialises");
        std::fs::write(path, text)
            .map_err(|err| format!("could not write the card to {}: {err}", path.display()))?;
    }
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

/// One store's URLs and tokens on the local stack at `url`.
fn store_card(url: &str, store: &ConnectedStore, widget: Option<&str>) -> Value {
    json!({
        "store_id": store.config.id.as_str(),
        "name": store.config.name,
        "brand_id": store.config.brand_id,
        "bot_user_id": store.config.bot_user_id,
        "webhook_url": format!("{url}/webhooks/zendesk/{}", store.config.id),
        "webhook_bearer_token": store.webhook_token.expose_secret(),
        "tool_url": format!("{url}/tools/escalate"),
        "tool_token": store.tool_token.expose_secret(),
        "widget_integration_id": widget,
    })
}

/// What `deskmate dev` serves: every store, and the first store's fields at the top level.
fn dev_card(url: &str, stores: &[Value]) -> Value {
    let first = &stores[0];
    json!({
        "deskmate_url": url,
        "store_id": first["store_id"],
        "webhook_url": first["webhook_url"],
        "webhook_bearer_token": first["webhook_bearer_token"],
        "bot_user_id": first["bot_user_id"],
        "trigger_payload": trigger_payload_template(TicketEvent::TicketCreated),
        "stores": stores,
    })
}

/// The demo account's card: its stores and widgets, the Conversations integration and the
/// sandbox.
fn demo_card(demo: &DemoAccount) -> Value {
    let url = &demo.stack.url;
    let stores = [
        store_card(url, &demo.store, Some(&demo.widgets[0])),
        store_card(url, &demo.bags, Some(&demo.widgets[1])),
    ];
    let mut card = dev_card(url, &stores);
    let extra = json!({
        "conversations": {
            "account": DEMO_ACCOUNT,
            "webhook_url": format!("{url}/webhooks/conversations/{DEMO_ACCOUNT}"),
            "integration_id": demo.conversations_integration,
            "shared_secret": demo.conversations_shared_secret,
        },
        "zendesk_sandbox_url": demo.sandbox.base_url(),
        "zendesk_sandbox_control_url": demo.sandbox.control_url(),
        "zendesk_sandbox_api_token": demo.sandbox_api_token,
        "customer_user_id": demo.customer,
        "agent_user_id": demo.human_agent,
    });
    if let (Value::Object(card), Value::Object(extra)) = (&mut card, extra) {
        card.extend(extra);
    }
    card
}

/// The card as text: Deskmate's URL, then each store's and the Web Widget's URLs and tokens.
fn render_dev_card(card: &Value) -> String {
    use std::fmt::Write as _;
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Deskmate is serving on {}",
        text(&card["deskmate_url"])
    );
    for store in card["stores"].as_array().into_iter().flatten() {
        let field = |name: &str| text(&store[name]);
        let _ = writeln!(
            out,
            "Store {} ({}, brand {})",
            field("store_id"),
            field("name"),
            field("brand_id")
        );
        let _ = writeln!(out, "  Zendesk webhook:  POST {}", field("webhook_url"));
        let _ = writeln!(out, "  Bearer token:     {}", field("webhook_bearer_token"));
        let _ = writeln!(out, "  Escalate tool:    POST {}", field("tool_url"));
        let _ = writeln!(out, "  Tool token:       {}", field("tool_token"));
        let _ = writeln!(
            out,
            "  Web Widget:       {}",
            field("widget_integration_id")
        );
    }
    let conversations = &card["conversations"];
    if conversations.is_object() {
        let field = |name: &str| text(&conversations[name]);
        let _ = writeln!(
            out,
            "Conversations integration {} (account {})",
            field("integration_id"),
            field("account")
        );
        let _ = writeln!(out, "  Webhook:          POST {}", field("webhook_url"));
        let _ = writeln!(
            out,
            "  Shared secret:    {}   (the X-API-Key header)",
            field("shared_secret")
        );
    }
    out
}

/// Connects a store to a real Zendesk account (the knowledge agent answers from the demo file).
async fn dev_on_zendesk(
    services: &Services,
    address: &str,
    subdomain: &str,
    bot_email: &str,
) -> Result<(Arc<LocalStack>, ConnectedStore), String> {
    let api_token = deskmate_cli::input::read_secret_env_or_prompt(
        "DESKMATE_ZENDESK_API_TOKEN",
        "bot's Zendesk API token",
    )?;
    let stack = Arc::new(
        LocalStack::start(services, None, address)
            .await
            .map_err(|e| e.to_string())?,
    );
    let client = SupportClient::new(
        http_client(Duration::from_secs(10)),
        account_base_url(subdomain, None),
        bot_email,
        &api_token,
        RetryPolicy::default(),
    );
    let store = connect_store(
        stack.ports.stores.as_ref(),
        stack.ports.vault.as_ref(),
        &client,
        NewStore {
            id: StoreId::parse(DEMO_STORE).expect("valid id"),
            name: subdomain.to_owned(),
            subdomain: subdomain.to_owned(),
            bot_email: bot_email.to_owned(),
            api_token,
            brand_id: None,
            instructions: String::new(),
            display_name: "Deskmate".into(),
            agent: AgentSettings::Knowledge {
                knowledge_markdown: DEMO_KNOWLEDGE.into(),
            },
        },
    )
    .await
    .map_err(|e| format!("could not connect to {subdomain}.zendesk.com: {e}"))?;
    Ok((stack, store))
}
