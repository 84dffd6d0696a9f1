"""Spreadsheets in and out: templates, imports checked whole and committed all or nothing."""
