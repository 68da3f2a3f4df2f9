DROP TABLE enrichment;
