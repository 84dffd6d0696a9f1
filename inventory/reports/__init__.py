"""Reports and exports shared by the features: spreadsheets that are safe to open."""
