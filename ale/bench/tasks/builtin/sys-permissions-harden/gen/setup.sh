set -e
/usr/sbin/groupadd -g 3000 webapp
/usr/sbin/useradd -M -u 3000 -g 3000 -s /usr/sbin/nologin webapp
W=/srv/webapp
mkdir -p $W/app/lib $W/bin $W/config $W/uploads/2024 $W/static/css
echo 'print("app")' > $W/app/main.py
echo 'def helper(): pass' > $W/app/lib/util.py
printf '#!/bin/bash\necho start\n' > $W/bin/start.sh
printf '#!/bin/bash\necho migrate\n' > $W/bin/migrate.sh
echo 'DB_PASSWORD=hunter2' > $W/config/secrets.env
echo '-----BEGIN PRIVATE KEY-----' > $W/config/tls.key
echo 'port = 8080' > $W/config/app.ini
echo 'body{}' > $W/static/css/site.css
echo 'upload one' > $W/uploads/2024/a.png
echo 'upload two' > "$W/uploads/b c.txt"
ln -s /etc/shadow $W/uploads/evil
ln -s ../config/app.ini $W/static/app.ini
chown -R 1000:1000 $W 2>/dev/null || chown -R nobody:nogroup $W
chmod -R 0777 $W
chmod u+s $W/bin/migrate.sh
chmod 0666 $W/config/secrets.env
