DROP TABLE dump_import_file;
DROP TABLE dump_import;
