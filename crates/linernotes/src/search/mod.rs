//! The embedded full-text index: one tantivy index per entity type, in memory or on disk under
//! `<search.index_dir>/<type>/` (`search.index_dir` under `data_dir` unless absolute), built from
//! the database and kept current as entities are stored.
//!
//! - [`fold`]: what a name is indexed as (folded words in their script and in Latin, whole-name keys).
//! - this file: [`SearchIndex`]: adding and replacing documents, rebuilding a type, and searching.
//!
//! Ranking, in tiers: a whole-name match of a name, alias or sort name first (score 100), then names
//! holding every word of the query (90), then names matching with typos (edit distance 1 from 5 letters,
//! 2 from 9) or with the last word as a prefix, for type-ahead (60). Within a tier the more popular
//! entity comes first (popularity from the catalogue: credits, releases, tracks), then the closer match.

pub mod fold;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED, STRING,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader,
    TantivyDocument, Term,
};

use crate::domain::{EntityKind, Mbid, SearchDocument, SearchHit, SearchPage};

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy failed (I/O, a damaged index, a lock held by another process).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index folder cannot be prepared.
    #[error("search index folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Memory of the writer that keeps an index current (small: it adds a few documents at a time).
const LIVE_WRITER_BYTES: usize = 20_000_000;

/// The kinds that have an index.
const KINDS: [EntityKind; 5] = [
    EntityKind::Artist,
    EntityKind::Album,
    EntityKind::Release,
    EntityKind::Track,
    EntityKind::Label,
];

/// The fields of every index.
#[derive(Clone, Copy)]
struct Fields {
    mbid: Field,
    name: Field,
    disambiguation: Field,
    words: Field,
    keys: Field,
    popularity: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let indexed = |record: IndexRecordOption| {
        // The words and keys are made by `fold`; whitespace only separates them.
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("whitespace")
                .set_index_option(record),
        )
    };
    let fields = Fields {
        mbid: builder.add_text_field("mbid", STRING | STORED),
        name: builder.add_text_field("name", STORED),
        disambiguation: builder.add_text_field("disambiguation", STORED),
        words: builder.add_text_field("words", indexed(IndexRecordOption::WithFreqs)),
        keys: builder.add_text_field("keys", indexed(IndexRecordOption::Basic)),
        popularity: builder.add_u64_field("popularity", FAST),
    };
    (builder.build(), fields)
}

/// One entity type's index.
struct KindIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
}

