#!/bin/bash
set -e
sqlite3 /app/shop.db <<'SQL'
UPDATE customers SET country = CASE upper(trim(country))
  WHEN 'USA' THEN 'US' WHEN 'UNITED STATES' THEN 'US'
  WHEN 'DEU' THEN 'DE' WHEN 'GERMANY' THEN 'DE'
  WHEN 'FRA' THEN 'FR' WHEN 'FRANCE' THEN 'FR'
  WHEN 'JPN' THEN 'JP' WHEN 'JAPAN' THEN 'JP'
  ELSE upper(trim(country)) END;
UPDATE orders SET created_at = substr(created_at, 7, 4) || '-' || substr(created_at, 4, 2) || '-' || substr(created_at, 1, 2)
  WHERE created_at LIKE '__/__/____';
UPDATE orders SET created_at = substr(created_at, 1, 10) WHERE length(created_at) > 10;
DELETE FROM orders WHERE customer_id NOT IN (SELECT id FROM customers);
DELETE FROM orders WHERE id NOT IN (SELECT min(id) FROM orders GROUP BY customer_id, amount_cents, created_at);
CREATE VIEW customer_totals AS SELECT customer_id, count(*) AS n_orders, sum(amount_cents) AS total_cents FROM orders GROUP BY customer_id;
SQL
