#!/bin/bash
set -e
cd /srv/app
chown -R appsvc:appsvc /srv/app
chmod -R u-s,g-s,o-w /srv/app
chmod 0755 /srv/app
chmod 0700 config keys
find config keys -type f -exec chmod 0600 {} +
find keys -type f -name '*.pub' -exec chmod 0644 {} +
chmod 0755 bin bin/*.sh
find public -type d -exec chmod 0755 {} +
find public -type f -exec chmod 0644 {} +
chmod 0750 logs uploads
find logs -type f -exec chmod 0640 {} +
