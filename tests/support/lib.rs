//! Test harness: each test gets its own DynamoDB table and SQS queue on the moto server that
//! `infra/test.sh` starts, its own Zendesk sandbox, and Deskmate's routes on a local port.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::QueueAttributeName;
use deskmate_cli::local::SqsEventSource;
use deskmate_cli::server::Functions;
use deskmate_cli::setup::{
    ConnectedStore, ConversationsCredentials, NewStore, connect_conversations, connect_store,
    install_email_path,
};
use deskmate_shared::config::{IngressConfig, WorkerConfig};
use deskmate_shared::conversation_thread::REPLY_TO_KEY;
use deskmate_shared::domain::StoreConfig;
use deskmate_shared::domain::{AgentSettings, Job, StoreId, TicketEvent};
use deskmate_shared::failure::RetrySchedule;
use deskmate_shared::handoff::Escalations;
use deskmate_shared::http_retry::RetryPolicy;
use deskmate_shared::queue::{DeadLetters, JobQueue, SqsQueue};
use deskmate_shared::secrets::SecretsManagerStore;
use deskmate_shared::sqs_batch::FailurePolicy;
use deskmate_shared::state::DynamoState;
use deskmate_shared::state::{StoreDirectory, WidgetRoutes};
use deskmate_shared::zendesk::{SupportClient, ZendeskConnector, http_client};
use reply_worker::ReplyWorker;
use secrecy::{ExposeSecret, SecretString};
use zendesk_sandbox::{CommentView, ConversationMessage, Role, Sandbox};

pub const KNOWLEDGE: &str = "# Shipping\nWe ship worldwide within 3 business days. Tracking links arrive by email.\n\n\
# Returns and refunds\nReturn any item within 30 days for a full refund. Refunds reach your card in 5 days.\n";

/// The moto server's URL. Tests that need AWS services fail here, loudly, without it.
pub fn aws_endpoint() -> String {
    std::env::var("DESKMATE_TEST_AWS_ENDPOINT").expect(
        "DESKMATE_TEST_AWS_ENDPOINT is not set: these tests need local AWS services; run them with infra/test.sh",
    )
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(aws_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "deskmate-test",
            "deskmate-test",
            None,
            None,
            "tests",
        ))
        .load()
        .await
}

/// A name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// A fresh table (as template.yaml declares it) and a fresh queue.
pub struct AwsResources {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub table: String,
    pub queue_url: String,
    pub dead_letter_url: String,
}

impl AwsResources {
    pub async fn create() -> Self {
        let sdk = sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let table = unique_name("deskmate");
        DynamoState::create_table(&dynamodb, &table)
            .await
            .expect("moto creates the table");
        let create_queue = |prefix: &'static str| {
            let sqs = sqs.clone();
            async move {
                sqs.create_queue()
                    .queue_name(unique_name(prefix))
                    .send()
                    .await
                    .expect("moto creates the queue")
                    .queue_url
                    .expect("a queue URL")
            }
        };
        let queue_url = create_queue("deskmate-jobs").await;
        let dead_letter_url = create_queue("deskmate-dead").await;
        Self {
            dead_letter_url,
            secretsmanager: aws_sdk_secretsmanager::Client::new(&sdk),
            dynamodb,
            sqs,
            table,
            queue_url,
        }
    }

    pub async fn queue_depth(&self) -> usize {
        self.depth_of(&self.queue_url).await
    }

    /// Messages in the queue at `queue_url`: visible, in flight or delayed.
    pub async fn depth_of(&self, queue_url: &str) -> usize {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        attributes
            .values()
            .map(|count| count.parse::<usize>().unwrap_or_default())
            .sum()
    }

    pub fn event_source(&self) -> SqsEventSource {
        SqsEventSource {
            client: self.sqs.clone(),
            queue_url: self.queue_url.clone(),
        }
    }

    /// The dead-letter queue, as its consumer's event source sees it.
    pub fn dead_letter_source(&self) -> SqsEventSource {
        SqsEventSource {
            client: self.sqs.clone(),
            queue_url: self.dead_letter_url.clone(),
        }
    }

    /// The failure policy of the consumer of `queue_url`.
    pub fn failure_policy(
        &self,
        queue_url: &str,
        dead_letters: Option<&str>,
        schedule: RetrySchedule,
    ) -> FailurePolicy {
        let queue = |url: &str| Arc::new(SqsQueue::new(self.sqs.clone(), url));
        FailurePolicy::new(
            schedule,
            queue(queue_url),
            dead_letters.map(|url| queue(url) as Arc<dyn DeadLetters>),
        )
    }

    /// Takes every visible message off the job queue (as the Lambda event source would).
    pub async fn receive_all(&self) -> Vec<SqsMessage> {
        Self::receive_all_from(&self.event_source()).await
    }

    /// Takes every visible message off `source`'s queue.
    pub async fn receive_all_from(source: &SqsEventSource) -> Vec<SqsMessage> {
        let mut messages = Vec::new();
        loop {
            let batch = source.receive(Duration::ZERO).await.expect("receive");
            if batch.is_empty() {
                return messages;
            }
            messages.extend(batch);
        }
    }
}

