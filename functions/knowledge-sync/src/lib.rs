//! The scheduled Help Center sync: every store that answers from knowledge gets its index
//! rebuilt from its brand's published, public articles, so an article removed or unpublished
//! in Zendesk stops being used within one schedule period. One store failing does not stop
//! the others; the run fails (and its alarm fires) if any store failed.

use std::sync::Arc;

use deskmate_shared::domain::AgentSettings;
use deskmate_shared::knowledge_sync::sync_store_knowledge;
use deskmate_shared::state::{KnowledgeIndexes, StoreDirectory};
use deskmate_shared::zendesk::ZendeskConnector;
use serde_json::{Value, json};

pub struct KnowledgeSync {
    pub stores: Arc<dyn StoreDirectory>,
    pub indexes: Arc<dyn KnowledgeIndexes>,
    pub zendesk: Arc<ZendeskConnector>,
}

impl KnowledgeSync {
    /// Syncs every knowledge store; the summary of the run, or the stores that failed.
    pub async fn run(&self) -> Result<Value, String> {
        let stores = self
            .stores
            .list_stores()
            .await
            .map_err(|err| format!("could not list stores: {err}"))?;
        let mut synced = Vec::new();
        let mut failed = Vec::new();
        for store in stores
            .iter()
            .filter(|s| matches!(s.agent, AgentSettings::Knowledge { .. }))
        {
            let result = match self.zendesk.support_client(store).await {
                Ok(support) => sync_store_knowledge(store, &support, self.indexes.as_ref())
                    .await
                    .map_err(|err| err.to_string()),
                Err(err) => Err(err.to_string()),
            };
            match result {
                Ok(report) => {
                    tracing::info!(store_id = %store.id, help_center = report.help_center.as_deref().unwrap_or("none"), articles = report.articles, passages = report.passages, "knowledge synced");
                    synced.push(json!({"store_id": store.id.as_str(), "help_center": report.help_center, "articles": report.articles}));
                }
                Err(err) => {
                    tracing::error!(store_id = %store.id, error = %err, "knowledge sync failed");
                    failed.push(format!("{}: {err}", store.id));
                }
            }
        }
        if failed.is_empty() {
            Ok(json!({"synced": synced}))
        } else {
            Err(format!("knowledge sync failed for {}", failed.join("; ")))
        }
    }
}
