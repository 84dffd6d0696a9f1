"""QR labels: the scan URL of every stock item and site, label sheets as PDF, and the scan pages."""
