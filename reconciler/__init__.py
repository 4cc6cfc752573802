"""Billing cycles, usage, invoices, forecasts and reports over what the receiver stored."""
