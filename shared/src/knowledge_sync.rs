//! Help Center sync: a store's knowledge index rebuilt whole from its brand's published,
//! public Help Center articles and its markdown knowledge file, then saved for the workers.
//! An article unpublished, restricted or deleted since the last sync is simply not in the new
//! index. `deskmate knowledge sync` runs it; a scheduled function may call it the same way.

use crate::domain::{AgentSettings, StoreConfig};
use crate::knowledge_index::{KnowledgeIndex, article_passages, markdown_passages};
use crate::state::{KnowledgeIndexes, StateError};
use crate::zendesk::{SupportClient, ZendeskError};

/// The Help Center locale a sync reads unless told otherwise.
pub const DEFAULT_LOCALE: &str = "en-us";

/// What a sync indexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// Help Center articles indexed (published and visible to everyone).
    pub articles: usize,
    /// Sections of the markdown knowledge file indexed.
    pub markdown_sections: usize,
    /// Passages in the index (article sections and markdown sections).
    pub passages: usize,
    /// The saved index's version.
    pub version: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("reading the Help Center: {0}")]
    Zendesk(#[from] ZendeskError),
    #[error("saving the knowledge index: {0}")]
    State(#[from] StateError),
}

/// Syncs the store's knowledge from its Help Center in [`DEFAULT_LOCALE`].
pub async fn sync_store_knowledge(
    store: &StoreConfig,
    support: &SupportClient,
    indexes: &dyn KnowledgeIndexes,
) -> Result<SyncReport, SyncError> {
    sync_store_knowledge_in(store, support, indexes, DEFAULT_LOCALE).await
}

/// Builds the store's index from its Help Center articles in `locale` (on `support`'s host)
/// and its markdown file, and saves it whole in place of the last one.
pub async fn sync_store_knowledge_in(
    store: &StoreConfig,
    support: &SupportClient,
    indexes: &dyn KnowledgeIndexes,
    locale: &str,
) -> Result<SyncReport, SyncError> {
    let articles = support.help_center_articles(locale).await?;
    let mut passages = Vec::new();
    for article in &articles {
        let topic = article
            .section_id
            .map_or_else(|| format!("article-{}", article.id), |id| id.to_string());
        passages.extend(article_passages(
            &article.title,
            article.body.as_deref().unwrap_or_default(),
            &article.html_url,
            &topic,
        ));
    }
    let markdown = match &store.agent {
        AgentSettings::Knowledge { knowledge_markdown } => markdown_passages(knowledge_markdown),
        _ => Vec::new(),
    };
    let markdown_sections = markdown.len();
    passages.extend(markdown);
    let index = KnowledgeIndex::build(passages);
    let version = indexes.save_index(&store.id, &index).await?;
    let report = SyncReport {
        articles: articles.len(),
        markdown_sections,
        passages: index.passages().len(),
        version,
    };
    tracing::info!(
        store = %store.id,
        articles = report.articles,
        passages = report.passages,
        version,
        "knowledge synced"
    );
    Ok(report)
}
