DROP TABLE ws2_browse_page;
