#!/bin/bash
set -e
cat > /etc/cron.d/app-jobs <<'CRON'
# app maintenance jobs
SHELL=/bin/bash
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

30 2 * * * backup /opt/app/bin/backup.sh
*/15 * * * * root /opt/app/bin/cleanup.sh
0 8 * * 1-5 app /opt/app/bin/report.sh
5 0 1 * * root /opt/app/bin/rotate.sh
CRON
rm -f /etc/cron.d/app.jobs
chown root:root /etc/cron.d/app-jobs
chmod 0644 /etc/cron.d/app-jobs
chmod 0755 /opt/app/bin/*.sh
