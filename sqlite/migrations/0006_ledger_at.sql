-- Billing reads one month of the journal at a time: transactions by time.
CREATE INDEX ledger_transactions_at ON ledger_transactions (at);
