#!/bin/bash
set -e
W=/srv/webapp
# remove symlinks that resolve outside the tree first, so nothing below can follow them
find $W -type l | while IFS= read -r l; do
  t=$(readlink -m -- "$l")
  case "$t" in $W|$W/*) ;; *) rm -f -- "$l";; esac
done
chown -R -h root:webapp $W
find $W -type d -exec chmod 0750 {} +
find $W -type f -exec chmod 0640 {} +
find $W/bin -maxdepth 1 -type f -exec chmod 0750 {} +
chown -h webapp:webapp $W/config/secrets.env $W/config/tls.key
chmod 0400 $W/config/secrets.env $W/config/tls.key
chown -R -h webapp:webapp $W/uploads
find $W/uploads -type d -exec chmod 2770 {} +
find $W/uploads -type f -exec chmod 0660 {} +