pub fn sqs_event(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

/// The worker's settings with scaled-down clocks: retries come back at once (the test runs
/// the worker again when it wants a redelivery), follow-up looks are immediate.
pub fn worker_config(zendesk_base_url: &str, aws: &AwsResources) -> WorkerConfig {
    WorkerConfig {
        table_name: aws.table.clone(),
        queue_url: aws.queue_url.clone(),
        zendesk_base_url: Some(zendesk_base_url.to_owned()),
        secrets_ttl: Duration::from_secs(300),
        agent_timeout: Duration::from_secs(5),
        http_timeout: Duration::from_secs(5),
        claim_lease: Duration::from_secs(60),
        dead_letter_queue_url: Some(aws.dead_letter_url.clone()),
        retries: RetrySchedule {
            first_retry: Duration::ZERO,
            max_retry: Duration::ZERO,
            human_within: Duration::from_secs(120),
        },
        handoff_recheck: Duration::ZERO,
        public_url: None,
    }
}

/// One test's whole world: AWS resources, the sandbox account, Deskmate's routes and a store
/// connected through the API the way an operator would.
pub struct TestApp {
    pub aws: AwsResources,
    pub sandbox: Sandbox,
    pub state: Arc<DynamoState>,
    pub secrets: Arc<SecretsManagerStore>,
    pub deskmate_url: String,
    pub store: ConnectedStore,
    pub bot: u64,
    pub customer: u64,
    pub agent: u64,
    pub brand: u64,
    /// This test's Zendesk subdomain (unique, so tests share no secrets or items).
    pub account: String,
    api_token: SecretString,
}

/// The account's Conversations setup: Deskmate's integration and its shared secret.
pub struct MessagingSetup {
    pub integration_id: String,
    pub shared_secret: String,
}

pub struct AppOptions {
    pub store_id: String,
    pub agent: AgentSettings,
    pub display_name: String,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            store_id: unique_name("store").to_lowercase(),
            agent: AgentSettings::Knowledge {
                knowledge_markdown: KNOWLEDGE.into(),
            },
            display_name: "Acme Assistant".into(),
        }
    }
}

fn support_client(sandbox: &Sandbox, api_token: &SecretString) -> SupportClient {
    SupportClient::new(
        http_client(Duration::from_secs(5)),
        sandbox.base_url().to_owned(),
        "bot@acme.test",
        api_token,
        RetryPolicy::default(),
    )
}

fn new_store(
    account: &str,
    id: &str,
    display_name: &str,
    agent: AgentSettings,
    brand: Option<u64>,
    api_token: &SecretString,
) -> NewStore {
    NewStore {
        id: StoreId::parse(id).expect("valid store id"),
        name: display_name.into(),
        subdomain: account.into(),
        bot_email: "bot@acme.test".into(),
        api_token: api_token.clone(),
        brand_id: brand,
        instructions: "Be kind.".into(),
        display_name: display_name.into(),
        agent,
    }
}

impl TestApp {
    /// Turns messaging on in the sandbox and connects Deskmate's Conversations integration to
    /// this app's webhook, as the default responder with the Agent Workspace next.
    pub async fn enable_messaging(&self) -> MessagingSetup {
        let keys = self.sandbox.enable_messaging();
        let (integration_id, shared_secret) = self.sandbox.add_conversations_integration(
            "Deskmate",
            &self.conversations_url(),
            &[
                "conversation:message",
                "conversation:create",
                "switchboard:passControl",
                "switchboard:releaseControl",
            ],
        );
        self.sandbox
            .make_default_responder(&integration_id, "deskmate");
        connect_conversations(
            self.state.as_ref(),
            self.secrets.as_ref(),
            ConversationsCredentials {
                subdomain: self.account.clone(),
                app_id: keys.app_id,
                key_id: keys.key_id,
                key_secret: SecretString::from(keys.key_secret),
                integration_id: integration_id.clone(),
                shared_secret: SecretString::from(shared_secret.clone()),
            },
        )
        .await
        .expect("Conversations settings are saved");
        MessagingSetup {
            integration_id,
            shared_secret,
        }
    }

