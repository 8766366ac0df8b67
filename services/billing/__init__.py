"""Billing: payable items, orders, payments, invoices and refunds."""
