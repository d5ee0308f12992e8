#!/bin/bash
set -e
for u in alice:2001 bob:2002; do
  n=${u%%:*}; id=${u##*:}
  /usr/sbin/groupadd -g "$id" "$n"
  /usr/sbin/useradd -m -u "$id" -g "$id" -G devs -s /bin/bash "$n"
  chmod 0750 "/home/$n"
done
/usr/sbin/usermod -L carol
/usr/bin/gpasswd -d carol devs
chown -R root:devs /srv/project
find /srv/project -type d -exec chmod 2770 {} +
find /srv/project -type f -exec chmod 0660 {} +