    /// Connects another store of the account (its own brand and knowledge), mapped to `widget`.
    pub async fn add_store(
        &self,
        display_name: &str,
        knowledge: &str,
        widget: Option<&str>,
    ) -> StoreConfig {
        let agent = AgentSettings::Knowledge {
            knowledge_markdown: knowledge.into(),
        };
        self.add_store_with(display_name, agent, widget, None)
            .await
            .config
    }

    /// Connects another store of the account with its own agent, widget and brand; returns it
    /// with its tokens.
    pub async fn add_store_with(
        &self,
        display_name: &str,
        agent: AgentSettings,
        widget: Option<&str>,
        brand: Option<u64>,
    ) -> ConnectedStore {
        let id = unique_name("store").to_lowercase();
        let mut connected = connect_store(
            self.state.as_ref(),
            self.secrets.as_ref(),
            &support_client(&self.sandbox, &self.api_token),
            new_store(
                &self.account,
                &id,
                display_name,
                agent,
                brand,
                &self.api_token,
            ),
        )
        .await
        .expect("the store connects");
        if let Some(widget) = widget {
            self.state
                .map_widget(&connected.config, widget)
                .await
                .expect("the widget is free");
        }
        connected.config = self
            .state
            .store(&connected.config.id)
            .await
            .unwrap()
            .unwrap();
        connected
    }

    /// A new brand with its Web Widget and a store answering it with `agent`.
    pub async fn brand_with_widget(
        &self,
        name: &str,
        agent: AgentSettings,
    ) -> (String, ConnectedStore) {
        let brand = self.sandbox.add_brand(name);
        let widget = self
            .sandbox
            .add_web_widget(brand, &format!("{name} widget"));
        let store = self
            .add_store_with(
                &format!("{name} Assistant"),
                agent,
                Some(&widget),
                Some(brand),
            )
            .await;
        (widget, store)
    }

    /// The dead-letter queue's consumer, wired to this app's table, queue and sandbox.
    pub fn dead_letter_consumer(&self) -> dead_letters::DeadLetters {
        let config = worker_config(self.sandbox.base_url(), &self.aws);
        dead_letters::DeadLetters {
            escalations: Escalations::new(
                self.state.clone(),
                Arc::new(ZendeskConnector::from_config(self.secrets.clone(), &config)),
                Arc::new(SqsQueue::new(self.aws.sqs.clone(), &self.aws.queue_url)),
            )
            .with_timing(config.handoff_timing()),
            failures: self
                .aws
                .failure_policy(&self.aws.dead_letter_url, None, config.retries),
        }
    }

