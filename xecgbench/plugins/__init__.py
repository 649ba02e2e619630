"""The plugin contract: hook specifications, the typed registry, the plugin manager and the
component protocols every dataset, model, strategy, schedule, method and metric implements."""
