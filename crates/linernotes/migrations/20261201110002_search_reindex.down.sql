DROP TABLE search_reindex_request;
