#!/bin/bash
set -e
cd /etc/systemd/system
cat > inventory.service <<'UNIT'
[Unit]
Description=Inventory API server
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=inventory
Group=inventory
WorkingDirectory=/opt/inventory
EnvironmentFile=/etc/inventory/env
ExecStart=/opt/inventory/bin/inventory-server --port 8080
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
cat > inventory-backup.timer <<'UNIT'
[Unit]
Description=Daily inventory backup

[Timer]
OnCalendar=*-*-* 03:15:00
Persistent=true
Unit=inventory-backup.service

[Install]
WantedBy=timers.target
UNIT
ln -sf /etc/systemd/system/inventory.service multi-user.target.wants/inventory.service
ln -sf /etc/systemd/system/inventory-backup.timer timers.target.wants/inventory-backup.timer
