-- depends: 0007_dashboard
-- Release 0.3: the outbox holds a row per channel (email, or a Slack, Teams or webhook
-- channel named by kind and URL digest); a channel row's text_body is the JSON it POSTs.
-- Rows queued before this release are emails.

ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