    /// Calls the escalate tool with `token`; returns the status and the JSON answer.
    pub async fn call_tool(
        &self,
        token: &SecretString,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/tools/escalate", self.deskmate_url))
            .bearer_auth(token.expose_secret())
            .json(body)
            .send()
            .await
            .expect("the tool answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    pub fn conversations_url(&self) -> String {
        format!(
            "{}/webhooks/conversations/{}",
            self.deskmate_url, self.account
        )
    }

    /// Messages Deskmate sent in a conversation (marked with the message they answer).
    pub fn bot_messages(&self, conversation: &str) -> Vec<ConversationMessage> {
        self.sandbox
            .conversation_messages(conversation)
            .into_iter()
            .filter(|m| {
                m.author_type == "business"
                    && m.metadata
                        .as_ref()
                        .is_some_and(|md| md.contains_key(REPLY_TO_KEY))
            })
            .collect()
    }

    pub async fn spawn() -> Self {
        Self::spawn_with(AppOptions::default()).await
    }

    pub async fn spawn_with(options: AppOptions) -> Self {
        let aws = AwsResources::create().await;
        let account = unique_name("acme").to_lowercase();
        let sandbox = Sandbox::start().await;
        let brand = sandbox.add_brand("Acme");
        let bot = sandbox.add_user("Deskmate Bot", "bot@acme.test", Role::Agent);
        let agent = sandbox.add_user("Sam Agent", "sam@acme.test", Role::Agent);
        let customer = sandbox.add_user("Maria Customer", "maria@example.test", Role::EndUser);
        let api_token = SecretString::from(sandbox.add_api_token());

        let state = Arc::new(DynamoState::new(aws.dynamodb.clone(), &aws.table));
        let secrets = Arc::new(SecretsManagerStore::new(
            aws.secretsmanager.clone(),
            Duration::from_secs(300),
        ));
        let ingress = IngressConfig {
            table_name: aws.table.clone(),
            queue_url: aws.queue_url.clone(),
            burst_window: Duration::ZERO,
            dedup_ttl: Duration::from_secs(3600),
        };
        let queue = Arc::new(SqsQueue::new(aws.sqs.clone(), &aws.queue_url));
        let zendesk = Arc::new(ZendeskConnector::from_config(
            secrets.clone(),
            &worker_config(sandbox.base_url(), &aws),
        ));
        let functions = Functions::new(
            state.clone(),
            queue,
            zendesk,
            &ingress,
            worker_config(sandbox.base_url(), &aws).handoff_timing(),
        );
        let deskmate_url =
            deskmate_cli::server::serve(deskmate_cli::server::routes(functions), "127.0.0.1:0")
                .await
                .expect("a loopback port");

        let client = support_client(&sandbox, &api_token);
        let mut store = connect_store(
            state.as_ref(),
            secrets.as_ref(),
            &client,
            new_store(
                &account,
                &options.store_id,
                &options.display_name,
                options.agent,
                Some(brand),
                &api_token,
            ),
        )
        .await
        .expect("the store connects");
        install_email_path(state.as_ref(), &client, &mut store, &deskmate_url)
            .await
            .expect("the webhook and triggers are created");
        Self {
            aws,
            sandbox,
            state,
            secrets,
            deskmate_url,
            store,
            bot,
            customer,
            agent,
            brand,
            account,
            api_token,
        }
    }

    pub fn worker(&self) -> ReplyWorker {
        let mut config = worker_config(self.sandbox.base_url(), &self.aws);
        config.public_url = Some(self.deskmate_url.clone());
        self.worker_with(config)
    }

    pub fn worker_with(&self, config: WorkerConfig) -> ReplyWorker {
        ReplyWorker::new(
            self.state.clone(),
            self.secrets.clone(),
            Arc::new(SqsQueue::new(self.aws.sqs.clone(), &self.aws.queue_url)),
            self.aws.failure_policy(
                &self.aws.queue_url,
                Some(&self.aws.dead_letter_url),
                config.retries,
            ),
            &config,
        )
    }

    /// Waits for the trigger webhooks, then runs one worker over everything queued, deleting
    /// the messages it did not report as failed (what the Lambda event source does).
    pub async fn run_worker(&self) -> SqsBatchResponse {
        self.sandbox.settle().await;
        let messages = self.aws.receive_all().await;
        let response = self
            .worker()
            .handle_batch(sqs_event(messages.clone()))
            .await;
        self.aws
            .event_source()
            .acknowledge(&messages, &response)
            .await;
        response
    }

    /// A Support API client with the store's credentials (as an operator's tooling has them).
    pub fn support(&self) -> SupportClient {
        support_client(&self.sandbox, &self.api_token)
    }

    /// The customer emails the store's brand; returns the new ticket's id.
    pub fn customer_emails(&self, body: &str) -> u64 {
        let subject: String = body.chars().take(40).collect();
        self.sandbox
            .customer_emails(self.customer, Some(self.brand), &subject, body)
    }

    /// Queues a ticket job as if a trigger had fired, to show the worker's own rules hold
    /// even when Zendesk's triggers would not have called.
    pub async fn enqueue_ticket_job(&self, ticket_id: u64) {
        let job = Job::Ticket {
            store_id: self.store.config.id.clone(),
            ticket_id,
            event: TicketEvent::CommentAdded,
        };
        SqsQueue::new(self.aws.sqs.clone(), &self.aws.queue_url)
            .enqueue(&job, Duration::ZERO)
            .await
            .expect("enqueue");
    }

    pub fn webhook_url(&self) -> String {
        format!(
            "{}/webhooks/zendesk/{}",
            self.deskmate_url, self.store.config.id
        )
    }

    pub fn comments_by(&self, ticket: u64, author: u64) -> Vec<CommentView> {
        self.sandbox
            .comments(ticket)
            .into_iter()
            .filter(|c| c.author_id == author)
            .collect()
    }

    pub fn public_replies_by_bot(&self, ticket: u64) -> Vec<CommentView> {
        self.comments_by(ticket, self.bot)
            .into_iter()
            .filter(|c| c.public)
            .collect()
    }

    pub fn internal_notes(&self, ticket: u64) -> Vec<CommentView> {
        self.sandbox
            .comments(ticket)
            .into_iter()
            .filter(|c| !c.public)
            .collect()
    }
}
