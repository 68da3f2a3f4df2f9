DROP TABLE entity_link;