impl KindIndex {
    fn new(index: Index, fields: Fields) -> Result<Self, SearchError> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer_with_num_threads(1, LIVE_WRITER_BYTES)?;
        Ok(KindIndex {
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// The search indexes of one instance. Cheap to clone; clones share the indexes.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None`: in memory.
    dir: Option<PathBuf>,
    kinds: HashMap<EntityKind, RwLock<Arc<KindIndex>>>,
    /// What the indexes were last rebuilt after (see `store::metadata::search_docs::rebuild_marker`).
    built_after: Mutex<Option<String>>,
    /// Changes made to a kind while it is being rebuilt, replayed on the new index before it serves
    /// (a kind is present while its rebuild runs).
    journal: Mutex<HashMap<EntityKind, Vec<Change>>>,
    /// One rebuild at a time.
    rebuilds: tokio::sync::Mutex<()>,
}

/// One upsert, as the journal keeps it.
type Change = (Vec<SearchDocument>, Vec<Mbid>);

fn folder_error(path: &Path) -> impl FnOnce(std::io::Error) -> SearchError + '_ {
    move |source| SearchError::Folder {
        path: path.to_owned(),
        source,
    }
}

impl SearchIndex {
    /// Opens the indexes in `dir` (creating empty ones), or empty in-memory ones without one.
    pub fn open(dir: Option<&Path>) -> Result<Self, SearchError> {
        let (schema, fields) = schema();
        let mut kinds = HashMap::new();
        for kind in KINDS {
            let index = match &dir {
                None => Index::create_in_ram(schema.clone()),
                Some(dir) => {
                    let path = dir.join(kind.as_str());
                    std::fs::create_dir_all(&path).map_err(folder_error(&path))?;
                    match Index::open_in_dir(&path) {
                        Ok(index) if index.schema() == schema => index,
                        // Missing or of another shape: start empty (a rebuild fills it).
                        _ => {
                            std::fs::remove_dir_all(&path).map_err(folder_error(&path))?;
                            std::fs::create_dir_all(&path).map_err(folder_error(&path))?;
                            Index::create_in_dir(&path, schema.clone())?
                        }
                    }
                }
            };
            kinds.insert(kind, RwLock::new(Arc::new(KindIndex::new(index, fields)?)));
        }
        let built_after = dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join("BUILT_AFTER")).ok());
        Ok(SearchIndex {
            inner: Arc::new(Inner {
                dir: dir.map(Path::to_path_buf),
                kinds,
                built_after: Mutex::new(built_after),
                journal: Mutex::new(HashMap::new()),
                rebuilds: tokio::sync::Mutex::new(()),
            }),
        })
    }

    fn kind(&self, kind: EntityKind) -> Arc<KindIndex> {
        let slot = &self.inner.kinds[&kind];
        Arc::clone(&slot.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Documents in the index of `kind`.
    pub fn documents(&self, kind: EntityKind) -> u64 {
        self.kind(kind).documents()
    }

    /// What the indexes were last rebuilt after, as recorded by [`SearchIndex::set_built_after`].
    pub fn built_after(&self) -> Option<String> {
        self.inner
            .built_after
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records what the indexes were rebuilt after (kept in the folder across restarts).
    pub fn set_built_after(&self, marker: &str) -> Result<(), SearchError> {
        if let Some(dir) = &self.inner.dir {
            let path = dir.join("BUILT_AFTER");
            let scratch = dir.join("BUILT_AFTER.tmp");
            std::fs::write(&scratch, marker).map_err(folder_error(&scratch))?;
            std::fs::rename(&scratch, &path).map_err(folder_error(&path))?;
        }
        *self
            .inner
            .built_after
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(marker.to_owned());
        Ok(())
    }

    /// Adds `documents` (all of one kind), replacing earlier versions of the same entities, and removes
    /// `removed`; visible to searches when this returns.
    pub fn upsert(
        &self,
        kind: EntityKind,
        documents: &[SearchDocument],
        removed: &[Mbid],
    ) -> Result<(), SearchError> {
        let mut journal = self.journal();
        if let Some(changes) = journal.get_mut(&kind) {
            changes.push((documents.to_vec(), removed.to_vec()));
        }
        apply(&self.kind(kind), documents, removed)
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, HashMap<EntityKind, Vec<Change>>> {
        self.inner.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a rebuild under way to end and keeps others out while the guard lives.
    pub async fn exclusive_rebuild(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.rebuilds.lock().await
    }

    /// Rebuilds the index of `kind` from `pages` (each a batch of documents, read until it yields
    /// `None`), beside the one serving, then swaps it in.
    pub fn rebuild(
        &self,
        kind: EntityKind,
        memory_bytes: usize,
        mut pages: impl FnMut() -> Result<Option<Vec<SearchDocument>>, SearchError>,
    ) -> Result<u64, SearchError> {
        let (schema, fields) = schema();
        let building_path = self
            .inner
            .dir
            .as_ref()
            .map(|d| d.join(format!("{}.building", kind.as_str())));
        let index = match &building_path {
            None => Index::create_in_ram(schema),
            Some(path) => {
                if path.exists() {
                    std::fs::remove_dir_all(path).map_err(folder_error(path))?;
                }
                std::fs::create_dir_all(path).map_err(folder_error(path))?;
                Index::create_in_dir(path, schema)?
            }
        };
        self.journal().insert(kind, Vec::new());
        let built = self.build_into(&index, &fields, memory_bytes, &mut pages);
        let count = match built {
            Ok(count) => count,
            Err(e) => {
                self.journal().remove(&kind);
                return Err(e);
            }
        };
        // Changes made meanwhile are replayed on the new index under the journal's lock, so none is
        // lost between the replay and the swap.
        let mut journal = self.journal();
        let changes = journal.remove(&kind).unwrap_or_default();
        let slot = &self.inner.kinds[&kind];
        match (&self.inner.dir, &building_path) {
            (Some(dir), Some(building)) => {
                let live = dir.join(kind.as_str());
                let retired = dir.join(format!("{}.retired", kind.as_str()));
                drop(index);
                // Swap under the write lock so no writer touches the old folder meanwhile.
                let mut guard = slot.write().unwrap_or_else(|e| e.into_inner());
                if retired.exists() {
                    std::fs::remove_dir_all(&retired).map_err(folder_error(&retired))?;
                }
                std::fs::rename(&live, &retired).map_err(folder_error(&live))?;
                std::fs::rename(building, &live).map_err(folder_error(building))?;
                let fresh = KindIndex::new(Index::open_in_dir(&live)?, fields)?;
                for (documents, removed) in &changes {
                    apply(&fresh, documents, removed)?;
                }
                *guard = Arc::new(fresh);
                drop(guard);
                let _ = std::fs::remove_dir_all(&retired);
            }
            _ => {
                let fresh = KindIndex::new(index, fields)?;
                for (documents, removed) in &changes {
                    apply(&fresh, documents, removed)?;
                }
                *slot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
            }
        }
        drop(journal);
        Ok(count)
    }

    /// Writes every page into `index`; returns the documents written.
    fn build_into(
        &self,
        index: &Index,
        fields: &Fields,
        memory_bytes: usize,
        pages: &mut impl FnMut() -> Result<Option<Vec<SearchDocument>>, SearchError>,
    ) -> Result<u64, SearchError> {
        let mut count = 0u64;
        let mut writer: IndexWriter<TantivyDocument> =
            index.writer_with_num_threads(1, memory_bytes.max(LIVE_WRITER_BYTES))?;
        while let Some(page) = pages()? {
            for document in &page {
                writer.add_document(to_tantivy(fields, document))?;
                count += 1;
            }
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        Ok(count)
    }

    /// The page of hits for `text` among entities of `kind` (see the module documentation for the
    /// ranking).
    pub fn search(
        &self,
        kind: EntityKind,
        text: &str,
        limit: usize,
        offset: usize,
    ) -> Result<SearchPage, SearchError> {
        let index = self.kind(kind);
        let fields = index.fields;
        let searcher = index.reader.searcher();
        let keys = fold::keys(text);
        let words = fold::words(text);
        let tiers = tier_queries(&fields, &keys, &words);
        let wanted = offset + limit;
        let mut seen = std::collections::HashSet::new();
        let mut ranked: Vec<(DocAddress, i32)> = Vec::new();
        for (query, score) in &tiers {
            if ranked.len() >= wanted {
                break;
            }
            let collector =
                TopDocs::with_limit(wanted).tweak_score(move |segment: &SegmentReader| {
                    let popularity = segment.fast_fields().u64("popularity").ok();
                    move |doc, relevance: Score| {
                        let popular = popularity.as_ref().and_then(|c| c.first(doc)).unwrap_or(0);
                        (popular as f32 + 1.0).ln() * 4.0 + relevance
                    }
                });
            for (_, address) in searcher.search(query.as_ref(), &collector)? {
                if ranked.len() >= wanted {
                    break;
                }
                if seen.insert(address) {
                    ranked.push((address, *score));
                }
            }
        }
        let any: Vec<(Occur, Box<dyn Query>)> = tiers
            .into_iter()
            .map(|(query, _)| (Occur::Should, query))
            .collect();
        let total = if any.is_empty() {
            0
        } else {
            searcher.search(&BooleanQuery::new(any), &Count)?
        };
        let mut results = Vec::new();
        for (address, score) in ranked.into_iter().skip(offset) {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text_of = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str().map(str::to_owned))
            };
            let Some(id) = text_of(fields.mbid).and_then(|m| Mbid::parse(&m).ok()) else {
                continue;
            };
            results.push(SearchHit {
                id,
                entity_type: kind,
                name: text_of(fields.name).unwrap_or_default(),
                score,
                disambiguation: text_of(fields.disambiguation).filter(|d| !d.is_empty()),
            });
        }
        Ok(SearchPage {
            results,
            total: i64::try_from(total).unwrap_or(i64::MAX),
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
        })
    }
}

/// The tiers' queries with their scores, best first; tiers with nothing to ask are left out.
fn tier_queries(fields: &Fields, keys: &[String], words: &[String]) -> Vec<(Box<dyn Query>, i32)> {
    let term = |field, text: &str| Term::from_field_text(field, text);
    let mut tiers: Vec<(Box<dyn Query>, i32)> = Vec::new();
    if !keys.is_empty() {
        let exact: Vec<(Occur, Box<dyn Query>)> = keys
            .iter()
            .map(|k| {
                (
                    Occur::Should,
                    Box::new(TermQuery::new(
                        term(fields.keys, k),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>,
                )
            })
            .collect();
        tiers.push((Box::new(BooleanQuery::new(exact)), 100));
    }
    if words.is_empty() {
        return tiers;
    }
    let all: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .map(|w| {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    term(fields.words, w),
                    IndexRecordOption::WithFreqs,
                )) as Box<dyn Query>,
            )
        })
        .collect();
    tiers.push((Box::new(BooleanQuery::new(all)), 90));
    let last = words.len() - 1;
    let loose: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let letters = w.chars().count();
            let mut options: Vec<(Occur, Box<dyn Query>)> = vec![(
                Occur::Should,
                Box::new(TermQuery::new(
                    term(fields.words, w),
                    IndexRecordOption::WithFreqs,
                )),
            )];
            let distance = match letters {
                0..=4 => 0,
                5..=8 => 1,
                _ => 2,
            };
            if distance > 0 {
                options.push((
                    Occur::Should,
                    Box::new(FuzzyTermQuery::new(term(fields.words, w), distance, true)),
                ));
            }
            if i == last && letters >= 2 {
                options.push((
                    Occur::Should,
                    Box::new(FuzzyTermQuery::new_prefix(term(fields.words, w), 0, true)),
                ));
            }
            (
                Occur::Must,
                Box::new(BooleanQuery::new(options)) as Box<dyn Query>,
            )
        })
        .collect();
    tiers.push((Box::new(BooleanQuery::new(loose)), 60));
    tiers
}

