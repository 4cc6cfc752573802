-- depends: 0004_fold_queue
-- Rejected and duplicate deliveries are appended (never a shared counter row updated on the
-- request path); the fold adds them to delivery_counts per hour and empties the log.

CREATE TABLE delivery_log (
    account TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX delivery_log_account ON delivery_log (account);
