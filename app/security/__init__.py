"""Account security outside SQL: the log-reading lockout agent (DESIGN P5), TOTP helpers,
the first administrator and the demo accounts. The rules themselves live in the database
(db/sql/0007_account_policies.sql)."""