/// Replaces `documents` and removes `removed` in one index; visible when this returns.
fn apply(
    index: &KindIndex,
    documents: &[SearchDocument],
    removed: &[Mbid],
) -> Result<(), SearchError> {
    let mut writer = index.writer.lock().unwrap_or_else(|e| e.into_inner());
    for mbid in removed.iter().chain(documents.iter().map(|d| &d.mbid)) {
        writer.delete_term(Term::from_field_text(index.fields.mbid, &mbid.to_string()));
    }
    for document in documents {
        writer.add_document(to_tantivy(&index.fields, document))?;
    }
    writer.commit()?;
    drop(writer);
    index.reader.reload()?;
    Ok(())
}

fn to_tantivy(fields: &Fields, document: &SearchDocument) -> TantivyDocument {
    let mut words = fold::words(&document.name);
    let mut keys = fold::keys(&document.name);
    for other in &document.other_names {
        for word in fold::words(other) {
            if !words.contains(&word) {
                words.push(word);
            }
        }
        for key in fold::keys(other) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.mbid, document.mbid.to_string());
    doc.add_text(fields.name, &document.name);
    doc.add_text(
        fields.disambiguation,
        document.disambiguation.as_deref().unwrap_or_default(),
    );
    doc.add_text(fields.words, words.join(" "));
    doc.add_text(fields.keys, keys.join(" "));
    doc.add_u64(fields.popularity, document.popularity);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(n: u128, name: &str, others: &[&str], popularity: u64) -> SearchDocument {
        SearchDocument {
            kind: EntityKind::Artist,
            mbid: Mbid::from(uuid::Uuid::from_u128(n)),
            name: name.to_owned(),
            disambiguation: None,
            other_names: others.iter().map(|s| (*s).to_owned()).collect(),
            popularity,
        }
    }

    fn top(index: &SearchIndex, query: &str) -> Option<String> {
        index
            .search(EntityKind::Artist, query, 5, 0)
            .unwrap()
            .results
            .first()
            .map(|h| h.name.clone())
    }

    #[test]
    fn exact_names_rank_first_then_popularity_decides() {
        let index = SearchIndex::open(None).unwrap();
        index
            .upsert(
                EntityKind::Artist,
                &[
                    document(1, "Prince", &[], 900),
                    document(2, "Prince", &[], 3),
                    document(3, "Prince Buster", &[], 5000),
                    document(4, "The The", &["Matt Johnson"], 10),
                    document(5, "Theatre of Tragedy", &[], 400),
                ],
                &[],
            )
            .unwrap();
        let hits = index.search(EntityKind::Artist, "prince", 10, 0).unwrap();
        let order: Vec<String> = hits.results.iter().map(|h| h.id.to_string()).collect();
        assert_eq!(order[0], Mbid::from(uuid::Uuid::from_u128(1)).to_string());
        assert_eq!(order[2], Mbid::from(uuid::Uuid::from_u128(3)).to_string());
        assert_eq!(hits.total, 3);
        assert_eq!(top(&index, "the the").as_deref(), Some("The The"));
        assert_eq!(top(&index, "matt johnson").as_deref(), Some("The The"));
        assert_eq!(
            top(&index, "theatre of trag").as_deref(),
            Some("Theatre of Tragedy")
        );
        assert_eq!(
            top(&index, "theatre of tragdey").as_deref(),
            Some("Theatre of Tragedy")
        );
    }

    #[test]
    fn replacing_a_document_keeps_one_copy() {
        let index = SearchIndex::open(None).unwrap();
        index
            .upsert(EntityKind::Artist, &[document(1, "Old", &[], 1)], &[])
            .unwrap();
        index
            .upsert(EntityKind::Artist, &[document(1, "New", &[], 1)], &[])
            .unwrap();
        assert_eq!(index.documents(EntityKind::Artist), 1);
        assert_eq!(top(&index, "new").as_deref(), Some("New"));
        assert_eq!(top(&index, "old"), None);
    }
}
