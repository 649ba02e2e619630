"""The site and the generated docs: one page per board, the results page, model checks and the
reference tables generated from the registry."""
