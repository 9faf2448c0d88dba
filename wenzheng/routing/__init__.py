"""An agency's own routing rules: keywords, triage categories or regions that send a case to a department."""
